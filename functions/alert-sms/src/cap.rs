//! Alerts as OASIS CAP 1.2 documents (Common Alerting Protocol, `application/cap+xml`).
//!
//! CAP is the exchange format of public warning systems: broadcasters, cell
//! broadcast gateways and aggregators read it, so `GET /v1/alerts/{alertId}` with
//! `Accept: application/cap+xml` answers with one, and a cancellation is a CAP
//! `Cancel` that references the original message.
//!
//! The module has its own input type ([`CapAlert`]) rather than reading the alert
//! store's items, so the document is pure and tested against the OASIS schema
//! (`tests/cap.rs`). It is written with quick-xml's writer, never by
//! concatenating strings, so headlines and messages with markup characters are
//! escaped. Elements come in the order of the schema's `xs:sequence`s, which
//! validators enforce.
//!
//! What CAP asks beyond the schema is checked here too: `identifier` and
//! `sender` must not contain spaces, commas, `<` or `&` (CAP 1.2 §3.2.1), since
//! `references` lists them as space-separated `sender,identifier,sent` triples;
//! and text must be made of XML 1.0 characters.

use std::fmt;
use std::io;

use chrono::{DateTime, FixedOffset, SecondsFormat, TimeZone, Utc};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};

use crate::alerts::Category;

/// The media type of a CAP document.
pub const CONTENT_TYPE: &str = "application/cap+xml";

/// The XML namespace of CAP 1.2.
pub const NAMESPACE: &str = "urn:oasis:names:tc:emergency:cap:1.2";

/// The language of every `info` block: the alerts are written in Korean.
pub const LANGUAGE: &str = "ko-KR";

/// The `valueName` of the `geocode`s of an area. Each `value` is a region of the
/// API: the 2-digit province (시·도) prefix of the Korean administrative district
/// code (`11` Seoul, `50` Jeju). It is not ISO 3166-2:KR, whose numbers differ
/// for some provinces (ISO `KR-50` is Sejong), hence a name of its own.
pub const GEOCODE_VALUE_NAME: &str = "KR-SIDO";

/// Korean Standard Time, UTC+9: the offset of `sent` in our documents.
const KST: FixedOffset = match FixedOffset::east_opt(9 * 3600) {
    Some(offset) => offset,
    None => panic!("UTC+9 is a valid offset"),
};

/// Why a CAP document could not be written.
#[derive(Debug, thiserror::Error)]
pub enum CapError {
    /// `identifier` or `sender` (or the ones of a reference) is empty or holds a
    /// space, comma, `<` or `&`, which CAP forbids.
    #[error("`{field}` must be non-empty without spaces, commas, `<` or `&`: `{value}`")]
    InvalidId {
        /// The element: `identifier`, `sender`, or `references` for a reference's parts.
        field: &'static str,
        /// The offending value.
        value: String,
    },
    /// A text holds a character XML 1.0 cannot carry (a control character).
    #[error("`{field}` holds a character that XML 1.0 cannot carry")]
    InvalidChar {
        /// The element.
        field: &'static str,
    },
    /// A region code that is not one of the 2-digit province codes.
    #[error("unknown region `{0}`")]
    UnknownRegion(String),
    /// The alert names no region.
    #[error("an alert needs at least one region")]
    NoRegion,
    /// A `Cancel` must say which message it cancels.
    #[error("a `Cancel` needs `references`")]
    CancelWithoutReferences,
    /// Unix seconds outside the range of dates.
    #[error("time `{0}` is out of range")]
    TimeOutOfRange(i64),
    /// The writer failed (it writes to memory, so this is not expected).
    #[error("writing the CAP document failed")]
    Write(#[from] io::Error),
}

/// `<status>`: how the message is to be handled. Our alerts are `Actual`; the
/// others exist for drills and tests of receiving systems.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Actionable by all targeted recipients.
    Actual,
    /// Only for the designated participants of an exercise.
    Exercise,
    /// For messages that support alert network internal functions.
    System,
    /// Technical testing only; all recipients disregard it.
    Test,
    /// A preliminary template or draft, not actionable.
    Draft,
}

impl Status {
    /// The CAP value.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Actual => "Actual",
            Status::Exercise => "Exercise",
            Status::System => "System",
            Status::Test => "Test",
            Status::Draft => "Draft",
        }
    }
}

/// `<msgType>`: what the message does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsgType {
    /// Initial information requiring attention by targeted recipients.
    Alert,
    /// Cancels the earlier message named in `references`.
    Cancel,
}

