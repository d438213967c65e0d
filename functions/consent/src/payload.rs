//! The bytes a citizen signs: the RFC 8785 (JCS) canonical JSON of the
//! consent's fields, made once when the official asks and stored, so the
//! signature is checked over exactly what was shown.
//!
//! JCS sorts member names by their UTF-16 code units, writes strings with the
//! minimal escapes and numbers as ECMAScript does; `serde_json_canonicalizer`
//! implements it (its number formatting is ECMAScript's), checked here
//! against the examples of RFC 8785 itself.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// The fields api.md puts in `signingPayload`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SigningFields<'a> {
    /// The consent.
    pub consent_id: &'a str,
    /// The citizen asked.
    pub citizen_id: &'a str,
    /// The official asking.
    pub official_id: &'a str,
    /// The official's agency (from their token).
    pub agency: &'a str,
    /// The petition's id.
    pub petition_id: &'a str,
    /// The petition's name.
    pub petition_name: &'a str,
    /// The document codes, in the order asked.
    pub documents: &'a [String],
    /// Why.
    pub purpose: &'a str,
    /// When asked (RFC 3339).
    pub requested_at: &'a str,
    /// When it ends (RFC 3339).
    pub expires_at: &'a str,
}

/// Why a value has no canonical form.
#[derive(Debug, thiserror::Error)]
#[error("not canonicalisable: {0}")]
pub struct CanonicalError(String);

/// The canonical JSON of any serialisable value (RFC 8785).
pub fn canonical<T: Serialize>(value: &T) -> Result<String, CanonicalError> {
    serde_json_canonicalizer::to_string(value).map_err(|e| CanonicalError(e.to_string()))
}

/// The signing payload of a consent.
pub fn signing_payload(fields: &SigningFields<'_>) -> Result<String, CanonicalError> {
    canonical(fields)
}

/// The SHA-256 of the payload's UTF-8 bytes, lowercase hex (in receipts).
pub fn sha256_hex(payload: &str) -> String {
    data_encoding::HEXLOWER.encode(&Sha256::digest(payload.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn jcs(text: &str) -> String {
        let value: Value = serde_json::from_str(text).unwrap();
        canonical(&value).unwrap()
    }

    /// RFC 8785 section 3.2.4, the complete example.
    #[test]
    fn the_rfc_example_canonicalises_as_published() {
        let input = r#"{
            "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
            "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
            "literals": [null, true, false]
        }"#;
        assert_eq!(
            jcs(input),
            r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#
        );
    }

    /// RFC 8785 section 3.2.3: names sorted by UTF-16 code units, so the
    /// emoji (a surrogate pair, 0xD83D...) sorts before U+FB33.
    #[test]
    fn names_sort_by_utf16_code_units() {
        let input = r#"{"\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh",
            "1": "One", "\ud83d\ude00": "Emoji: Grinning Face", "\u0080": "Control",
            "\u00f6": "Latin Small Letter O With Diaeresis"}"#;
        let canonical = jcs(input);
        let value: Value = serde_json::from_str(&canonical).unwrap();
        let order: Vec<&str> = canonical
            .split("\":\"")
            .skip(1)
            .map(|v| v.split('"').next().unwrap())
            .collect();
        assert_eq!(
            order,
            [
                "Carriage Return",
                "One",
                "Control",
                "Latin Small Letter O With Diaeresis",
                "Euro Sign",
                "Emoji: Grinning Face",
                "Hebrew Letter Dalet With Dagesh"
            ]
        );
        assert_eq!(value.as_object().unwrap().len(), 7);
    }

    /// RFC 8785 appendix B: IEEE 754 doubles and their canonical text.
    #[test]
    fn numbers_follow_the_appendix_b_table() {
        for (bits, text) in [
            (0x0000_0000_0000_0000_u64, "0"),
            (0x8000_0000_0000_0000, "0"),
            (0x0000_0000_0000_0001, "5e-324"),
            (0x8000_0000_0000_0001, "-5e-324"),
            (0x7fef_ffff_ffff_ffff, "1.7976931348623157e+308"),
            (0xffef_ffff_ffff_ffff, "-1.7976931348623157e+308"),
            (0x4340_0000_0000_0000, "9007199254740992"),
            (0xc340_0000_0000_0000, "-9007199254740992"),
            (0x4430_0000_0000_0000, "295147905179352830000"),
            (0x44b5_2d02_c7e1_4af5, "9.999999999999997e+22"),
            (0x44b5_2d02_c7e1_4af6, "1e+23"),
            (0x44b5_2d02_c7e1_4af7, "1.0000000000000001e+23"),
            (0x444b_1ae4_d6e2_ef4e, "999999999999999700000"),
            (0x444b_1ae4_d6e2_ef4f, "999999999999999900000"),
            (0x444b_1ae4_d6e2_ef50, "1e+21"),
            (0x3eb0_c6f7_a0b5_ed8c, "9.999999999999997e-7"),
            (0x3eb0_c6f7_a0b5_ed8d, "0.000001"),
            (0x41b3_de43_5555_5553, "333333333.3333332"),
            (0x41b3_de43_5555_5554, "333333333.33333325"),
            (0x41b3_de43_5555_5555, "333333333.3333333"),
            (0x41b3_de43_5555_5556, "333333333.3333334"),
            (0x41b3_de43_5555_5557, "333333333.33333343"),
            (0xbecb_f647_612f_3696, "-0.0000033333333333333333"),
            (0x4314_3ff3_c1cb_0959, "1424953923781206.2"),
        ] {
            assert_eq!(canonical(&f64::from_bits(bits)).unwrap(), text, "{bits:#x}");
        }
    }

    #[test]
    fn the_signing_payload_holds_exactly_the_fields_sorted_without_whitespace() {
        let documents = ["land-register".to_owned(), "building-register".to_owned()];
        let payload = signing_payload(&SigningFields {
            consent_id: "c1",
            citizen_id: "u1",
            official_id: "o1",
            agency: "11",
            petition_id: "P-1",
            petition_name: "건축 허가 \"신청\"",
            documents: &documents,
            purpose: "확인",
            requested_at: "2026-12-05T00:00:00Z",
            expires_at: "2026-12-12T00:00:00Z",
        })
        .unwrap();
        assert_eq!(
            payload,
            r#"{"agency":"11","citizenId":"u1","consentId":"c1","documents":["land-register","building-register"],"expiresAt":"2026-12-12T00:00:00Z","officialId":"o1","petitionId":"P-1","petitionName":"건축 허가 \"신청\"","purpose":"확인","requestedAt":"2026-12-05T00:00:00Z"}"#
        );
        assert_eq!(sha256_hex("abc").len(), 64);
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
