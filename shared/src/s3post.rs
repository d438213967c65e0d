//! Presigned S3 POST uploads (browser-based uploads, AWS Signature Version 4),
//! which the AWS SDK for Rust does not offer: a policy document whose
//! conditions S3 itself enforces (the exact key, the `Content-Type`, a
//! `content-length-range`, the expiry), signed with a SigV4 signing key, and
//! the form fields a client posts with the file.
//!
//! Checked against the worked example AWS publishes as a test suite for
//! signature code ("Example: Browser-Based Upload using HTTP POST (Using AWS
//! Signature Version 4)", S3 API reference).

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use data_encoding::{BASE64, HEXLOWER};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

/// The signing algorithm.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// AWS credentials to sign with (never logged: `Debug` hides the secret).
#[derive(Clone)]
pub struct Credentials {
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
    /// Session token of temporary credentials (Lambda's role has one).
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// What one upload may be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// The bucket.
    pub bucket: String,
    /// The exact object key.
    pub key: String,
    /// The exact `Content-Type`.
    pub content_type: String,
    /// Smallest size in bytes.
    pub min_bytes: u64,
    /// Largest size in bytes.
    pub max_bytes: u64,
}

/// A signed upload: where to POST, and the form fields to send before the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedPost {
    /// The bucket's URL.
    pub url: String,
    /// Form fields, `file` last (not included).
    pub fields: BTreeMap<String, String>,
    /// When the policy expires.
    pub expires_at: DateTime<Utc>,
}

/// The SigV4 signing key of `secret` for `date` (`YYYYMMDD`), `region` and
/// `service`.
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

