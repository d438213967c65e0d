//! Emergency alerts as api.md defines them: the three Korean public alert
//! levels, province regions, the limits that keep a message readable on every
//! phone (90 characters for `emergency`, which older phones cut, 157 otherwise;
//! headline 40), the two-person statuses, and the alert as stored and answered.
//!
//! Requests are parsed here into types ([`Category`], [`Region`], [`Draft`]), so
//! the store and the delivery never see an unchecked code.

use serde::{Deserialize, Serialize};
use shared::http::{Fields, Invalid};

use crate::views::{AlertView, Delivery};

/// The longest headline, in characters.
pub const HEADLINE_MAX_CHARS: usize = 40;
/// The longest `emergency` message: older phones show no more of a 위급재난 text.
pub const EMERGENCY_MESSAGE_MAX_CHARS: usize = 90;
/// The longest message of the other categories.
pub const MESSAGE_MAX_CHARS: usize = 157;
/// How many regions one alert may name.
pub const MAX_REGIONS: usize = 5;
/// Alerts of the same category and an overlapping region within this window
/// need `confirmDuplicate` (and the public list shows this window).
pub const RECENT_WINDOW_SECS: i64 = 24 * 3600;

/// The Korean public alert levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(rename = "AlertCategory")]
pub enum Category {
    /// 위급재난: war, imminent danger to life. Cannot be opted out of.
    Emergency,
    /// 긴급재난: disasters.
    Disaster,
    /// 안전안내: safety information.
    Safety,
}

impl Category {
    /// Every category, in api.md's order.
    pub const ALL: [Category; 3] = [Category::Emergency, Category::Disaster, Category::Safety];

    /// Parses an api.md code; the reason names the allowed values.
    pub fn parse(code: &str) -> Result<Self, Invalid> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == code)
            .ok_or_else(|| {
                Invalid::new(
                    "must be one of emergency, disaster, safety",
                    "emergency, disaster, safety 중 하나여야 합니다",
                )
            })
    }

    /// The api.md code.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Emergency => "emergency",
            Category::Disaster => "disaster",
            Category::Safety => "safety",
        }
    }

    /// The Korean name of the level.
    pub fn korean(self) -> &'static str {
        match self {
            Category::Emergency => "위급재난",
            Category::Disaster => "긴급재난",
            Category::Safety => "안전안내",
        }
    }

    /// The longest message of this category, in characters.
    pub fn message_limit(self) -> usize {
        match self {
            Category::Emergency => EMERGENCY_MESSAGE_MAX_CHARS,
            _ => MESSAGE_MAX_CHARS,
        }
    }
}

/// A province by its 2-digit administrative code (api.md's list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Region(&'static str);

impl Region {
    /// Parses a code of api.md's list.
    pub fn parse(code: &str) -> Result<Self, Invalid> {
        shared::codes::PROVINCES
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(c, _)| Region(c))
            .ok_or_else(|| {
                Invalid::new(
                    "is not a province code (11 Seoul, 26 Busan, ... 52 Jeonbuk)",
                    "시도 코드가 아닙니다 (11 서울, 26 부산, ... 52 전북)",
                )
            })
    }

    /// The 2-digit code.
    pub fn code(self) -> &'static str {
        self.0
    }

    /// The official Korean name (서울특별시).
    pub fn name(self) -> &'static str {
        shared::codes::province_name(self.0).unwrap_or(self.0)
    }
}

impl Serialize for Region {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

// Written by hand: the codes are shared::codes::PROVINCES.
impl schemars::JsonSchema for Region {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "AlertRegion".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let codes: Vec<&str> = shared::codes::PROVINCES.iter().map(|(c, _)| *c).collect();
        let names: Vec<String> = shared::codes::PROVINCES
            .iter()
            .map(|(c, name)| format!("{c} {name}"))
            .collect();
        schemars::json_schema!({
            "type": "string",
            "description": format!("A province by its 2-digit administrative code: {}.", names.join(", ")),
            "enum": codes
        })
    }
}

