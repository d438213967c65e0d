//! Korean mobile numbers, parsed with libphonenumber's metadata (the `phonenumber`
//! crate) rather than hand-written rules, stored in E.164.

use phonenumber::{Mode, Type, country::Id};

use crate::http::Invalid;

/// A valid Korean mobile number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses a number in any usual form (`010-1234-5678`, `+82 10 1234 5678`,
    /// `01012345678`) and accepts it only if it is a Korean mobile number.
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let invalid = || {
            Invalid::new(
                "must be a Korean mobile number such as 010-1234-5678",
                "010-1234-5678 형식의 휴대전화 번호여야 합니다",
            )
        };
        if input.len() > 32 {
            return Err(invalid());
        }
        let number = phonenumber::parse(Some(Id::KR), input).map_err(|_| invalid())?;
        let is_kr_mobile = number.code().value() == 82
            && number.is_valid()
            && matches!(
                number.number_type(&phonenumber::metadata::DATABASE),
                Type::Mobile | Type::FixedLineOrMobile
            );
        if !is_kr_mobile {
            return Err(invalid());
        }
        Ok(Self(number.format().mode(Mode::E164).to_string()))
    }

    /// Wraps a number already stored in E.164 (read back from our own table).
    pub fn from_stored(e164: String) -> Self {
        Self(e164)
    }

    /// The number in E.164, e.g. `+821012345678`.
    pub fn e164(&self) -> &str {
        &self.0
    }

    /// The number with the middle digits hidden, safe for logs: `+82****5678`.
    pub fn masked(&self) -> String {
        mask_phone(&self.0)
    }
}

/// Hides all but the country code and the last four digits of a phone number.
pub fn mask_phone(number: &str) -> String {
    let digits: Vec<char> = number.chars().collect();
    if digits.len() <= 7 {
        return "****".to_owned();
    }
    let head: String = digits[..3].iter().collect();
    let tail: String = digits[digits.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usual_korean_forms_become_e164() {
        for input in [
            "010-1234-5678",
            "01012345678",
            "+82 10 1234 5678",
            "+82-10-1234-5678",
            "010 1234 5678",
        ] {
            assert_eq!(
                PhoneNumber::parse(input).unwrap().e164(),
                "+821012345678",
                "{input}"
            );
        }
    }

    #[test]
    fn landlines_foreign_and_garbage_are_refused() {
        for input in [
            "02-123-4567",
            "+1 415 555 0100",
            "hello",
            "",
            "010-12",
            "+82 2 1234 5678",
        ] {
            assert!(PhoneNumber::parse(input).is_err(), "{input}");
        }
    }

    #[test]
    fn masking_keeps_only_country_code_and_last_four() {
        assert_eq!(mask_phone("+821012345678"), "+82****5678");
    }
}
