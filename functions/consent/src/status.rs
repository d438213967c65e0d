//! A consent's life: `pending` -> `granted` | `refused` | `expired`;
//! `granted` -> `revoked` | `expired`. Expiry is not stored: it is computed
//! from `expiresAt` whenever a consent is read, so no sweeper is needed for a
//! consent to stop working on time, and every write is conditioned on the
//! consent not having expired yet.

use serde::{Deserialize, Serialize};
use shared::http::Invalid;

/// What a consent is, as stored (never `expired`) or as seen at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Asked, not yet answered.
    Pending,
    /// Signed by the citizen.
    Granted,
    /// Refused by the citizen.
    Refused,
    /// Withdrawn by the citizen after granting.
    Revoked,
    /// Past `expiresAt` while pending or granted.
    Expired,
}

impl Status {
    /// Every status, in api.md's order.
    pub const ALL: [Status; 5] = [
        Status::Pending,
        Status::Granted,
        Status::Refused,
        Status::Revoked,
        Status::Expired,
    ];

    /// The api.md value.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Granted => "granted",
            Status::Refused => "refused",
            Status::Revoked => "revoked",
            Status::Expired => "expired",
        }
    }

    /// Parses a `?status=` value.
    pub fn parse(value: &str) -> Result<Status, Invalid> {
        Status::ALL
            .into_iter()
            .find(|s| s.as_str() == value)
            .ok_or_else(|| {
                Invalid::new(
                    "must be one of pending, granted, refused, revoked, expired",
                    "pending, granted, refused, revoked, expired 중 하나여야 합니다",
                )
            })
    }

    /// What a consent stored as `self` is at `now_ms` given its expiry.
    pub fn at(self, expires_ms: i64, now_ms: i64) -> Status {
        match self {
            Status::Pending | Status::Granted if now_ms >= expires_ms => Status::Expired,
            other => other,
        }
    }

    /// Whether a consent that is `self` (as seen now) may become `to`.
    pub fn may_become(self, to: Status) -> bool {
        matches!(
            (self, to),
            (Status::Pending, Status::Granted | Status::Refused)
                | (Status::Granted, Status::Revoked)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_read_from_the_clock_for_live_consents_only() {
        assert_eq!(Status::Pending.at(100, 99), Status::Pending);
        assert_eq!(Status::Pending.at(100, 100), Status::Expired);
        assert_eq!(Status::Granted.at(100, 101), Status::Expired);
        assert_eq!(Status::Refused.at(100, 101), Status::Refused);
        assert_eq!(Status::Revoked.at(100, 101), Status::Revoked);
    }

    #[test]
    fn only_the_transitions_of_api_md_are_allowed() {
        let allowed: Vec<(Status, Status)> = Status::ALL
            .into_iter()
            .flat_map(|a| Status::ALL.into_iter().map(move |b| (a, b)))
            .filter(|(a, b)| a.may_become(*b))
            .collect();
        assert_eq!(
            allowed,
            [
                (Status::Pending, Status::Granted),
                (Status::Pending, Status::Refused),
                (Status::Granted, Status::Revoked)
            ]
        );
    }

    #[test]
    fn statuses_parse_and_serialise_as_api_md_writes_them() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()).unwrap(), s);
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert!(Status::parse("GRANTED").is_err());
    }
}