impl MsgType {
    /// The CAP value.
    pub fn as_str(self) -> &'static str {
        match self {
            MsgType::Alert => "Alert",
            MsgType::Cancel => "Cancel",
        }
    }
}

/// `<category>` of an `info` block: the CAP category of the hazard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapCategory {
    /// Geophysical (landslide, earthquake).
    Geo,
    /// Meteorological (flood, typhoon, heavy snow).
    Met,
    /// General emergency and public safety.
    Safety,
    /// Law enforcement, military, homeland and local/private security.
    Security,
    /// Rescue and recovery.
    Rescue,
    /// Fire suppression and rescue.
    Fire,
    /// Medical and public health.
    Health,
    /// Pollution and other environmental.
    Env,
    /// Public and private transportation.
    Transport,
    /// Utility, telecommunication, other non-transport infrastructure.
    Infra,
    /// Chemical, biological, radiological, nuclear or high-yield explosive.
    Cbrne,
    /// Other events.
    Other,
}

impl CapCategory {
    /// The CAP value.
    pub fn as_str(self) -> &'static str {
        match self {
            CapCategory::Geo => "Geo",
            CapCategory::Met => "Met",
            CapCategory::Safety => "Safety",
            CapCategory::Security => "Security",
            CapCategory::Rescue => "Rescue",
            CapCategory::Fire => "Fire",
            CapCategory::Health => "Health",
            CapCategory::Env => "Env",
            CapCategory::Transport => "Transport",
            CapCategory::Infra => "Infra",
            CapCategory::Cbrne => "CBRNE",
            CapCategory::Other => "Other",
        }
    }
}

/// `<urgency>`: how soon to act.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Urgency {
    /// Responsive action should be taken immediately.
    Immediate,
    /// Within the next hour.
    Expected,
    /// In the near future.
    Future,
    /// No longer required.
    Past,
    /// Not known.
    Unknown,
}

impl Urgency {
    /// The CAP value.
    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::Immediate => "Immediate",
            Urgency::Expected => "Expected",
            Urgency::Future => "Future",
            Urgency::Past => "Past",
            Urgency::Unknown => "Unknown",
        }
    }
}

/// `<severity>`: how bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Extraordinary threat to life or property.
    Extreme,
    /// Significant threat to life or property.
    Severe,
    /// Possible threat to life or property.
    Moderate,
    /// Minimal to no known threat.
    Minor,
    /// Not known.
    Unknown,
}

impl Severity {
    /// The CAP value.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Extreme => "Extreme",
            Severity::Severe => "Severe",
            Severity::Moderate => "Moderate",
            Severity::Minor => "Minor",
            Severity::Unknown => "Unknown",
        }
    }
}

/// `<certainty>`: how sure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Certainty {
    /// Determined to have occurred or to be ongoing.
    Observed,
    /// Likely (p > ~50%).
    Likely,
    /// Possible but not likely (p <= ~50%).
    Possible,
    /// Not expected to occur (p ~ 0).
    Unlikely,
    /// Not known.
    Unknown,
}

impl Certainty {
    /// The CAP value.
    pub fn as_str(self) -> &'static str {
        match self {
            Certainty::Observed => "Observed",
            Certainty::Likely => "Likely",
            Certainty::Possible => "Possible",
            Certainty::Unlikely => "Unlikely",
            Certainty::Unknown => "Unknown",
        }
    }
}

/// Urgency, severity and certainty of an alert level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Levels {
    /// `<urgency>`.
    pub urgency: Urgency,
    /// `<severity>`.
    pub severity: Severity,
    /// `<certainty>`.
    pub certainty: Certainty,
}

/// What an alert level means in CAP terms: an emergency is happening now and
/// threatens lives; a disaster alert and a safety notice ask for action soon.
pub fn levels(category: Category) -> Levels {
    match category {
        Category::Emergency => Levels {
            urgency: Urgency::Immediate,
            severity: Severity::Extreme,
            certainty: Certainty::Observed,
        },
        Category::Disaster => Levels {
            urgency: Urgency::Expected,
            severity: Severity::Severe,
            certainty: Certainty::Likely,
        },
        Category::Safety => Levels {
            urgency: Urgency::Expected,
            severity: Severity::Moderate,
            certainty: Certainty::Likely,
        },
    }
}

/// An earlier message, named as CAP 1.2 §3.2.1 asks: `sender,identifier,sent`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The earlier message's `sender`.
    pub sender: String,
    /// The earlier message's `identifier`.
    pub identifier: String,
    /// The earlier message's `sent`.
    pub sent: DateTime<FixedOffset>,
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{},{},{}",
            self.sender,
            self.identifier,
            format_time(&self.sent)
        )
    }
}

