//! The `tax-refund` function (api.md, "Local-tax refunds"): a citizen claims a
//! local-tax overpayment on the phone, unpaid overdue bills are offset first,
//! an official reviews and pays, and money moves exactly once.
//!
//! Work in progress (issue 9): the domain rules, pure and tested, come first —
//! the bank account as typed values ([`account`]) and the ledger arithmetic
//! ([`ledger`]: bill statuses, the 5-year claim limit, offsets of the oldest
//! arrears first within what other claims have reserved), and the refund's
//! transitions ([`status`]). The store (every
//! money rule as DynamoDB conditions in one transaction), the routes, the KMS
//! encryption of account numbers and the template follow.

pub mod account;
pub mod ledger;
pub mod status;
