//! Where a refund stands (api.md): `requested` -> `approved` -> `paid`, or
//! `requested` -> `rejected` (the overpayment opens again). Any other change is
//! 409 `refund.invalid_transition`. The store writes each transition with a
//! condition on the status read (and the version of `If-Match`), so this table
//! is also what the conditions say.

use serde::{Deserialize, Serialize};

/// A refund's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(rename = "RefundStatus")]
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

impl Action {
    /// The action in a sentence: "cannot be approved".
    pub fn done(self) -> &'static str {
        match self {
            Action::Approve => "approved",
            Action::Reject => "rejected",
            Action::Pay => "paid",
        }
    }

    /// The action in Korean: "승인할 수 없습니다".
    pub fn korean(self) -> &'static str {
        match self {
            Action::Approve => "승인할",
            Action::Reject => "반려할",
            Action::Pay => "지급할",
        }
    }
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

    /// Parses the api.md value (the review queue's `?status=`).
    pub fn parse(value: &str) -> Result<Self, shared::http::Invalid> {
        [
            Status::Requested,
            Status::Approved,
            Status::Rejected,
            Status::Paid,
        ]
        .into_iter()
        .find(|s| s.as_str() == value)
        .ok_or_else(|| {
            shared::http::Invalid::new(
                "must be requested, approved, rejected or paid",
                "requested, approved, rejected, paid 중 하나여야 합니다",
            )
        })
    }

    /// The Korean name (신청, 승인, 반려, 지급).
    pub fn korean(self) -> &'static str {
        match self {
            Status::Requested => "신청",
            Status::Approved => "승인",
            Status::Rejected => "반려",
            Status::Paid => "지급",
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
