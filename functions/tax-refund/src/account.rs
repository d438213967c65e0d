//! The account a refund is paid to, parsed into types at the edge: a known
//! bank, an account number of 10 to 16 digits, and a holder who must be the
//! citizen (refunds go only to the citizen's own account).
//!
//! The number is secret: [`AccountNumber`] shows only its masked form in
//! `Debug` and `Display`, so a log line or an error message cannot carry it
//! by accident; [`AccountNumber::digits`] is the one way to the digits (for
//! encryption before it is stored).

use std::fmt;

use shared::http::Invalid;

/// A bank of the Korean interbank network, by its 3-digit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BankCode(&'static str);

impl BankCode {
    /// Parses a code of `shared::codes::BANKS`.
    pub fn parse(code: &str) -> Result<Self, Invalid> {
        shared::codes::BANKS
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(c, _)| BankCode(c))
            .ok_or_else(|| {
                Invalid::new(
                    "is not a known 3-digit bank code (for example 004 KB국민, 088 신한, 090 카카오뱅크)",
                    "알 수 없는 은행 코드입니다 (예: 004 KB국민, 088 신한, 090 카카오뱅크)",
                )
            })
    }

    /// The code.
    pub fn code(self) -> &'static str {
        self.0
    }

    /// The bank's Korean name.
    pub fn name(self) -> &'static str {
        shared::codes::bank_name(self.0).unwrap_or(self.0)
    }
}

/// An account number: 10 to 16 digits (hyphens, as banks print them, are
/// dropped).
#[derive(Clone, PartialEq, Eq)]
pub struct AccountNumber(String);

impl AccountNumber {
    /// Parses what a citizen typed.
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let trimmed = input.trim();
        let well_formed = !trimmed.starts_with('-')
            && !trimmed.ends_with('-')
            && !trimmed.contains("--")
            && trimmed.chars().all(|c| c.is_ascii_digit() || c == '-');
        let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
        if well_formed && (10..=16).contains(&digits.len()) {
            Ok(Self(digits))
        } else {
            Err(Invalid::new(
                "must be 10 to 16 digits (hyphens allowed between them)",
                "숫자 10~16자리여야 합니다 (숫자 사이의 하이픈은 허용)",
            ))
        }
    }

    /// The digits, for encryption; never log them.
    pub fn digits(&self) -> &str {
        &self.0
    }

    /// The first four and last four digits, the rest as `*`
    /// (`1234******5678`): what responses show.
    pub fn masked(&self) -> String {
        let n = self.0.len();
        self.0
            .chars()
            .enumerate()
            .map(|(i, c)| if i < 4 || i >= n - 4 { c } else { '*' })
            .collect()
    }
}

impl fmt::Debug for AccountNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountNumber({})", self.masked())
    }
}

impl fmt::Display for AccountNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

/// Why an account holder is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HolderError {
    /// Empty or over 40 characters (400).
    Invalid(Invalid),
    /// Not the citizen's registered name (422 `refund.account_holder_mismatch`).
    NotTheCitizen,
}

/// Checks the form of an account holder's name: 1 to 40 characters, not blank.
pub fn parse_holder(holder: &str) -> Result<&str, Invalid> {
    let trimmed = holder.trim();
    if trimmed.is_empty() || holder.chars().count() > 40 {
        Err(Invalid::new(
            "must be the account holder's name, 1 to 40 characters",
            "예금주 이름이어야 합니다 (1~40자)",
        ))
    } else {
        Ok(trimmed)
    }
}

/// Checks that `holder` names the citizen registered as `registered`, ignoring
/// spaces (banks print `홍 길 동` and `홍길동` alike) and ASCII case.
pub fn check_holder(holder: &str, registered: &str) -> Result<(), HolderError> {
    let normal = |s: &str| -> String {
        s.chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect()
    };
    parse_holder(holder).map_err(HolderError::Invalid)?;
    if normal(holder) == normal(registered) {
        Ok(())
    } else {
        Err(HolderError::NotTheCitizen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_bank_codes_parse_and_others_are_refused() {
        assert_eq!(BankCode::parse("090").unwrap().name(), "카카오뱅크");
        assert_eq!(BankCode::parse("004").unwrap().code(), "004");
        for bad in ["999", "90", "0900", "", "KB"] {
            assert!(BankCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn account_numbers_take_10_to_16_digits_with_hyphens_between() {
        assert_eq!(
            AccountNumber::parse("3333-01-2345678").unwrap().digits(),
            "3333012345678"
        );
        assert!(AccountNumber::parse("1234567890").is_ok());
        assert!(AccountNumber::parse("1234567890123456").is_ok());
        for bad in [
            "123456789",
            "12345678901234567",
            "-1234567890",
            "1234567890-",
            "12--34567890",
            "1234 567890",
            "12345abcde",
            "",
        ] {
            assert!(AccountNumber::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_account_number_shows_itself_only_masked() {
        let n = AccountNumber::parse("1234-5678-9012-3456").unwrap();
        assert_eq!(n.masked(), "1234********3456");
        assert_eq!(format!("{n}"), "1234********3456");
        assert_eq!(format!("{n:?}"), "AccountNumber(1234********3456)");
        assert!(!format!("{n:?}{n}").contains("56789"));
        assert_eq!(
            AccountNumber::parse("1234567890").unwrap().masked(),
            "1234**7890"
        );
    }

    #[test]
    fn the_holder_must_be_the_citizen_whatever_the_spacing() {
        assert_eq!(check_holder("이순신", "이순신"), Ok(()));
        assert_eq!(check_holder(" 이 순 신 ", "이순신"), Ok(()));
        assert_eq!(check_holder("Hong GilDong", "hong gildong"), Ok(()));
        assert_eq!(
            check_holder("홍길동", "이순신"),
            Err(HolderError::NotTheCitizen)
        );
        assert!(matches!(
            check_holder("  ", "이순신"),
            Err(HolderError::Invalid(_))
        ));
        assert!(matches!(
            check_holder(&"가".repeat(41), "이순신"),
            Err(HolderError::Invalid(_))
        ));
    }
}
