//! Where a report stands (api.md): `draft` -> `submitted` (by the reporter) ->
//! `accepted` | `rejected`; `accepted` -> `in-progress` | `resolved` |
//! `rejected`; `in-progress` -> `resolved`. Anything else is 409
//! `report.invalid_transition`. The store writes each change with a condition
//! on the status read and the version of `If-Match`.

use serde::{Deserialize, Serialize};
use shared::http::Invalid;

/// A report's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(rename = "ReportStatus")]
pub enum Status {
    /// Created; photos being uploaded.
    Draft,
    /// Submitted by the reporter; waiting for an official.
    Submitted,
    /// Taken on by an official.
    Accepted,
    /// Being fixed.
    InProgress,
    /// Fixed.
    Resolved,
    /// Not taken on (duplicate, not a public matter, ...).
    Rejected,
}

impl Status {
    /// Every status, in order.
    pub const ALL: [Status; 6] = [
        Status::Draft,
        Status::Submitted,
        Status::Accepted,
        Status::InProgress,
        Status::Resolved,
        Status::Rejected,
    ];

    /// The api.md value.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Submitted => "submitted",
            Status::Accepted => "accepted",
            Status::InProgress => "in-progress",
            Status::Resolved => "resolved",
            Status::Rejected => "rejected",
        }
    }

    /// Parses the api.md value.
    pub fn parse(value: &str) -> Result<Status, Invalid> {
        Status::ALL
            .into_iter()
            .find(|s| s.as_str() == value)
            .ok_or_else(|| {
                Invalid::new(
                    "must be draft, submitted, accepted, in-progress, resolved or rejected",
                    "draft, submitted, accepted, in-progress, resolved, rejected 중 하나여야 합니다",
                )
            })
    }

    /// The statuses an official may set (`POST …/status`).
    pub fn parse_official(value: &str) -> Result<Status, Invalid> {
        match Status::parse(value) {
            Ok(
                s @ (Status::Accepted | Status::InProgress | Status::Resolved | Status::Rejected),
            ) => Ok(s),
            _ => Err(Invalid::new(
                "must be accepted, in-progress, resolved or rejected",
                "accepted, in-progress, resolved, rejected 중 하나여야 합니다",
            )),
        }
    }

    /// Whether a report may go from this status to `next`.
    pub fn may_become(self, next: Status) -> bool {
        matches!(
            (self, next),
            (Status::Draft, Status::Submitted)
                | (Status::Submitted, Status::Accepted | Status::Rejected)
                | (
                    Status::Accepted,
                    Status::InProgress | Status::Resolved | Status::Rejected
                )
                | (Status::InProgress, Status::Resolved)
        )
    }
}

/// The body of `POST /v1/reports/{reportId}/status`. The status is read as a
/// string and checked by `Status::parse_official`, so that a bad one is named
/// in the 400 together with a bad note.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "ReportStatusChange")]
pub struct StatusBody {
    /// The status an official sets.
    #[schemars(
        with = "String",
        extend("enum" = ["accepted", "in-progress", "resolved", "rejected"])
    )]
    pub status: String,
    /// Why, for the reporter and the history (trimmed; empty is none).
    #[schemars(length(max = MAX_NOTE_CHARS))]
    pub note: Option<String>,
}

/// The longest note of a change, in characters.
pub const MAX_NOTE_CHARS: usize = 500;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_documented_transitions_are_allowed() {
        use Status::*;
        let allowed = [
            (Draft, Submitted),
            (Submitted, Accepted),
            (Submitted, Rejected),
            (Accepted, InProgress),
            (Accepted, Resolved),
            (Accepted, Rejected),
            (InProgress, Resolved),
        ];
        for from in Status::ALL {
            for to in Status::ALL {
                assert_eq!(
                    from.may_become(to),
                    allowed.contains(&(from, to)),
                    "{from:?} -> {to:?}"
                );
            }
        }
    }

    #[test]
    fn the_body_schema_lists_exactly_the_statuses_officials_set() {
        let schema = schemars::schema_for!(StatusBody);
        let listed = schema.as_value()["properties"]["status"]["enum"].clone();
        let settable: Vec<&str> = Status::ALL
            .into_iter()
            .filter(|s| Status::parse_official(s.as_str()).is_ok())
            .map(Status::as_str)
            .collect();
        assert_eq!(listed, serde_json::json!(settable));
    }

    #[test]
    fn officials_set_only_the_review_statuses() {
        assert_eq!(
            Status::parse_official("in-progress"),
            Ok(Status::InProgress)
        );
        assert!(Status::parse_official("submitted").is_err());
        assert!(Status::parse_official("draft").is_err());
        assert!(Status::parse("lost").is_err());
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Ok(s));
            assert_eq!(
                serde_json::to_value(s).unwrap(),
                serde_json::json!(s.as_str())
            );
        }
    }
}