/// The one `info` block of an alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    /// The CAP category of the hazard (e.g. [`CapCategory::Safety`]).
    pub category: CapCategory,
    /// Our alert level: gives `<event>` (its Korean name), `<urgency>`,
    /// `<severity>` and `<certainty>` ([`levels`]).
    pub level: Category,
    /// `<senderName>`: the issuing agency as people know it, if any.
    pub sender_name: Option<String>,
    /// `<headline>`.
    pub headline: String,
    /// `<description>`: the message.
    pub description: String,
    /// The 2-digit province codes of the area, in the order to show them.
    pub regions: Vec<String>,
}

/// One CAP message: an alert or its cancellation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapAlert {
    /// `<identifier>`, unique per sender and message: a `Cancel` has its own,
    /// not the original's (e.g. `<alertId>-cancel`).
    pub identifier: String,
    /// `<sender>`, globally unique, e.g. a domain name.
    pub sender: String,
    /// `<sent>`, written `YYYY-MM-DDThh:mm:ss+hh:mm` in its own offset (see [`korean_time`]).
    pub sent: DateTime<FixedOffset>,
    /// `<status>`.
    pub status: Status,
    /// `<msgType>`.
    pub msg_type: MsgType,
    /// `<references>`: for a `Cancel`, the original ([`CapAlert::reference`]).
    pub references: Option<Reference>,
    /// `<note>`, e.g. why an alert was cancelled.
    pub note: Option<String>,
    /// The `info` block.
    pub info: Info,
}

impl CapAlert {
    /// How a later message (a `Cancel`) names this one in its `references`.
    pub fn reference(&self) -> Reference {
        Reference {
            sender: self.sender.clone(),
            identifier: self.identifier.clone(),
            sent: self.sent,
        }
    }
}

/// Unix seconds as a time in Korea (UTC+9), as `sent` is written.
pub fn korean_time(secs: i64) -> Result<DateTime<FixedOffset>, CapError> {
    Utc.timestamp_opt(secs, 0)
        .single()
        .map(|t| t.with_timezone(&KST))
        .ok_or(CapError::TimeOutOfRange(secs))
}

