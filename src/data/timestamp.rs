//! Timestamp parsing: unix seconds/milliseconds, ISO-8601 and common date-time layouts.
//!
//! Local times without an offset are read as UTC (as the reference protocol does).

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime};

/// The earliest accepted instant (1970-01-01T00:00:00Z).
pub const MIN_TIMESTAMP: i64 = 0;
/// The first rejected instant (2100-01-01T00:00:00Z).
pub const MAX_TIMESTAMP: i64 = 4_102_444_800;

/// Why a timestamp value was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampError {
    /// Not in any supported layout.
    Unparseable,
    /// Parsed, but before 1970 or after 2099.
    OutOfRange,
}

/// Parses a timestamp written as text into unix seconds.
pub fn parse_timestamp(text: &str) -> Result<i64, TimestampError> {
    let s = text.trim();
    if s.is_empty() {
        return Err(TimestampError::Unparseable);
    }
    let seconds = parse_any(s).ok_or(TimestampError::Unparseable)?;
    check_range(seconds)
}

/// Interprets a number as unix time: seconds, or milli/micro/nanoseconds by magnitude.
pub fn from_unix_number(value: f64) -> Result<i64, TimestampError> {
    if !value.is_finite() {
        return Err(TimestampError::Unparseable);
    }
    let abs = value.abs();
    let seconds = if abs < 1e11 {
        value
    } else if abs < 1e14 {
        value / 1e3
    } else if abs < 1e17 {
        value / 1e6
    } else {
        value / 1e9
    };
    check_range(seconds.floor() as i64)
}

fn check_range(seconds: i64) -> Result<i64, TimestampError> {
    if (MIN_TIMESTAMP..MAX_TIMESTAMP).contains(&seconds) { Ok(seconds) } else { Err(TimestampError::OutOfRange) }
}

fn parse_any(s: &str) -> Option<i64> {
    let bytes = s.as_bytes();
    let first = *bytes.first()?;
    // Plain numbers: unix time.
    if first.is_ascii_digit() || first == b'-' || first == b'+' {
        if bytes.iter().skip(1).all(|b| b.is_ascii_digit()) {
            let v: i64 = s.parse().ok()?;
            return from_unix_number(v as f64).ok().or(Some(i64::MIN));
        }
        if bytes.iter().skip(1).all(|b| b.is_ascii_digit() || *b == b'.' || *b == b'e' || *b == b'E')
            && let Ok(v) = s.parse::<f64>()
        {
            return from_unix_number(v).ok().or(Some(i64::MIN));
        }
    }
    if let Some(v) = parse_iso_fast(bytes) {
        return Some(v);
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.timestamp());
    }
    const DATETIME_LAYOUTS: [&str; 9] = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%m/%d/%Y %H:%M:%S",
        "%m/%d/%Y %H:%M",
        "%Y/%m/%d %H:%M:%S",
        "%Y/%m/%d %H:%M",
        "%Y-%m-%dT%H:%M:%S%.fZ",
        "%Y-%m-%d %H:%M:%S %z",
    ];
    for layout in DATETIME_LAYOUTS {
        if let Ok(dt) = NaiveDateTime::parse_from_str(s, layout) {
            return Some(dt.and_utc().timestamp());
        }
    }
    if let Ok(dt) = DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S %z") {
        return Some(dt.timestamp());
    }
    const DATE_LAYOUTS: [&str; 5] = ["%Y-%m-%d", "%m/%d/%Y", "%Y/%m/%d", "%m %d, %Y", "%d-%b-%Y"];
    for layout in DATE_LAYOUTS {
        if let Ok(d) = NaiveDate::parse_from_str(s, layout) {
            return Some(d.and_time(NaiveTime::MIN).and_utc().timestamp());
        }
    }
    None
}

