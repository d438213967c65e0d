//! Mobile numbers for tests: each test texts its own number, because tests
//! share the emulator's SMS log.

/// A Korean mobile number no other test uses: as typed, and in E.164.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestPhone {
    /// `010-XXXX-XXXX`.
    pub dashed: String,
    /// `+8210XXXXXXXX`.
    pub e164: String,
}

/// First digits after `010` that libphonenumber's Korean mobile pattern accepts
/// for any continuation (`0105` is valid only before some digits, so it is left
/// out rather than risking a number the login function refuses).
const FIRST_DIGITS: [u8; 9] = *b"012346789";

/// A fresh random number that [`shared::phone::PhoneNumber::parse`] accepts.
pub fn unique() -> TestPhone {
    let random = shared::random::bytes::<8>();
    let digits: String = random
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if i == 0 {
                char::from(FIRST_DIGITS[usize::from(*b) % FIRST_DIGITS.len()])
            } else {
                char::from(b'0' + b % 10)
            }
        })
        .collect();
    TestPhone {
        dashed: format!("010-{}-{}", &digits[..4], &digits[4..]),
        e164: format!("+8210{digits}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_generated_number_is_a_valid_korean_mobile_number() {
        for _ in 0..5_000 {
            let phone = unique();
            let parsed = shared::phone::PhoneNumber::parse(&phone.dashed)
                .unwrap_or_else(|e| panic!("{}: {e:?}", phone.dashed));
            assert_eq!(parsed.e164(), phone.e164);
        }
    }
}