/// A CAP time: whole seconds and a numeric offset, never `Z`
/// (`2026-03-01T09:00:00+09:00`).
pub fn format_time(time: &DateTime<FixedOffset>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// The CAP 1.2 document of `alert`, as UTF-8 XML with its declaration.
pub fn to_xml(alert: &CapAlert) -> Result<String, CapError> {
    check_id("identifier", &alert.identifier)?;
    check_id("sender", &alert.sender)?;
    if let Some(reference) = &alert.references {
        check_id("references", &reference.sender)?;
        check_id("references", &reference.identifier)?;
    }
    if alert.msg_type == MsgType::Cancel && alert.references.is_none() {
        return Err(CapError::CancelWithoutReferences);
    }
    let info = &alert.info;
    if info.regions.is_empty() {
        return Err(CapError::NoRegion);
    }
    let names = info
        .regions
        .iter()
        .map(|code| {
            shared::codes::province_name(code).ok_or_else(|| CapError::UnknownRegion(code.clone()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let area_desc = names.join(", ");
    let references = alert.references.as_ref().map(Reference::to_string);
    let sent = format_time(&alert.sent);
    let levels = levels(info.level);

    let texts = [
        ("note", alert.note.as_deref()),
        ("senderName", info.sender_name.as_deref()),
        ("headline", Some(info.headline.as_str())),
        ("description", Some(info.description.as_str())),
    ];
    for (field, text) in texts {
        if let Some(text) = text {
            check_chars(field, text)?;
        }
    }

    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
    writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    writer
        .create_element("alert")
        .with_attribute(("xmlns", NAMESPACE))
        .write_inner_content(|w| {
            text(w, "identifier", &alert.identifier)?;
            text(w, "sender", &alert.sender)?;
            text(w, "sent", &sent)?;
            text(w, "status", alert.status.as_str())?;
            text(w, "msgType", alert.msg_type.as_str())?;
            text(w, "scope", "Public")?;
            optional(w, "note", alert.note.as_deref())?;
            optional(w, "references", references.as_deref())?;
            w.create_element("info").write_inner_content(|w| {
                text(w, "language", LANGUAGE)?;
                text(w, "category", info.category.as_str())?;
                text(w, "event", info.level.korean())?;
                text(w, "urgency", levels.urgency.as_str())?;
                text(w, "severity", levels.severity.as_str())?;
                text(w, "certainty", levels.certainty.as_str())?;
                optional(w, "senderName", info.sender_name.as_deref())?;
                text(w, "headline", &info.headline)?;
                text(w, "description", &info.description)?;
                w.create_element("area").write_inner_content(|w| {
                    text(w, "areaDesc", &area_desc)?;
                    for code in &info.regions {
                        w.create_element("geocode").write_inner_content(|w| {
                            text(w, "valueName", GEOCODE_VALUE_NAME)?;
                            text(w, "value", code)
                        })?;
                    }
                    Ok(())
                })?;
                Ok(())
            })?;
            Ok(())
        })?;
    // Only `&str`s were written, so the bytes are UTF-8; the fallback is never taken.
    String::from_utf8(writer.into_inner())
        .map_err(|e| CapError::Write(io::Error::new(io::ErrorKind::InvalidData, e)))
}

/// `<name>value</name>`, the value escaped by the writer.
fn text(w: &mut Writer<Vec<u8>>, name: &str, value: &str) -> io::Result<()> {
    w.create_element(name)
        .write_text_content(BytesText::new(value))?;
    Ok(())
}

/// `<name>value</name>` when there is a value; nothing otherwise.
fn optional(w: &mut Writer<Vec<u8>>, name: &str, value: Option<&str>) -> io::Result<()> {
    match value {
        Some(value) => text(w, name, value),
        None => Ok(()),
    }
}

/// CAP 1.2 §3.2.1: no spaces, commas or restricted characters (`<`, `&`) in an
/// identifier or sender, since `references` separates them with commas and spaces.
fn check_id(field: &'static str, value: &str) -> Result<(), CapError> {
    let bad = value.is_empty()
        || value
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, ',' | '<' | '&'));
    if bad {
        return Err(CapError::InvalidId {
            field,
            value: value.to_owned(),
        });
    }
    Ok(())
}

/// XML 1.0 carries no control characters but tab, line feed and carriage
/// return, nor U+FFFE and U+FFFF; escaping cannot help, so such text is refused.
fn check_chars(field: &'static str, value: &str) -> Result<(), CapError> {
    let bad = value.chars().any(|c| {
        (c < '\u{20}' && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}')
    });
    if bad {
        return Err(CapError::InvalidChar { field });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use quick_xml::escape::resolve_predefined_entity;
    use quick_xml::events::Event;
    use quick_xml::reader::Reader;

    fn sent() -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339("2026-03-01T09:00:00+09:00").unwrap()
    }

    fn alert() -> CapAlert {
        CapAlert {
            identifier: "01JN3Z4X5Y6W7V8T9S0R1Q2P3N".into(),
            sender: "alerts.pocketgov.kr".into(),
            sent: sent(),
            status: Status::Actual,
            msg_type: MsgType::Alert,
            references: None,
            note: None,
            info: Info {
                category: CapCategory::Safety,
                level: Category::Disaster,
                sender_name: Some("행정안전부".into()),
                headline: "호우 경보".into(),
                description: "하천변 산책로 이용을 자제하십시오.".into(),
                regions: vec!["11".into(), "41".into()],
            },
        }
    }

    fn cancel_of(original: &CapAlert) -> CapAlert {
        CapAlert {
            identifier: format!("{}-cancel", original.identifier),
            sent: DateTime::parse_from_rfc3339("2026-03-01T09:30:00+09:00").unwrap(),
            msg_type: MsgType::Cancel,
            references: Some(original.reference()),
            note: Some("오발령 취소".into()),
            ..original.clone()
        }
    }

    /// Every element of `xml` in document order, as (local name, unescaped text);
    /// the text of a container is its indentation.
    fn elements(xml: &str) -> Vec<(String, String)> {
        let mut reader = Reader::from_str(xml);
        let mut out: Vec<(String, String)> = Vec::new();
        let mut open: Vec<usize> = Vec::new();
        loop {
            match reader.read_event().unwrap() {
                Event::Start(e) => {
                    let name = String::from_utf8(e.local_name().as_ref().to_vec()).unwrap();
                    open.push(out.len());
                    out.push((name, String::new()));
                }
                Event::End(_) => {
                    open.pop();
                }
                Event::Text(t) => {
                    if let Some(&i) = open.last() {
                        out[i].1.push_str(&t.xml10_content().unwrap());
                    }
                }
                Event::GeneralRef(r) => {
                    let i = *open.last().unwrap();
                    let resolved = match r.resolve_char_ref().unwrap() {
                        Some(c) => c.to_string(),
                        None => resolve_predefined_entity(&r.decode().unwrap())
                            .unwrap()
                            .to_owned(),
                    };
                    out[i].1.push_str(&resolved);
                }
                Event::Eof => break,
                _ => {}
            }
        }
        out
    }

    fn value_of(xml: &str, name: &str) -> Vec<String> {
        elements(xml)
            .into_iter()
            .filter(|(n, _)| n == name)
            .map(|(_, t)| t)
            .collect()
    }

    #[test]
    fn when_written_should_declare_utf8_and_the_cap_namespace() {
        // GIVEN an alert
        // WHEN it is written
        let xml = to_xml(&alert()).unwrap();
        // THEN it starts with the declaration and the namespaced root
        assert!(
            xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">"),
            "{xml}"
        );
        assert!(xml.trim_end().ends_with("</alert>"), "{xml}");
    }

    #[test]
    fn when_written_should_put_elements_in_the_schema_order() {
        // GIVEN a cancellation, which has every element we write
        let xml = to_xml(&cancel_of(&alert())).unwrap();
        // WHEN its elements are read back in order
        let names: Vec<String> = elements(&xml).into_iter().map(|(n, _)| n).collect();
        // THEN they follow the xs:sequence of alert, info, area and geocode
        let expected = [
            "alert",
            "identifier",
            "sender",
            "sent",
            "status",
            "msgType",
            "scope",
            "note",
            "references",
            "info",
            "language",
            "category",
            "event",
            "urgency",
            "severity",
            "certainty",
            "senderName",
            "headline",
            "description",
            "area",
            "areaDesc",
            "geocode",
            "valueName",
            "value",
            "geocode",
            "valueName",
            "value",
        ];
        assert_eq!(names, expected);
    }

    #[test]
    fn when_text_has_markup_characters_should_escape_them() {
        // GIVEN a headline and a message with <, & and "
        let mut a = alert();
        a.info.headline = r#"<b>대피</b> & "즉시""#.into();
        a.info.description = "A < B && C > \"D\" '".into();
        // WHEN written
        let xml = to_xml(&a).unwrap();
        // THEN no raw markup leaks into the document
        assert!(!xml.contains("<b>"), "{xml}");
        assert!(
            xml.contains("&lt;b&gt;대피&lt;/b&gt; &amp; &quot;즉시&quot;"),
            "{xml}"
        );
        // AND reading it back gives the texts unchanged
        assert_eq!(value_of(&xml, "headline"), [a.info.headline.clone()]);
        assert_eq!(value_of(&xml, "description"), [a.info.description.clone()]);
    }

    #[test]
    fn when_text_is_korean_should_round_trip_unchanged() {
        // GIVEN an alert in Korean for Seoul and Jeju
        let mut a = alert();
        a.info.regions = vec!["11".into(), "50".into()];
        // WHEN written and read back
        let xml = to_xml(&a).unwrap();
        // THEN the Korean texts come back as they were, not as character references
        assert!(xml.contains("호우 경보"), "{xml}");
        assert_eq!(value_of(&xml, "headline"), ["호우 경보"]);
        assert_eq!(
            value_of(&xml, "description"),
            ["하천변 산책로 이용을 자제하십시오."]
        );
        assert_eq!(value_of(&xml, "senderName"), ["행정안전부"]);
        assert_eq!(value_of(&xml, "event"), ["긴급재난"]);
        assert_eq!(value_of(&xml, "language"), ["ko-KR"]);
        // AND the area names the provinces and codes them
        assert_eq!(value_of(&xml, "areaDesc"), ["서울특별시, 제주특별자치도"]);
        assert_eq!(value_of(&xml, "value"), ["11", "50"]);
        assert_eq!(value_of(&xml, "valueName"), ["KR-SIDO", "KR-SIDO"]);
    }

    #[test]
    fn when_cancelled_should_reference_the_original_message() {
        // GIVEN an issued alert and its cancellation
        let original = alert();
        let cancel = cancel_of(&original);
        // WHEN the cancellation is written
        let xml = to_xml(&cancel).unwrap();
        // THEN it is a Cancel naming the original as sender,identifier,sent
        assert_eq!(value_of(&xml, "msgType"), ["Cancel"]);
        assert_eq!(
            value_of(&xml, "references"),
            ["alerts.pocketgov.kr,01JN3Z4X5Y6W7V8T9S0R1Q2P3N,2026-03-01T09:00:00+09:00"]
        );
        assert_eq!(
            value_of(&xml, "identifier"),
            ["01JN3Z4X5Y6W7V8T9S0R1Q2P3N-cancel"]
        );
        assert_eq!(value_of(&xml, "note"), ["오발령 취소"]);
    }

    #[test]
    fn when_a_cancel_has_no_references_should_refuse() {
        // GIVEN a cancellation that forgot the original
        let mut cancel = cancel_of(&alert());
        cancel.references = None;
        // WHEN written THEN it is refused
        assert!(matches!(
            to_xml(&cancel),
            Err(CapError::CancelWithoutReferences)
        ));
    }

    #[test]
    fn when_an_alert_has_no_note_or_references_should_leave_them_out() {
        // GIVEN a plain alert
        // WHEN written
        let xml = to_xml(&alert()).unwrap();
        // THEN there is no empty note or references element
        assert!(!xml.contains("<note"), "{xml}");
        assert!(!xml.contains("<references"), "{xml}");
    }

    #[test]
    fn when_sent_has_fractions_or_utc_should_write_whole_seconds_and_an_offset() {
        // GIVEN times with fractions of a second, in UTC and in Korea
        let utc = DateTime::parse_from_rfc3339("2026-03-01T00:00:00.123Z").unwrap();
        // WHEN formatted
        // THEN seconds are whole and the offset is numeric, never Z
        assert_eq!(format_time(&utc), "2026-03-01T00:00:00+00:00");
        assert_eq!(
            format_time(&korean_time(1_772_323_200).unwrap()),
            "2026-03-01T09:00:00+09:00"
        );
    }

    #[test]
    fn when_identifier_or_sender_has_forbidden_characters_should_refuse() {
        // GIVEN identifiers and senders with a space, a comma, < or &, or nothing
        for bad in ["a b", "a,b", "a<b", "a&b", "", "a\tb"] {
            let mut a = alert();
            a.identifier = bad.into();
            // WHEN written THEN refused, naming the element
            assert!(
                matches!(
                    to_xml(&a),
                    Err(CapError::InvalidId {
                        field: "identifier",
                        ..
                    })
                ),
                "{bad:?}"
            );
            let mut a = alert();
            a.sender = bad.into();
            assert!(
                matches!(
                    to_xml(&a),
                    Err(CapError::InvalidId {
                        field: "sender",
                        ..
                    })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn when_region_is_unknown_or_missing_should_refuse() {
        // GIVEN an alert for a region that is not a province, and one for none
        let mut unknown = alert();
        unknown.info.regions = vec!["11".into(), "99".into()];
        let mut none = alert();
        none.info.regions.clear();
        // WHEN written THEN both are refused
        assert!(matches!(to_xml(&unknown), Err(CapError::UnknownRegion(code)) if code == "99"));
        assert!(matches!(to_xml(&none), Err(CapError::NoRegion)));
    }

    #[test]
    fn when_text_has_a_control_character_should_refuse() {
        // GIVEN a message with a NUL, which XML 1.0 cannot carry
        let mut a = alert();
        a.info.description = "경보\u{0}".into();
        // WHEN written THEN refused; line breaks stay allowed
        assert!(matches!(
            to_xml(&a),
            Err(CapError::InvalidChar {
                field: "description"
            })
        ));
        a.info.description = "첫 줄\n둘째 줄".into();
        assert!(to_xml(&a).is_ok());
    }

    #[test]
    fn categories_map_to_their_korean_event_and_cap_levels() {
        // GIVEN the three API codes
        // WHEN mapped
        // THEN each has its Korean name and its urgency, severity and certainty
        let expected = [
            (
                "emergency",
                "위급재난",
                Urgency::Immediate,
                Severity::Extreme,
                Certainty::Observed,
            ),
            (
                "disaster",
                "긴급재난",
                Urgency::Expected,
                Severity::Severe,
                Certainty::Likely,
            ),
            (
                "safety",
                "안전안내",
                Urgency::Expected,
                Severity::Moderate,
                Certainty::Likely,
            ),
        ];
        for (code, event, urgency, severity, certainty) in expected {
            let level = Category::parse(code).unwrap();
            assert_eq!(level.as_str(), code);
            assert_eq!(level.korean(), event);
            assert_eq!(
                levels(level),
                Levels {
                    urgency,
                    severity,
                    certainty
                }
            );
        }
        assert!(Category::parse("EMERGENCY").is_err());
    }
}
