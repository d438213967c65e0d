//! Where a refund stands (api.md): `requested` -> `approved` -> `paid`, or
//! `requested` -> `rejected` (the overpayment opens again). Any other change is
//! 409 `refund.invalid_transition`. The store writes each transition with a
//! condition on the status read (and the version of `If-Match`), so this table
//! is also what the conditions say.

use serde::{Deserialize, Serialize};

/// A refund's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Claimed by the citizen; arrears reserved; waiting for review.
    Requested,
    /// Approved by an official; waiting for payment.
    Approved,
    /// Rejected; the reservation is released, the overpayment open again.
    Rejected,
    /// Paid; the reserved arrears settled in the ledger, the overpayment closed.
    Paid,
}

/// What an official does to a refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Decision `approve`.
    Approve,
    /// Decision `reject`.
    Reject,
    /// Payment.
    Pay,
}

impl Status {
    /// The api.md value.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Requested => "requested",
            Status::Approved => "approved",
            Status::Rejected => "rejected",
            Status::Paid => "paid",
        }
    }

    /// The status `action` leads to from this one, or `None` when it is not
    /// allowed (409 `refund.invalid_transition`).
    pub fn after(self, action: Action) -> Option<Status> {
        match (self, action) {
            (Status::Requested, Action::Approve) => Some(Status::Approved),
            (Status::Requested, Action::Reject) => Some(Status::Rejected),
            (Status::Approved, Action::Pay) => Some(Status::Paid),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_documented_transitions_are_allowed() {
        let all = [
            Status::Requested,
            Status::Approved,
            Status::Rejected,
            Status::Paid,
        ];
        let actions = [Action::Approve, Action::Reject, Action::Pay];
        let mut allowed = Vec::new();
        for status in all {
            for action in actions {
                if let Some(next) = status.after(action) {
                    allowed.push((status.as_str(), next.as_str()));
                }
            }
        }
        assert_eq!(
            allowed,
            [
                ("requested", "approved"),
                ("requested", "rejected"),
                ("approved", "paid")
            ]
        );
    }
}