impl<'de> Deserialize<'de> for Region {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = String::deserialize(d)?;
        Region::parse(&code).map_err(|e| serde::de::Error::custom(e.en().to_owned()))
    }
}

/// Parses a list of region codes (1 to [`MAX_REGIONS`], known, no repeats),
/// recording each bad one under `field[i]` (or `field` for the list itself).
pub fn parse_regions(field: &str, codes: &[String], fields: &mut Fields) -> Option<Vec<Region>> {
    if codes.is_empty() || codes.len() > MAX_REGIONS {
        fields.check::<()>(
            field,
            Err(Invalid::new(
                format!("must list 1 to {MAX_REGIONS} province codes"),
                format!("시도 코드를 1개에서 {MAX_REGIONS}개까지 적어야 합니다"),
            )),
        );
        return None;
    }
    let mut regions = Vec::with_capacity(codes.len());
    let mut ok = true;
    for (i, code) in codes.iter().enumerate() {
        let parsed = Region::parse(code).and_then(|r| {
            if regions.contains(&r) {
                Err(Invalid::new("is listed twice", "두 번 적혔습니다"))
            } else {
                Ok(r)
            }
        });
        match fields.check(&format!("{field}[{i}]"), parsed) {
            Some(r) => regions.push(r),
            None => ok = false,
        }
    }
    ok.then_some(regions)
}

/// Where an alert stands (api.md: `pending-approval` -> `issued` | `cancelled`;
/// `issued` -> `cancelled`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(rename = "AlertStatus")]
pub enum Status {
    /// Created, waiting for a second official.
    PendingApproval,
    /// Approved: public, published, being delivered.
    Issued,
    /// Withdrawn.
    Cancelled,
}

impl Status {
    /// The api.md value.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::PendingApproval => "pending-approval",
            Status::Issued => "issued",
            Status::Cancelled => "cancelled",
        }
    }
}

/// The body of `POST /v1/alerts`, checked by `Draft::parse`; the schema
/// attributes say what it accepts (an `emergency` message stops at 90
/// characters, which older phones show in full).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(
    rename = "AlertBody",
    extend(
        "if" = { "properties": { "category": { "const": "emergency" } } },
        "then" = { "properties": { "message": { "maxLength": EMERGENCY_MESSAGE_MAX_CHARS } } }
    )
)]
pub struct AlertBody {
    /// The level.
    #[schemars(with = "Category")]
    pub category: String,
    /// The provinces, each once.
    #[schemars(
        with = "Vec<Region>",
        length(min = 1, max = MAX_REGIONS),
        extend("uniqueItems" = true)
    )]
    pub regions: Vec<String>,
    /// The headline (not blank), without control characters.
    #[schemars(
        length(min = 1, max = HEADLINE_MAX_CHARS),
        regex(pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")
    )]
    pub headline: String,
    /// The text citizens receive (not blank): at most 90 characters for
    /// `emergency`, 157 otherwise; no control characters but line breaks.
    #[schemars(
        length(min = 1, max = MESSAGE_MAX_CHARS),
        regex(pattern = r"^[^\u0000-\u0009\u000B-\u001F\u007F-\u009F]*$")
    )]
    pub message: String,
    /// Write it even if an alert of the same category for an overlapping
    /// region was written in the last 24 h.
    pub confirm_duplicate: Option<bool>,
}

/// A checked alert request (POST /v1/alerts).
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// The level.
    pub category: Category,
    /// 1 to 5 distinct provinces.
    pub regions: Vec<Region>,
    /// 1 to 40 characters.
    pub headline: String,
    /// Within the category's limit.
    pub message: String,
    /// The official saw the possible duplicate and means it.
    pub confirm_duplicate: bool,
}