/// Fast path for `YYYY-MM-DD`, `YYYY-MM-DD HH:MM`, `YYYY-MM-DD HH:MM:SS` (space or `T`).
fn parse_iso_fast(b: &[u8]) -> Option<i64> {
    fn num(b: &[u8], from: usize, len: usize) -> Option<u32> {
        let slice = b.get(from..from + len)?;
        let mut v = 0u32;
        for &c in slice {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + u32::from(c - b'0');
        }
        Some(v)
    }
    if !(b.len() == 10 || b.len() == 16 || b.len() == 19) {
        return None;
    }
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(num(b, 0, 4)? as i32, num(b, 5, 2)?, num(b, 8, 2)?)?;
    if b.len() == 10 {
        return Some(date.and_time(NaiveTime::MIN).and_utc().timestamp());
    }
    if !matches!(b.get(10), Some(b' ') | Some(b'T')) || b.get(13) != Some(&b':') {
        return None;
    }
    let seconds = if b.len() == 19 {
        if b.get(16) != Some(&b':') {
            return None;
        }
        num(b, 17, 2)?
    } else {
        0
    };
    let time = NaiveTime::from_hms_opt(num(b, 11, 2)?, num(b, 14, 2)?, seconds)?;
    Some(date.and_time(time).and_utc().timestamp())
}

/// The unix seconds of a compact date `YYYYMMDD` or date-time `YYYYMMDDHHMMSS` (UTC) between
/// 1900 and 2100; `None` for any other text. Such numbers are also valid unix times in 1970,
/// so callers decide by the whole column (`data::columns`).
pub fn compact_date(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if !(b.len() == 8 || b.len() == 14) || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let num = |from: usize, len: usize| text.get(from..from + len).and_then(|s| s.parse::<u32>().ok());
    let year = num(0, 4)?;
    if !(1900..2100).contains(&year) {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(year as i32, num(4, 2)?, num(6, 2)?)?;
    let time =
        if b.len() == 14 { NaiveTime::from_hms_opt(num(8, 2)?, num(10, 2)?, num(12, 2)?)? } else { NaiveTime::MIN };
    Some(date.and_time(time).and_utc().timestamp())
}

/// Formats unix seconds as `YYYY-MM-DD HH:MM:SS` (UTC).
pub fn format_utc(seconds: i64) -> String {
    DateTime::from_timestamp(seconds, 0)
        .map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| seconds.to_string())
}

/// Formats unix seconds as a date `YYYY-MM-DD` (UTC).
pub fn format_date(seconds: i64) -> String {
    DateTime::from_timestamp(seconds, 0)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| seconds.to_string())
}

/// The calendar month `YYYY-MM` of unix seconds (UTC).
pub fn month_key(seconds: i64) -> String {
    DateTime::from_timestamp(seconds, 0).map(|d| d.format("%Y-%m").to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        // 2010-12-01 08:26:00 UTC = 1291191960 (date -u -d '2010-12-01 08:26:00' +%s)
        let want = 1_291_191_960;
        for s in [
            "2010-12-01 08:26",
            "2010-12-01 08:26:00",
            "2010-12-01T08:26:00",
            "2010-12-01T08:26:00Z",
            "2010-12-01T09:26:00+01:00",
            "12/01/2010 08:26",
            "12/1/2010 8:26",
            "1291191960",
            "1291191960000",
            "1291191960.0",
        ] {
            assert_eq!(parse_timestamp(s), Ok(want), "{s}");
        }
        assert_eq!(parse_timestamp("2010-12-01"), Ok(1_291_161_600));
        assert_eq!(parse_timestamp("09 13, 2009"), Ok(1_252_800_000));
        assert_eq!(parse_timestamp("yesterday"), Err(TimestampError::Unparseable));
        assert_eq!(parse_timestamp("2010-13-01"), Err(TimestampError::Unparseable));
        assert_eq!(parse_timestamp("2150-01-01"), Err(TimestampError::OutOfRange));
        assert_eq!(parse_timestamp("-5"), Err(TimestampError::OutOfRange));
        assert_eq!(compact_date("20110301"), Some(1_298_937_600));
        assert_eq!(compact_date("20110301083000"), Some(1_298_968_200));
        assert_eq!(compact_date("20111301"), None);
        assert_eq!(compact_date("18991231"), None);
        assert_eq!(parse_timestamp(""), Err(TimestampError::Unparseable));
    }
}
