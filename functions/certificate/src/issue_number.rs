//! Issue numbers: 16 digits printed `NNNN-NNNN-NNNN-NNNN`, the last a Luhn check
//! digit, so a mistyped number is caught before any lookup.

use std::fmt;

use shared::http::Invalid;

/// A well-formed issue number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IssueNumber([u8; 16]);

impl IssueNumber {
    /// A fresh random issue number (15 random digits and the check digit).
    pub fn generate() -> Self {
        let mut digits = [0u8; 16];
        let random = shared::random::bytes::<32>();
        let mut used = 0;
        for &b in random.iter() {
            // Rejection sampling keeps the digits uniform.
            if b < 250 && used < 15 {
                digits[used] = b % 10;
                used += 1;
            }
        }
        while used < 15 {
            let b = shared::random::bytes::<1>()[0];
            if b < 250 {
                digits[used] = b % 10;
                used += 1;
            }
        }
        // The first digit is never 0, so the number never looks shorter.
        if digits[0] == 0 {
            digits[0] = 1 + digits[1] % 9;
        }
        digits[15] = check_digit(&digits[..15]);
        IssueNumber(digits)
    }

    /// Parses `NNNN-NNNN-NNNN-NNNN` (or the 16 digits without hyphens) and
    /// checks the check digit.
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        let bad = || {
            Invalid::new(
                "must be 16 digits written NNNN-NNNN-NNNN-NNNN",
                "NNNN-NNNN-NNNN-NNNN 형식의 16자리 숫자여야 합니다",
            )
        };
        let compact: Vec<u8> = if text.len() == 19 {
            let bytes = text.as_bytes();
            if [4, 9, 14].iter().any(|&i| bytes[i] != b'-') {
                return Err(bad());
            }
            bytes.iter().copied().filter(|&b| b != b'-').collect()
        } else {
            text.bytes().collect()
        };
        if compact.len() != 16 || !compact.iter().all(u8::is_ascii_digit) {
            return Err(bad());
        }
        let mut digits = [0u8; 16];
        for (d, c) in digits.iter_mut().zip(compact) {
            *d = c - b'0';
        }
        if check_digit(&digits[..15]) != digits[15] {
            return Err(Invalid::new(
                "has a wrong check digit (mistyped?)",
                "검증 숫자가 맞지 않습니다 (잘못 입력하셨나요?)",
            ));
        }
        Ok(IssueNumber(digits))
    }
}

impl fmt::Display for IssueNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 && i % 4 == 0 {
                f.write_str("-")?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

/// The Luhn check digit of `payload` (digits 0-9).
fn check_digit(payload: &[u8]) -> u8 {
    let sum: u32 = payload
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 0 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    u8::try_from((10 - sum % 10) % 10).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_numbers_are_formatted_and_parse_back() {
        for _ in 0..200 {
            let n = IssueNumber::generate();
            let text = n.to_string();
            assert_eq!(text.len(), 19);
            assert!(!text.starts_with('0'));
            assert_eq!(IssueNumber::parse(&text).unwrap(), n);
            assert_eq!(IssueNumber::parse(&text.replace('-', "")).unwrap(), n);
        }
    }

    #[test]
    fn the_check_digit_is_luhn() {
        // 4111-1111-1111-1111 is the classic Luhn-valid test number.
        assert!(IssueNumber::parse("4111-1111-1111-1111").is_ok());
        assert!(IssueNumber::parse("4111-1111-1111-1112").is_err());
    }

    #[test]
    fn any_single_digit_change_is_caught() {
        let n = IssueNumber::generate().to_string();
        for i in (0..19).filter(|i| ![4, 9, 14].contains(i)) {
            let mut bytes = n.clone().into_bytes();
            bytes[i] = b'0' + (bytes[i] - b'0' + 1) % 10;
            let changed = String::from_utf8(bytes).unwrap();
            assert!(IssueNumber::parse(&changed).is_err(), "{changed}");
        }
    }

    #[test]
    fn malformed_numbers_are_refused() {
        for bad in [
            "",
            "1234",
            "1234-5678-9012-345",
            "1234_5678_9012_3456",
            "12345-678-9012-3456",
            "abcd-efgh-ijkl-mnop",
            "١٢٣٤-5678-9012-3456",
        ] {
            assert!(IssueNumber::parse(bad).is_err(), "{bad}");
        }
    }
}
