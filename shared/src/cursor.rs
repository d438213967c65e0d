//! List paging as api.md specifies: `?limit=` (1-100, default 20) and an opaque,
//! tamper-evident `?cursor=`.
//!
//! A cursor is the position to resume from (a sort key, say) with an
//! HMAC-SHA256 tag over it and over the list it belongs to, so a client can
//! neither forge a position nor replay one list's cursor on another list (or on
//! another user's list): such a cursor gives 400 naming the field `cursor`.

use data_encoding::BASE64URL_NOPAD;
use hmac::{Hmac, Mac};
use lambda_http::Request;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::http::{ApiError, Fields, Invalid};

/// The default page size.
pub const DEFAULT_LIMIT: i32 = 20;
/// The largest page size.
pub const MAX_LIMIT: i32 = 100;
/// Bytes of the tag kept in the cursor (128 bits).
const TAG_BYTES: usize = 16;
/// The longest cursor accepted.
const MAX_CURSOR_CHARS: usize = 2048;

/// A page request: how many items, and where to resume.
#[derive(Debug, Clone, PartialEq)]
pub struct PageRequest {
    /// 1 to [`MAX_LIMIT`].
    pub limit: i32,
    /// The position after which to continue, as it was encoded.
    pub after: Option<String>,
}

/// A page of a list as api.md shapes it (what [`Cursors::page_body`] writes;
/// `shared::openapi::page` describes it).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    /// This page's items.
    pub items: T,
    /// Where the next page starts; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Signs and checks cursors with one key.
#[derive(Clone)]
pub struct Cursors {
    key: [u8; 32],
}

impl std::fmt::Debug for Cursors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cursors { .. }")
    }
}

impl Cursors {
    /// Cursors signed with `key` (keep it secret and stable across instances:
    /// a cursor made by one instance must be accepted by the next).
    pub fn new(key: [u8; 32]) -> Self {
        Self { key }
    }

    /// Cursors keyed by the value of the Secrets Manager secret `secret_id`
    /// (a secret the template generates), derived for `purpose` (one key per
    /// function: a cursor of one function never passes another's check).
    pub async fn from_secret(
        sdk: &crate::aws::SdkConfig,
        secret_id: &str,
        purpose: &str,
    ) -> Result<Self, ApiError> {
        use sha2::Digest;
        let secret = crate::aws::secret_string(sdk, secret_id)
            .await
            .map_err(ApiError::internal)?;
        let key: [u8; 32] = Sha256::new()
            .chain_update(purpose.as_bytes())
            .chain_update([0])
            .chain_update(secret.as_bytes())
            .finalize()
            .into();
        Ok(Self::new(key))
    }

    fn tag(&self, list: &str, payload: &str) -> Vec<u8> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .expect("HMAC takes keys of any length");
        mac.update(list.as_bytes());
        mac.update(&[0]);
        mac.update(payload.as_bytes());
        mac.finalize().into_bytes()[..TAG_BYTES].to_vec()
    }

    /// The cursor for position `after` in the list named `list` (for example
    /// `certificates:<userId>`).
    pub fn encode(&self, list: &str, after: &str) -> String {
        let payload = BASE64URL_NOPAD.encode(after.as_bytes());
        let tag = BASE64URL_NOPAD.encode(&self.tag(list, &payload));
        format!("{payload}.{tag}")
    }

    /// The position in `cursor`, if this key made it for `list`.
    pub fn decode(&self, list: &str, cursor: &str) -> Result<String, Invalid> {
        let bad = || Invalid::new("is not a valid cursor", "올바른 커서가 아닙니다");
        if cursor.len() > MAX_CURSOR_CHARS {
            return Err(bad());
        }
        let (payload, tag) = cursor.split_once('.').ok_or_else(bad)?;
        let tag = BASE64URL_NOPAD.decode(tag.as_bytes()).map_err(|_| bad())?;
        let expected = self.tag(list, payload);
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            tag.as_slice(),
            expected.as_slice(),
        )) {
            return Err(bad());
        }
        let position = BASE64URL_NOPAD
            .decode(payload.as_bytes())
            .map_err(|_| bad())?;
        String::from_utf8(position).map_err(|_| bad())
    }

    /// A list response as api.md shapes it: `{"items":[...]}` plus
    /// `"nextCursor"` when the page was not the last (`next` is where to resume).
    pub fn page_body(&self, list: &str, items: impl Serialize, next: Option<&str>) -> Value {
        let page = Page {
            items,
            next_cursor: next.map(|next| self.encode(list, next)),
        };
        serde_json::to_value(page).unwrap_or_else(|_| json!({ "items": [] }))
    }

    /// Reads `?limit=` and `?cursor=` of `req` for the list `list`; 400 naming
    /// each bad parameter.
    pub fn page(&self, req: &Request, list: &str) -> Result<PageRequest, ApiError> {
        let query = crate::http::query(req);
        let mut fields = Fields::new();
        let limit = fields.check(
            "limit",
            match query.first("limit") {
                None => Ok(DEFAULT_LIMIT),
                Some(text) => text
                    .parse::<i32>()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| {
                        Invalid::new(
                            "must be a whole number from 1 to 100",
                            "1부터 100까지의 정수여야 합니다",
                        )
                    }),
            },
        );
        let after = fields.check(
            "cursor",
            query
                .first("cursor")
                .map(|c| self.decode(list, c))
                .transpose(),
        );
        match (limit, after) {
            (Some(limit), Some(after)) => Ok(PageRequest { limit, after }),
            _ => Err(fields.into_error()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_for_its_own_list_only() {
        let cursors = Cursors::new([7; 32]);
        let position = "CERT#2026-11-29T10:00:00+09:00#1234";
        let cursor = cursors.encode("certificates:1", position);
        assert_eq!(cursors.decode("certificates:1", &cursor).unwrap(), position);
        assert!(cursors.decode("certificates:2", &cursor).is_err());
        assert!(
            Cursors::new([8; 32])
                .decode("certificates:1", &cursor)
                .is_err()
        );
    }

    #[test]
    fn a_page_body_has_a_cursor_only_when_more_follow() {
        let cursors = Cursors::new([7; 32]);
        let last = cursors.page_body("l", [1, 2], None);
        assert_eq!(last, json!({"items": [1, 2]}));
        let more = cursors.page_body("l", [1, 2], Some("k2"));
        let next = more["nextCursor"].as_str().unwrap();
        assert_eq!(cursors.decode("l", next).unwrap(), "k2");
    }

    #[test]
    fn an_altered_cursor_is_refused() {
        let cursors = Cursors::new([7; 32]);
        let cursor = cursors.encode("l", "a");
        let forged = format!(
            "{}.{}",
            BASE64URL_NOPAD.encode(b"b"),
            cursor.split_once('.').unwrap().1
        );
        assert!(cursors.decode("l", &forged).is_err());
        for junk in ["", ".", "abc", "a.b.c", &"x".repeat(5000)] {
            assert!(cursors.decode("l", junk).is_err(), "{junk:?}");
        }
    }
}