impl Draft {
    /// Checks a request body's fields, naming every bad one.
    pub fn parse(
        category: &str,
        regions: &[String],
        headline: &str,
        message: &str,
        confirm_duplicate: Option<bool>,
    ) -> Result<Self, shared::http::ApiError> {
        let mut fields = Fields::new();
        let category = fields.check("category", Category::parse(category));
        let regions = parse_regions("regions", regions, &mut fields);
        let headline_chars = headline.trim().chars().count();
        fields.check(
            "headline",
            if headline_chars == 0 || headline.chars().count() > HEADLINE_MAX_CHARS {
                Err(Invalid::new(
                    format!("must be 1 to {HEADLINE_MAX_CHARS} characters"),
                    format!("1자에서 {HEADLINE_MAX_CHARS}자 사이여야 합니다"),
                ))
            } else {
                Ok(())
            },
        );
        let limit = category.map_or(MESSAGE_MAX_CHARS, Category::message_limit);
        let message_chars = message.chars().count();
        fields.check(
            "message",
            if message.trim().is_empty() || message_chars > limit {
                Err(Invalid::new(
                    match category {
                        Some(Category::Emergency) => format!(
                            "must be 1 to {limit} characters for emergency alerts (older phones show no more)"
                        ),
                        _ => format!("must be 1 to {limit} characters"),
                    },
                    match category {
                        Some(Category::Emergency) => format!(
                            "위급재난 문자는 1자에서 {limit}자 사이여야 합니다 (오래된 휴대전화는 그 이상을 표시하지 못합니다)"
                        ),
                        _ => format!("1자에서 {limit}자 사이여야 합니다"),
                    },
                ))
            } else if message.chars().any(|c| c.is_control() && c != '\n') {
                Err(Invalid::new(
                    "must not contain control characters other than line breaks",
                    "줄바꿈 외의 제어 문자를 쓸 수 없습니다",
                ))
            } else {
                Ok(())
            },
        );
        if headline.chars().any(char::is_control) {
            fields.check::<()>(
                "headline",
                Err(Invalid::new(
                    "must not contain control characters",
                    "제어 문자를 쓸 수 없습니다",
                )),
            );
        }
        match (category, regions) {
            (Some(category), Some(regions)) if fields.is_empty() => Ok(Self {
                category,
                regions,
                headline: headline.trim().to_owned(),
                message: message.to_owned(),
                confirm_duplicate: confirm_duplicate.unwrap_or(false),
            }),
            _ => Err(fields.into_error()),
        }
    }
}

/// How many SMS segments SNS sends `message` as: GSM-7 text fits 160 septets
/// in one segment and 153 per part once split (extension characters such as
/// `€` take two); anything else (Korean) is UCS-2, 70 UTF-16 units in one
/// segment and 67 per part once split.
pub fn sms_segments(message: &str) -> u32 {
    let (units, single, part) = match gsm7_septets(message) {
        Some(septets) => (septets, 160, 153),
        None => (message.encode_utf16().count(), 70, 67),
    };
    let segments = if units <= single {
        1
    } else {
        units.div_ceil(part)
    };
    u32::try_from(segments).unwrap_or(u32::MAX)
}

/// The septets of `text` in the GSM 03.38 default alphabet, or `None` when a
/// character is outside it (and its extension table).
fn gsm7_septets(text: &str) -> Option<usize> {
    const BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
    const EXTENSION: &str = "^{}\\[~]|€\u{c}";
    text.chars().try_fold(0usize, |n, c| {
        if BASIC.contains(c) {
            Some(n + 1)
        } else if EXTENSION.contains(c) {
            Some(n + 2)
        } else {
            None
        }
    })
}

