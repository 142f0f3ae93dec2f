//! Wall-clock helpers: Unix milliseconds, and the two ways the kit writes a
//! time in UTC (run identifiers, and dates in reports and messages).

use std::time::{SystemTime, UNIX_EPOCH};

use time::{OffsetDateTime, PrimitiveDateTime};

pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Year, month, day, hour, minute and second in UTC of a Unix time in
/// seconds; past the year 9999, which no clock reading reaches, the last
/// second of that year.
fn utc_fields(unix_s: u64) -> (i32, u8, u8, u8, u8, u8) {
    let t = i64::try_from(unix_s)
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .unwrap_or_else(|| PrimitiveDateTime::MAX.assume_utc());
    let (hour, minute, second) = t.to_hms();
    (t.year(), t.month().into(), t.day(), hour, minute, second)
}

/// `YYYYMMDD-HHMMSS` in UTC for a Unix time in seconds.
pub fn utc_stamp(unix_s: u64) -> String {
    let (y, mo, d, h, mi, s) = utc_fields(unix_s);
    format!("{y:04}{mo:02}{d:02}-{h:02}{mi:02}{s:02}")
}

/// `2025-03-01 14:05:09 UTC` from milliseconds since the Unix epoch.
pub fn utc_readable(unix_ms: u64) -> String {
    let (y, mo, d, h, mi, s) = utc_fields(unix_ms / 1000);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02} UTC")
}

#[cfg(test)]
mod tests {
    use super::{utc_readable, utc_stamp};

    #[test]
    fn stamps_match_known_dates() {
        assert_eq!(utc_stamp(0), "19700101-000000");
        // 2026-11-22T13:05:09Z
        assert_eq!(utc_stamp(1_795_352_709), "20261122-130509");
        // 2024-02-29T23:59:59Z (leap day)
        assert_eq!(utc_stamp(1_709_251_199), "20240229-235959");
        assert_eq!(utc_readable(1_709_251_199_999), "2024-02-29 23:59:59 UTC");
    }
}
