//! The alert routes as the API description lists them (`docs/openapi.json`;
//! the router is `routes.rs`). The texts have no route: they come from the
//! `events` topic through SQS.

use shared::openapi::{Access, Header, Operation, page, problem, schema};

use crate::alerts::{AlertBody, Region};
use crate::cap::CONTENT_TYPE as CAP;
use crate::routes::{SCOPE_APPROVE, SCOPE_ISSUE};
use crate::subscriptions::{Subscription, SubscriptionBody};
use crate::views::AlertView;

/// Tag and description of this function's routes.
pub const TAG: (&str, &str) = (
    "alert-sms",
    "Emergency alerts: an official writes, a second official approves, the alert is published as CAP 1.2 and texted to the citizens subscribed to its regions.",
);

/// The routes of `alert-sms`.
pub fn operations() -> Vec<Operation> {
    let alert_id = ("alertId", "The alert's id (UUID).");
    let transition = problem(409, "alert.invalid_transition");
    vec![
        Operation::new("POST", "/v1/alerts", "createAlert", Access::Scope(SCOPE_ISSUE))
            .doc(
                "Write an alert; it waits for a second official's approval",
                "message: at most 90 characters for emergency (older phones receive no more), 157 otherwise. An alert of the same category for an overlapping region in the last 24 h needs confirmDuplicate: true.",
            )
            .idempotency(Header::Required)
            .json_body(schema::<AlertBody>)
            .reply(201, "The alert, pending approval", schema::<AlertView>)
            .with_header("ETag")
            .with_header("Location")
            .problems(&[problem(409, "alert.possible_duplicate")]),
        Operation::new(
            "POST",
            "/v1/alerts/{alertId}/approval",
            "approveAlert",
            Access::Scope(SCOPE_APPROVE),
        )
        .doc(
            "Approve and issue an alert (not by its writer)",
            "Two-person rule: the writer approving their own alert gets 403 alert.same_official. The alert is published once to the SNS topic alerts and texted to the subscribers.",
        )
        .path_param(alert_id.0, alert_id.1)
        .if_match(Header::Required)
        .reply(200, "The alert, issued", schema::<AlertView>)
        .with_header("ETag")
        .problems(&[problem(403, "alert.same_official"), transition]),
        Operation::new(
            "POST",
            "/v1/alerts/{alertId}/cancellation",
            "cancelAlert",
            Access::Scope(SCOPE_ISSUE),
        )
        .doc(
            "Cancel an alert",
            "If it was issued, a CAP Cancel message is published and the texts not yet sent are stopped.",
        )
        .path_param(alert_id.0, alert_id.1)
        .if_match(Header::Optional)
        .reply(200, "The alert, cancelled", schema::<AlertView>)
        .with_header("ETag")
        .problems(&[transition]),
        Operation::new("GET", "/v1/alerts", "listAlerts", Access::Public)
            .doc(
                "Alerts issued for a region in the last 24 h",
                "Not cancelled; newest first.",
            )
            .paged()
            .query("region", true, "The province code.", schema::<Region>)
            .reply(200, "A page of alerts", page::<AlertView>)
            .with_header("Cache-Control"),
        Operation::new("GET", "/v1/alerts/{alertId}", "getAlert", Access::Public)
            .doc(
                "One alert, as JSON or as an OASIS CAP 1.2 document",
                "Accept: application/cap+xml gives the CAP document. An alert not yet issued is shown only to officials with scope alerts:issue or alerts:approve (their token sent); it is 404 to anyone else.",
            )
            .path_param(alert_id.0, alert_id.1)
            .reply(200, "The alert", schema::<AlertView>)
            .or_media(CAP)
            .with_header("ETag"),
        Operation::new(
            "GET",
            "/v1/alerts/pending",
            "listPendingAlerts",
            Access::Scope(SCOPE_APPROVE),
        )
        .doc("Alerts waiting for approval", "Oldest first.")
        .paged()
        .reply(200, "A page of alerts", page::<AlertView>),
        Operation::new(
            "PUT",
            "/v1/alerts/subscription",
            "subscribeToAlerts",
            Access::Citizen,
        )
        .doc(
            "Choose the regions and categories whose alerts the citizen's phone receives",
            "All three categories when categories is left out; emergency is always included and cannot be opted out of. Replaces the citizen's subscription.",
        )
        .json_body(schema::<SubscriptionBody>)
        .reply(200, "The subscription", schema::<Subscription>),
        Operation::new(
            "GET",
            "/v1/alerts/subscription",
            "getAlertSubscription",
            Access::Citizen,
        )
        .doc("The citizen's subscription", "")
        .reply(200, "The subscription", schema::<Subscription>)
        .problems(&[problem(404, "not_found")]),
        Operation::new(
            "DELETE",
            "/v1/alerts/subscription",
            "unsubscribeFromAlerts",
            Access::Citizen,
        )
        .doc("Stop receiving alerts", "Also when the citizen had no subscription.")
        .no_content("Unsubscribed"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_routes_make_a_document() {
        let doc = shared::openapi::document("test", &vec![(TAG.0, TAG.1, operations())]);
        let paths = doc["paths"].as_object().unwrap();
        let count: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
        assert_eq!(count, 9);
        let get = &doc["paths"]["/v1/alerts/{alertId}"]["get"]["responses"]["200"]["content"];
        assert!(get["application/cap+xml"].is_object());
        let region = &doc["components"]["schemas"]["AlertRegion"]["enum"];
        assert_eq!(
            region.as_array().unwrap().len(),
            shared::codes::PROVINCES.len()
        );
    }
}