/// An alert as stored (`ALERT#<alertId>` / `ALERT`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    /// `ALERT#<alertId>`.
    pub pk: String,
    /// `ALERT`.
    pub sk: String,
    /// Random id (a UUID).
    pub alert_id: String,
    /// The level.
    pub category: Category,
    /// The provinces, in the order the official gave them.
    pub regions: Vec<Region>,
    /// 1 to 40 characters.
    pub headline: String,
    /// The text citizens receive.
    pub message: String,
    /// Where it stands.
    pub status: Status,
    /// The official who wrote it.
    pub created_by: String,
    /// When (Unix seconds).
    pub created_at: i64,
    /// The official who approved it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
    /// When it was issued (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_at: Option<i64>,
    /// The official who cancelled it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_by: Option<String>,
    /// When it was cancelled (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_at: Option<i64>,
    /// Bumped by every change of status (If-Match).
    pub version: u64,
    /// Citizens the delivery planned to text (counted as it plans).
    #[serde(default)]
    pub recipients: u64,
    /// Texts SNS accepted.
    #[serde(default)]
    pub sent: u64,
    /// Texts that failed (a later retry that succeeds moves one to `sent`).
    #[serde(default)]
    pub failed: u64,
}

impl Alert {
    /// The item key of alert `alert_id`.
    pub fn key(alert_id: &str) -> (String, String) {
        (format!("ALERT#{alert_id}"), "ALERT".to_owned())
    }

    /// A new pending alert.
    pub fn new(alert_id: String, draft: &Draft, created_by: &str, now: i64) -> Self {
        let (pk, sk) = Self::key(&alert_id);
        Self {
            pk,
            sk,
            alert_id,
            category: draft.category,
            regions: draft.regions.clone(),
            headline: draft.headline.clone(),
            message: draft.message.clone(),
            status: Status::PendingApproval,
            created_by: created_by.to_owned(),
            created_at: now,
            approved_by: None,
            issued_at: None,
            cancelled_by: None,
            cancelled_at: None,
            version: 1,
            recipients: 0,
            sent: 0,
            failed: 0,
        }
    }

