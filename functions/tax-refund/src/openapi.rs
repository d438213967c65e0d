//! The tax-refund routes as the API description lists them
//! (`docs/openapi.json`; the router is `routes.rs`).

use schemars::{Schema, SchemaGenerator, json_schema};
use shared::openapi::{Access, Header, Operation, page, problem, schema};

use crate::request::{ClaimBody, DecisionBody, PaymentBody};
use crate::routes::SCOPE_REVIEW;
use crate::status::Status;
use crate::views::{BillView, OverpaymentView, RefundView};

/// Tag and description of this function's routes.
pub const TAG: (&str, &str) = (
    "tax-refund",
    "Local-tax refunds: a citizen claims an overpayment into their own account, unpaid overdue bills are offset first, an official reviews and pays, and money moves exactly once.",
);

/// The `?year=` of the bills: what the route accepts.
fn tax_year(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "integer", "minimum": 1990, "maximum": 2100 })
}

/// The routes of `tax-refund`.
pub fn operations() -> Vec<Operation> {
    let refund_id = ("refundId", "The refund's id (UUID).");
    let transition = problem(409, "refund.invalid_transition");
    // Too many concurrent changes of the same refund or ledger; Retry-After 1.
    let busy = problem(503, "refund.busy");
    vec![
        Operation::new("GET", "/v1/tax/bills", "listTaxBills", Access::Citizen)
            .doc(
                "The citizen's local-tax bills",
                "All years unless year is given. Status paid, unpaid (not yet due), overdue (unpaid after its due date) or overpaid.",
            )
            .query("year", false, "Only bills of this tax year.", tax_year)
            .paged()
            .reply(200, "A page of bills", page::<BillView>),
        Operation::new(
            "GET",
            "/v1/tax/refunds/eligible",
            "listRefundableOverpayments",
            Access::Citizen,
        )
        .doc(
            "The citizen's open overpayments",
            "Claimable for 5 years from the payment that overpaid; a claimed one is not open until its claim is rejected. Oldest payment first.",
        )
        .paged()
        .reply(200, "A page of overpayments", page::<OverpaymentView>),
        Operation::new("POST", "/v1/tax/refunds", "claimRefund", Access::Citizen)
            .doc(
                "Claim the refund of an overpayment",
                "Into an account in the citizen's own name at a known bank. Unpaid overdue bills are offset first (offsetKrw; payableKrw = amountKrw - offsetKrw). An overpayment is refunded at most once, whatever the keys.",
            )
            .strong()
            .idempotency(Header::Required)
            .json_body(schema::<ClaimBody>)
            .reply(201, "The refund, requested", schema::<RefundView>)
            .with_header("ETag")
            .with_header("Location")
            .problems(&[
                problem(404, "refund.not_refundable"),
                problem(409, "refund.already_claimed"),
                problem(422, "refund.account_holder_mismatch"),
                busy,
            ]),
        Operation::new("GET", "/v1/tax/refunds", "listRefunds", Access::Citizen)
            .doc("The citizen's refunds", "Newest first.")
            .paged()
            .reply(200, "A page of refunds", page::<RefundView>),
        Operation::new("GET", "/v1/tax/refunds/{refundId}", "getRefund", Access::Anyone)
            .doc(
                "One refund (its citizen, or an official with scope tax:review; 404 to other citizens)",
                "Reviewers also see userId and citizenName.",
            )
            .path_param(refund_id.0, refund_id.1)
            .reply(200, "The refund", schema::<RefundView>)
            .with_header("ETag")
            .problems(&[problem(403, "auth.insufficient_scope")]),
        Operation::new(
            "POST",
            "/v1/tax/refunds/{refundId}/decision",
            "decideRefund",
            Access::Scope(SCOPE_REVIEW),
        )
        .doc(
            "Approve or reject a requested refund",
            "A rejection needs a reason (the citizen is told) and opens the overpayment again.",
        )
        .path_param(refund_id.0, refund_id.1)
        .if_match(Header::Required)
        .json_body(schema::<DecisionBody>)
        .reply(200, "The refund, approved or rejected", schema::<RefundView>)
        .with_header("ETag")
        .problems(&[transition, busy]),
        Operation::new(
            "POST",
            "/v1/tax/refunds/{refundId}/payment",
            "payRefund",
            Access::Scope(SCOPE_REVIEW),
        )
        .doc(
            "Pay an approved refund",
            "Settles the offset arrears in the tax ledger and closes the overpayment, in one transaction. The body may be left out.",
        )
        .path_param(refund_id.0, refund_id.1)
        .if_match(Header::Required)
        .json_body(schema::<PaymentBody>)
        .body_optional()
        .reply(200, "The refund, paid", schema::<RefundView>)
        .with_header("ETag")
        .problems(&[transition, busy]),
        Operation::new(
            "GET",
            "/v1/tax/review",
            "listRefundsForReview",
            Access::Scope(SCOPE_REVIEW),
        )
        .doc(
            "Refunds of every citizen in one status, for review",
            "Oldest first, with the citizen's name.",
        )
        .query(
            "status",
            false,
            "Only refunds in this status (default requested).",
            schema::<Status>,
        )
        .paged()
        .reply(200, "A page of refunds", page::<RefundView>),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_makes_a_document() {
        let doc = shared::openapi::document("0", &vec![(TAG.0, TAG.1, operations())]);
        assert_eq!(operations().len(), 8);
        let schemas = &doc["components"]["schemas"];
        for name in [
            "Refund",
            "RefundStatus",
            "RefundClaim",
            "TaxBill",
            "RefundOffset",
        ] {
            assert!(schemas[name].is_object(), "{name}");
        }
        if std::env::var_os("PRINT_OPENAPI").is_some() {
            println!("{}", serde_json::to_string_pretty(&doc).unwrap());
        }
    }
}
