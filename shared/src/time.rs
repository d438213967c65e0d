//! Wall-clock time as the API shows it: RFC 3339 with offset, and Unix seconds.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};

/// Seconds since the Unix epoch, now.
pub fn now_secs() -> i64 {
    Utc::now().timestamp()
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// `secs` (Unix seconds) as RFC 3339 in UTC, e.g. `2026-11-28T23:56:31Z`.
pub fn rfc3339(secs: i64) -> String {
    Utc.timestamp_opt(secs, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_with_offset() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(1_795_910_191), "2026-11-28T23:56:31Z");
    }
}