    /// The alert as api.md answers it (and as the `alerts` topic carries it).
    pub fn view(&self) -> AlertView {
        AlertView {
            alert_id: self.alert_id.clone(),
            status: self.status,
            category: self.category,
            regions: self.regions.clone(),
            headline: self.headline.clone(),
            message: self.message.clone(),
            created_by: self.created_by.clone(),
            created_at: shared::time::rfc3339(self.created_at),
            sms_segments: sms_segments(&self.message),
            version: self.version,
            issued_at: self.issued_at.map(shared::time::rfc3339),
            approved_by: self.approved_by.clone(),
            cancelled_at: self.cancelled_at.map(shared::time::rfc3339),
            cancelled_by: self.cancelled_by.clone(),
            // Counted once the alert is out; a draft has no delivery.
            delivery: self.issued_at.map(|_| Delivery {
                recipients: self.recipients,
                sent: self.sent,
                failed: self.failed,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(
        category: &str,
        regions: &[&str],
        headline: &str,
        message: &str,
    ) -> Result<Draft, Vec<String>> {
        let regions: Vec<String> = regions.iter().map(|r| (*r).to_owned()).collect();
        Draft::parse(category, &regions, headline, message, None)
            .map_err(|e| e.errors().iter().map(|f| f.field.clone()).collect())
    }

    #[test]
    fn emergency_messages_stop_at_90_characters_and_others_at_157() {
        // GIVEN messages at and over each category's limit
        let at_90 = "가".repeat(90);
        let over_90 = "가".repeat(91);
        let at_157 = "나".repeat(157);
        let over_157 = "나".repeat(158);
        // THEN the limit follows the category, and the field is named
        assert!(draft("emergency", &["11"], "대피", &at_90).is_ok());
        assert_eq!(
            draft("emergency", &["11"], "대피", &over_90).unwrap_err(),
            ["message"]
        );
        assert!(draft("disaster", &["11"], "호우", &over_90).is_ok());
        assert!(draft("safety", &["11"], "폭염", &at_157).is_ok());
        assert_eq!(
            draft("safety", &["11"], "폭염", &over_157).unwrap_err(),
            ["message"]
        );
        assert_eq!(
            draft("disaster", &["11"], "호우", "").unwrap_err(),
            ["message"]
        );
    }

    #[test]
    fn headlines_regions_and_categories_are_checked_field_by_field() {
        // GIVEN one bad value at a time
        let long = "가".repeat(41);
        assert_eq!(
            draft("safety", &["11"], &long, "m").unwrap_err(),
            ["headline"]
        );
        assert_eq!(
            draft("safety", &["11"], "  ", "m").unwrap_err(),
            ["headline"]
        );
        assert!(draft("safety", &["11"], &"가".repeat(40), "m").is_ok());
        assert_eq!(draft("storm", &["11"], "h", "m").unwrap_err(), ["category"]);
        assert_eq!(draft("safety", &[], "h", "m").unwrap_err(), ["regions"]);
        assert_eq!(
            draft("safety", &["11", "26", "27", "28", "29", "30"], "h", "m").unwrap_err(),
            ["regions"]
        );
        assert_eq!(
            draft("safety", &["11", "99"], "h", "m").unwrap_err(),
            ["regions[1]"]
        );
        assert_eq!(
            draft("safety", &["11", "11"], "h", "m").unwrap_err(),
            ["regions[1]"]
        );
        // AND every bad field is named at once
        assert_eq!(
            draft("storm", &["00"], "", "").unwrap_err(),
            ["category", "regions[0]", "headline", "message"]
        );
        // AND five known regions pass, in the order given
        let ok = draft("safety", &["52", "11", "26", "41", "50"], "h", "m").unwrap();
        let codes: Vec<&str> = ok.regions.iter().map(|r| r.code()).collect();
        assert_eq!(codes, ["52", "11", "26", "41", "50"]);
    }

    #[test]
    fn segments_follow_sns_ucs2_and_gsm7_rules() {
        // Korean is UCS-2: 70 in one segment, 67 per part once split
        assert_eq!(sms_segments(&"가".repeat(70)), 1);
        assert_eq!(sms_segments(&"가".repeat(71)), 2);
        assert_eq!(sms_segments(&"가".repeat(134)), 2);
        assert_eq!(sms_segments(&"가".repeat(135)), 3);
        assert_eq!(sms_segments(&"가".repeat(157)), 3);
        // plain ASCII is GSM-7: 160 in one, 153 per part
        assert_eq!(sms_segments(&"a".repeat(160)), 1);
        assert_eq!(sms_segments(&"a".repeat(161)), 2);
        // an extension character takes two septets
        assert_eq!(sms_segments(&format!("{}€", "a".repeat(159))), 2);
    }

    #[test]
    fn the_view_shows_delivery_only_once_issued() {
        let d = draft(
            "disaster",
            &["11", "41"],
            "호우경보",
            "비 피해에 대비하세요",
        )
        .unwrap();
        let mut alert = Alert::new("a1".into(), &d, "official-1", 1_795_910_191);
        let v = serde_json::to_value(alert.view()).unwrap();
        assert_eq!(v["status"], "pending-approval");
        assert_eq!(v["regions"], serde_json::json!(["11", "41"]));
        assert_eq!(v["createdAt"], "2026-11-28T23:56:31Z");
        assert!(v.get("delivery").is_none());
        alert.status = Status::Issued;
        alert.issued_at = Some(1_795_910_200);
        alert.recipients = 3;
        let v = serde_json::to_value(alert.view()).unwrap();
        assert_eq!(
            v["delivery"],
            serde_json::json!({"recipients": 3, "sent": 0, "failed": 0})
        );
    }

    #[test]
    fn stored_alerts_round_trip_through_dynamodb_items() {
        let d = draft("emergency", &["30"], "대피", "즉시 대피하세요").unwrap();
        let alert = Alert::new("a2".into(), &d, "o", 10);
        let item: std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> =
            serde_dynamo::to_item(&alert).unwrap();
        assert_eq!(item["status"].as_s().unwrap(), "pending-approval");
        let back: Alert = serde_dynamo::from_item(item).unwrap();
        assert_eq!(back, alert);
    }
}
