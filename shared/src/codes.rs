//! Korean public codes the API speaks and their Korean names: provinces (the
//! 2-digit prefix of the administrative district code, used for alert regions
//! and officials' agencies) and banks (the 3-digit codes of the interbank
//! network, used for refunds).

/// Provinces by 2-digit code, with their official Korean names.
pub const PROVINCES: &[(&str, &str)] = &[
    ("11", "서울특별시"),
    ("26", "부산광역시"),
    ("27", "대구광역시"),
    ("28", "인천광역시"),
    ("29", "광주광역시"),
    ("30", "대전광역시"),
    ("31", "울산광역시"),
    ("36", "세종특별자치시"),
    ("41", "경기도"),
    ("43", "충청북도"),
    ("44", "충청남도"),
    ("46", "전라남도"),
    ("47", "경상북도"),
    ("48", "경상남도"),
    ("50", "제주특별자치도"),
    ("51", "강원특별자치도"),
    ("52", "전북특별자치도"),
];

/// Banks by 3-digit code (the common ones of the Korean interbank network).
pub const BANKS: &[(&str, &str)] = &[
    ("002", "KDB산업은행"),
    ("003", "IBK기업은행"),
    ("004", "KB국민은행"),
    ("007", "수협은행"),
    ("011", "NH농협은행"),
    ("012", "지역농축협"),
    ("020", "우리은행"),
    ("023", "SC제일은행"),
    ("027", "한국씨티은행"),
    ("031", "iM뱅크"),
    ("032", "부산은행"),
    ("034", "광주은행"),
    ("035", "제주은행"),
    ("037", "전북은행"),
    ("039", "경남은행"),
    ("045", "새마을금고"),
    ("048", "신협"),
    ("050", "저축은행"),
    ("071", "우체국"),
    ("081", "하나은행"),
    ("088", "신한은행"),
    ("089", "케이뱅크"),
    ("090", "카카오뱅크"),
    ("092", "토스뱅크"),
];

fn lookup(table: &'static [(&'static str, &'static str)], code: &str) -> Option<&'static str> {
    table
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, name)| *name)
}

/// The Korean name of province `code` (`11` -> 서울특별시).
pub fn province_name(code: &str) -> Option<&'static str> {
    lookup(PROVINCES, code)
}

/// The Korean name of bank `code` (`090` -> 카카오뱅크).
pub fn bank_name(code: &str) -> Option<&'static str> {
    lookup(BANKS, code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_well_formed() {
        for (table, len) in [(PROVINCES, 2), (BANKS, 3)] {
            let mut codes: Vec<&str> = table.iter().map(|(c, _)| *c).collect();
            assert!(
                codes
                    .iter()
                    .all(|c| c.len() == len && c.bytes().all(|b| b.is_ascii_digit()))
            );
            codes.sort_unstable();
            codes.dedup();
            assert_eq!(codes.len(), table.len());
        }
    }

    #[test]
    fn names_are_found_by_code() {
        assert_eq!(province_name("50"), Some("제주특별자치도"));
        assert_eq!(bank_name("004"), Some("KB국민은행"));
        assert_eq!(province_name("99"), None);
    }
}
