//! Typed values parsed from request bodies at the edge: invalid input never
//! reaches the domain.

use p256::ecdsa::VerifyingKey;
use p256::pkcs8::DecodePublicKey;
use shared::http::Invalid;

/// Lengths (in characters) of a password.
pub const PASSWORD_CHARS: std::ops::RangeInclusive<usize> = 12..=128;

const COMMON_PASSWORDS: &str = include_str!("../data/common-passwords.txt");

/// A login id: 4-32 of `[a-z0-9._-]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginId(String);

impl LoginId {
    /// Parses a login id.
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let ok = (4..=32).contains(&s.len())
            && s.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
            });
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(Invalid::new(
                "must be 4-32 characters of a-z, 0-9, '.', '_' and '-'",
                "영문 소문자, 숫자, '.', '_', '-' 로 된 4-32자여야 합니다",
            ))
        }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password that passed the rules of api.md.
#[derive(Clone)]
pub struct NewPassword(String);

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

/// Why a password is weak (400 `auth.weak_password`).
pub fn weak_password(s: &str, login_id: Option<&str>) -> Option<Invalid> {
    let chars = s.chars().count();
    if !PASSWORD_CHARS.contains(&chars) {
        return Some(Invalid::new(
            "must be 12-128 characters",
            "12-128자여야 합니다",
        ));
    }
    let lower = s.to_lowercase();
    let common = COMMON_PASSWORDS
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .any(|l| l == lower);
    let first = s.chars().next();
    let one_char = s.chars().all(|c| Some(c) == first);
    if common || one_char {
        return Some(Invalid::new(
            "is too common; choose a less predictable password",
            "너무 흔한 비밀번호입니다. 추측하기 어려운 비밀번호를 사용하세요",
        ));
    }
    if let Some(id) = login_id
        && lower.contains(&id.to_lowercase())
    {
        return Some(Invalid::new(
            "must not contain the loginId",
            "아이디를 포함할 수 없습니다",
        ));
    }
    None
}

impl NewPassword {
    /// Accepts a password without checking its strength (strength is answered
    /// separately as `auth.weak_password`).
    pub fn unchecked(s: &str) -> Self {
        Self(s.to_owned())
    }

    /// The password.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A person's name: 1-50 characters, not blank.
pub fn name(s: &str) -> Result<String, Invalid> {
    let trimmed = s.trim();
    if (1..=50).contains(&trimmed.chars().count()) && !trimmed.chars().any(char::is_control) {
        Ok(trimmed.to_owned())
    } else {
        Err(Invalid::new("must be 1-50 characters", "1-50자여야 합니다"))
    }
}

/// A device name: 1-64 characters, not blank.
pub fn device_name(s: &str) -> Result<String, Invalid> {
    let trimmed = s.trim();
    if (1..=64).contains(&trimmed.chars().count()) && !trimmed.chars().any(char::is_control) {
        Ok(trimmed.to_owned())
    } else {
        Err(Invalid::new("must be 1-64 characters", "1-64자여야 합니다"))
    }
}

/// A device public key: base64url of a P-256 SubjectPublicKeyInfo (DER).
pub fn device_public_key(s: &str) -> Result<(VerifyingKey, String), Invalid> {
    let invalid = || {
        Invalid::new(
            "must be base64url of a P-256 SubjectPublicKeyInfo (DER)",
            "P-256 SubjectPublicKeyInfo(DER)의 base64url 이어야 합니다",
        )
    };
    let der = data_encoding::BASE64URL_NOPAD
        .decode(s.trim_end_matches('=').as_bytes())
        .map_err(|_| invalid())?;
    let key = VerifyingKey::from_public_key_der(&der).map_err(|_| invalid())?;
    Ok((key, data_encoding::BASE64URL_NOPAD.encode(&der)))
}

/// An unlock pattern: 4-9 distinct cells of a 3x3 grid numbered 0-8, in order.
#[derive(Clone, PartialEq, Eq)]
pub struct Pattern(Vec<u8>);

impl std::fmt::Debug for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pattern(***)")
    }
}

impl Pattern {
    /// Parses a list of cells.
    pub fn parse(cells: &[i64]) -> Result<Self, Invalid> {
        let invalid = || {
            Invalid::new(
                "must be 4-9 distinct cells numbered 0-8",
                "0-8 번호의 서로 다른 칸 4-9개여야 합니다",
            )
        };
        if !(4..=9).contains(&cells.len()) {
            return Err(invalid());
        }
        let mut seen = [false; 9];
        let mut out = Vec::with_capacity(cells.len());
        for &c in cells {
            let cell = u8::try_from(c)
                .ok()
                .filter(|c| *c <= 8)
                .ok_or_else(invalid)?;
            if std::mem::replace(&mut seen[usize::from(cell)], true) {
                return Err(invalid());
            }
            out.push(cell);
        }
        Ok(Self(out))
    }

    /// The canonical text that is hashed, e.g. `0-1-2-5`.
    pub fn canonical(&self) -> String {
        self.0
            .iter()
            .map(u8::to_string)
            .collect::<Vec<_>>()
            .join("-")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_id_rules() {
        assert!(LoginId::parse("citizen1").is_ok());
        assert!(LoginId::parse("a.b_c-d").is_ok());
        for bad in ["abc", "Citizen1", "한글아이디", "a b c d", &"x".repeat(33)] {
            assert!(LoginId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn password_rules() {
        assert!(weak_password("Citizen1-pocketgov", Some("citizen2")).is_none());
        assert!(weak_password("short", None).is_some());
        assert!(weak_password(&"x".repeat(129), None).is_some());
        assert!(
            weak_password("Password1234", None).is_some(),
            "common, case-insensitive"
        );
        assert!(weak_password("zzzzzzzzzzzzzz", None).is_some());
        assert!(weak_password("my-citizen1-secret", Some("citizen1")).is_some());
        assert!(
            weak_password("비밀번호는열두글자이상입니다", None).is_none(),
            "characters, not bytes"
        );
    }

    #[test]
    fn pattern_rules() {
        assert_eq!(
            Pattern::parse(&[0, 1, 2, 5]).unwrap().canonical(),
            "0-1-2-5"
        );
        for bad in [
            &[0, 1, 2][..],
            &[0, 1, 2, 2],
            &[0, 1, 2, 9],
            &[0, 1, 2, -1],
            &[0, 1, 2, 3, 4, 5, 6, 7, 8, 0],
        ] {
            assert!(Pattern::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn device_key_must_be_p256_spki() {
        use p256::pkcs8::EncodePublicKey;
        let key = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
        let der = key.verifying_key().to_public_key_der().unwrap();
        let b64 = data_encoding::BASE64URL_NOPAD.encode(der.as_bytes());
        assert!(device_public_key(&b64).is_ok());
        assert!(device_public_key("AAAA").is_err());
        assert!(device_public_key("not base64!").is_err());
    }
}
