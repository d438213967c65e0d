//! The items of the certificate table are what the attribute-by-attribute code
//! before serde_dynamo wrote (names, types, keys, `ttl`), and read back; a
//! corrupted item is an error, not a panic.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

// With the store's own imports (`Item`, `s`, `n`, `DateTime`).
use super::*;

fn record() -> Record {
    Record {
        issue_number: "1234-5678-9012-3456".into(),
        kind: Kind::LocalTaxAssessment,
        owner_id: "user-1".into(),
        subject: "홍*동".into(),
        issued_at: DateTime::parse_from_rfc3339("2026-12-05T19:17:18.123456789+09:00").unwrap(),
        sha256: "ab".repeat(32),
        object_key: "certificates/1234-5678-9012-3456/k.pdf".into(),
        status: Status::Issued,
        revoked_at: None,
    }
}

fn request() -> RequestKey {
    RequestKey {
        owner_id: "user-1".into(),
        key: "key-1".into(),
        fingerprint: "fp".into(),
    }
}

fn item(pairs: &[(&str, AttributeValue)]) -> Item {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect::<HashMap<_, _>>()
}

#[test]
fn an_issue_writes_the_same_three_items() {
    let r = record();
    let now = 1_800_000_000;
    let [meta, entry, key_item] = issue_items(&r, &request(), now).unwrap();
    let issued_at = "2026-12-05T19:17:18.123456789+09:00";
    let ttl = n(r.issued_at.timestamp() + RETENTION_SECS);
    let public = [
        ("issueNumber", s("1234-5678-9012-3456")),
        ("type", s("local-tax-assessment")),
        ("subject", s("홍*동")),
        ("issuedAt", s(issued_at)),
        ("sha256", s("ab".repeat(32))),
        ("status", s("issued")),
        ("ttl", ttl),
    ];
    let mut expected = public.to_vec();
    expected.extend([
        ("pk", s("CERT#1234-5678-9012-3456")),
        ("sk", s("META")),
        ("ownerId", s("user-1")),
        ("objectKey", s("certificates/1234-5678-9012-3456/k.pdf")),
    ]);
    assert_eq!(meta, item(&expected));
    let mut expected = public.to_vec();
    expected.extend([
        ("pk", s("OWNER#user-1")),
        ("sk", s(format!("CERT#{issued_at}#1234-5678-9012-3456"))),
    ]);
    assert_eq!(entry, item(&expected));
    assert_eq!(
        key_item,
        item(&[
            ("pk", s("ISSUE#user-1#key-1")),
            ("sk", s("ISSUE")),
            ("issueNumber", s("1234-5678-9012-3456")),
            ("fingerprint", s("fp")),
            ("createdAt", n(now)),
            ("ttl", n(now + shared::idempotency::WINDOW_SECS + 3600)),
        ])
    );

    assert_eq!(from_item::<Record>(meta).unwrap(), r);
    let listed: Entry = from_item(entry).unwrap();
    assert_eq!(listed.kind, "local-tax-assessment");
    assert_eq!(listed.issued_at, issued_at);
    let key: IssueKey = from_item(key_item).unwrap();
    assert_eq!(
        (key.issue_number.as_str(), key.created_at),
        (r.issue_number.as_str(), now)
    );
}

#[test]
fn a_revoked_record_reads_back_with_its_time() {
    let [mut meta, _, _] = issue_items(&record(), &request(), 0).unwrap();
    meta.insert("status".into(), s("revoked"));
    meta.insert("revokedAt".into(), s("2026-12-06T10:00:00+09:00"));
    let r: Record = from_item(meta).unwrap();
    assert_eq!(r.status, Status::Revoked);
    assert_eq!(r.revoked_at.as_deref(), Some("2026-12-06T10:00:00+09:00"));
}

#[test]
fn a_check_writes_the_same_item() {
    let now = DateTime::parse_from_rfc3339("2026-12-05T19:17:18.5+09:00").unwrap();
    let mut check = check_item("1234-5678-9012-3456", Channel::Pdf, "valid", now).unwrap();
    let sk = check.remove("sk").unwrap();
    let sk = sk.as_s().unwrap();
    assert!(
        sk.starts_with("CHECK#2026-12-05T19:17:18.500+09:00#"),
        "{sk}"
    );
    assert_eq!(
        check,
        item(&[
            ("pk", s("CERT#1234-5678-9012-3456")),
            ("checkedAt", s("2026-12-05T19:17:18.500+09:00")),
            ("channel", s("pdf")),
            ("result", s("valid")),
            ("ttl", n(now.timestamp() + RETENTION_SECS)),
        ])
    );
    let read: Check = from_item(check).unwrap();
    assert_eq!(read.channel, "pdf");
}

#[test]
fn a_corrupted_record_is_an_error() {
    let [meta, _, _] = issue_items(&record(), &request(), 0).unwrap();
    let corrupt = |name: &str, value: Option<AttributeValue>| {
        let mut bad = meta.clone();
        match value {
            Some(v) => bad.insert(name.to_owned(), v),
            None => bad.remove(name),
        };
        from_item::<Record>(bad)
    };
    for (name, value) in [
        ("type", Some(s("passport"))),
        ("status", Some(s("lost"))),
        ("issuedAt", Some(s("yesterday"))),
        ("issuedAt", Some(n(1))),
        ("ownerId", None),
        ("sha256", Some(AttributeValue::Bool(true))),
    ] {
        assert!(
            matches!(corrupt(name, value), Err(StoreError::Data(_))),
            "{name}"
        );
    }
}