/// The hex signature of `string_to_sign` (for POST: the base64 policy).
pub fn signature(key: &[u8; 32], string_to_sign: &str) -> String {
    HEXLOWER.encode(&hmac(key, string_to_sign.as_bytes()))
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// The policy document of `upload` (what S3 checks the form against).
pub fn policy(
    upload: &Upload,
    credential: &str,
    amz_date: &str,
    session_token: Option<&str>,
    expires_at: DateTime<Utc>,
) -> Value {
    let mut conditions = vec![
        json!({"bucket": upload.bucket}),
        json!({"key": upload.key}),
        json!({"Content-Type": upload.content_type}),
        json!(["content-length-range", upload.min_bytes, upload.max_bytes]),
        json!({"x-amz-credential": credential}),
        json!({"x-amz-algorithm": ALGORITHM}),
        json!({"x-amz-date": amz_date}),
    ];
    if let Some(token) = session_token {
        conditions.push(json!({"x-amz-security-token": token}));
    }
    json!({
        "expiration": expires_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "conditions": conditions,
    })
}

/// Signs `upload` at `now` for `valid_secs`, to be posted to `url` (the
/// bucket's endpoint).
pub fn presign(
    upload: &Upload,
    credentials: &Credentials,
    region: &str,
    url: &str,
    now: DateTime<Utc>,
    valid_secs: i64,
) -> PresignedPost {
    let date = now.format("%Y%m%d").to_string();
    let amz_date = now.format("%Y%m%dT%H%M%SZ").to_string();
    let credential = format!(
        "{}/{date}/{region}/s3/aws4_request",
        credentials.access_key_id
    );
    let expires_at = now + chrono::Duration::seconds(valid_secs);
    let document = policy(
        upload,
        &credential,
        &amz_date,
        credentials.session_token.as_deref(),
        expires_at,
    );
    let encoded = BASE64.encode(document.to_string().as_bytes());
    let key = signing_key(&credentials.secret_access_key, &date, region, "s3");
    let mut fields = BTreeMap::from([
        ("key".to_owned(), upload.key.clone()),
        ("Content-Type".to_owned(), upload.content_type.clone()),
        ("x-amz-credential".to_owned(), credential),
        ("x-amz-algorithm".to_owned(), ALGORITHM.to_owned()),
        ("x-amz-date".to_owned(), amz_date),
        ("x-amz-signature".to_owned(), signature(&key, &encoded)),
        ("policy".to_owned(), encoded),
    ]);
    if let Some(token) = &credentials.session_token {
        fields.insert("x-amz-security-token".to_owned(), token.clone());
    }
    PresignedPost {
        url: url.to_owned(),
        fields,
        expires_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's published example: the policy, with CRLF line ends as published.
    fn aws_example_policy() -> String {
        [
            r#"{ "expiration": "2015-12-30T12:00:00.000Z","#,
            r#"  "conditions": ["#,
            r#"    {"bucket": "sigv4examplebucket"},"#,
            r#"    ["starts-with", "$key", "user/user1/"],"#,
            r#"    {"acl": "public-read"},"#,
            r#"    {"success_action_redirect": "http://sigv4examplebucket.s3.amazonaws.com/successful_upload.html"},"#,
            r#"    ["starts-with", "$Content-Type", "image/"],"#,
            r#"    {"x-amz-meta-uuid": "14365123651274"},"#,
            r#"    {"x-amz-server-side-encryption": "AES256"},"#,
            r#"    ["starts-with", "$x-amz-meta-tag", ""],"#,
            "",
            r#"    {"x-amz-credential": "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request"},"#,
            r#"    {"x-amz-algorithm": "AWS4-HMAC-SHA256"},"#,
            r#"    {"x-amz-date": "20151229T000000Z" }"#,
            "  ]",
            "}",
        ]
        .join("\r\n")
    }

    #[test]
    fn the_aws_published_example_signs_to_its_published_signature() {
        // GIVEN the published policy, its published base64 form (start and end)
        let encoded = BASE64.encode(aws_example_policy().as_bytes());
        assert!(encoded.starts_with(
            "eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7ImJ1Y2tldCI6ICJzaWd2NGV4YW1wbGVidWNrZXQifSwNCiAg"
        ));
        assert!(encoded.ends_with(
            "IkFXUzQtSE1BQy1TSEEyNTYifSwNCiAgICB7IngtYW16LWRhdGUiOiAiMjAxNTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9"
        ));
        // WHEN it is signed with the example credentials and scope
        let key = signing_key(
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "20151229",
            "us-east-1",
            "s3",
        );
        // THEN the signature is the one AWS publishes
        assert_eq!(
            signature(&key, &encoded),
            "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e"
        );
    }

    #[test]
    fn a_presigned_post_holds_the_exact_key_type_size_range_and_expiry() {
        let upload = Upload {
            bucket: "reports".into(),
            key: "drafts/r-1/p-1".into(),
            content_type: "image/jpeg".into(),
            min_bytes: 1,
            max_bytes: 10 * 1024 * 1024,
        };
        let credentials = Credentials {
            access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            session_token: Some("token".into()),
        };
        let now = DateTime::parse_from_rfc3339("2026-12-04T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let post = presign(
            &upload,
            &credentials,
            "ap-northeast-2",
            "https://reports.s3.ap-northeast-2.amazonaws.com",
            now,
            900,
        );
        // The policy read back from the form says what S3 will enforce
        let policy: Value =
            serde_json::from_slice(&BASE64.decode(post.fields["policy"].as_bytes()).unwrap())
                .unwrap();
        assert_eq!(policy["expiration"], "2026-12-04T09:15:00.000Z");
        let conditions = policy["conditions"].as_array().unwrap();
        assert!(conditions.contains(&json!({"key": "drafts/r-1/p-1"})));
        assert!(conditions.contains(&json!({"Content-Type": "image/jpeg"})));
        assert!(conditions.contains(&json!(["content-length-range", 1, 10485760])));
        assert!(conditions.contains(&json!({"x-amz-security-token": "token"})));
        assert_eq!(
            post.fields["x-amz-credential"],
            "AKIAIOSFODNN7EXAMPLE/20261204/ap-northeast-2/s3/aws4_request"
        );
        // And the signature is over exactly that policy
        let key = signing_key(
            &credentials.secret_access_key,
            "20261204",
            "ap-northeast-2",
            "s3",
        );
        assert_eq!(
            post.fields["x-amz-signature"],
            signature(&key, &post.fields["policy"])
        );
        assert!(!format!("{credentials:?}").contains("EXAMPLEKEY"));
    }
}
