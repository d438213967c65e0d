//! Korean mobile numbers, stored in E.164.
//!
//! The rule is libphonenumber's for Korean mobile numbers (metadata 9.0.33,
//! territory `KR`, `mobile`): a national number of 9 or 10 digits matching
//! `1(?:05(?:[0-8]\d|9[0-6])|22[13]\d)\d{4,5}|1(?:0[0-46-9]|[16-9]\d|2[013-9])\d{6,7}`.
//! It is written out as a few digit comparisons instead of linking the
//! `phonenumber` crate, whose metadata for every country and regex engine were
//! about 1 MB of each function that checks a number (`login`, `alert-sms`). The
//! tests run the `phonenumber` crate beside this parser over every prefix and
//! the usual ways of writing a number, so an update of the metadata that changes
//! the rule shows up as a failing test.

use crate::http::Invalid;

/// A valid Korean mobile number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses a number in any usual form (`010-1234-5678`, `+82 10 1234 5678`,
    /// `01012345678`, `(010) 1234.5678`) and accepts it only if it is a Korean
    /// mobile number. Spaces, hyphens, dots and parentheses may separate the
    /// digits; anything else is refused.
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        national_number(input)
            .filter(|nsn| is_kr_mobile(nsn))
            .map(|nsn| Self(format!("+82{nsn}")))
            .ok_or_else(|| {
                Invalid::new(
                    "must be a Korean mobile number such as 010-1234-5678",
                    "010-1234-5678 형식의 휴대전화 번호여야 합니다",
                )
            })
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

/// The national significant number of `input`: its digits without the
/// separators, the country code `+82` and the trunk prefix `0` (which
/// `+82 010 …` also carries). `None` when anything else is in the way.
fn national_number(input: &str) -> Option<String> {
    if input.len() > 32 {
        return None;
    }
    let input = input.trim();
    let (international, rest) = match input.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, input),
    };
    let mut digits = String::with_capacity(rest.len());
    for c in rest.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' | '(' | ')' => {}
            _ => return None,
        }
    }
    let national = if international {
        digits.strip_prefix("82")?
    } else {
        &digits
    };
    Some(national.strip_prefix('0').unwrap_or(national).to_owned())
}

/// libphonenumber's `KR` mobile pattern (module docs), digit by digit.
fn is_kr_mobile(nsn: &str) -> bool {
    let d = nsn.as_bytes();
    if !matches!(d.len(), 9 | 10) || d[0] != b'1' {
        return false;
    }
    match (d[1], d[2]) {
        // 105(?:[0-8]\d|9[0-6])\d{4,5}
        (b'0', b'5') => d[3] != b'9' || d[4] <= b'6',
        // 10[0-46-9]\d{6,7} and 1[16-9]\d\d{6,7}
        (b'0' | b'1' | b'6'..=b'9', _) => true,
        // 122[13]\d\d{4,5}
        (b'2', b'2') => matches!(d[3], b'1' | b'3'),
        // 12[013-9]\d{6,7}
        (b'2', _) => true,
        _ => false,
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
            "010-1234-567a",
            "+1 010 1234 5678",
            "010\u{2013}1234\u{2013}5678",
            "１０１２３４５６７８",
        ] {
            assert!(PhoneNumber::parse(input).is_err(), "{input}");
        }
    }

    /// libphonenumber's verdict on `input`: the E.164 form if it is a Korean
    /// mobile number.
    fn libphonenumber(input: &str) -> Option<String> {
        use phonenumber::{Mode, Type, country::Id};
        let number = phonenumber::parse(Some(Id::KR), input).ok()?;
        let mobile = number.code().value() == 82
            && number.is_valid()
            && matches!(
                number.number_type(&phonenumber::metadata::DATABASE),
                Type::Mobile | Type::FixedLineOrMobile
            );
        mobile.then(|| number.format().mode(Mode::E164).to_string())
    }

    #[test]
    fn every_prefix_and_length_agrees_with_libphonenumber() {
        // GIVEN national numbers of 7 to 12 digits under every four-digit prefix
        // (and the first digits other than 1), written in the usual ways
        let mut seed = 0x2545_f491_u32;
        let mut filler = |n: usize| -> String {
            (0..n)
                .map(|_| {
                    seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    char::from(b'0' + (seed >> 24) as u8 % 10)
                })
                .collect()
        };
        let mut prefixes: Vec<String> = (1000..2000).map(|p| p.to_string()).collect();
        prefixes.extend((2..10).map(|p| format!("{p}000")));
        let mut checked = 0;
        let mut accepted = 0;
        for prefix in &prefixes {
            for len in 7..=12 {
                let nsn = format!("{prefix}{}", filler(len - 4));
                for input in [
                    format!("0{nsn}"),
                    format!("0{}-{}", &nsn[..2], &nsn[2..]),
                    format!("+82 {nsn}"),
                    format!("+82-0{nsn}"),
                    format!("({}) {}.{}", &nsn[..3], &nsn[3..6], &nsn[6..]),
                    nsn.clone(),
                ] {
                    // WHEN both parse it THEN they agree on whether it is a
                    // Korean mobile number and on its E.164 form
                    let ours = PhoneNumber::parse(&input).ok().map(|n| n.0);
                    assert_eq!(ours, libphonenumber(&input), "{input}");
                    checked += 1;
                    accepted += usize::from(ours.is_some());
                }
            }
        }
        assert!(
            accepted > 1_000 && checked - accepted > 10_000,
            "{accepted} of {checked}"
        );
    }

    #[test]
    fn masking_keeps_only_country_code_and_last_four() {
        assert_eq!(mask_phone("+821012345678"), "+82****5678");
    }
}
