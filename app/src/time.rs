//! The business clock: timestamps are UTC milliseconds, calendar days are Almaty days.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Asia::Almaty;

/// A duration in whole milliseconds, for adding to timestamps.
pub fn millis(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX / 4)
}

/// A calendar day as the number `yyyymmdd`, the form days are stored and compared in.
pub fn day_number(day: NaiveDate) -> i64 {
    i64::from(day.year()) * 10_000 + i64::from(day.month()) * 100 + i64::from(day.day())
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// Today's date in Almaty.
pub fn today_almaty() -> NaiveDate {
    Utc::now().with_timezone(&Almaty).date_naive()
}

/// The UTC millisecond at which `day` begins in Almaty.
pub fn almaty_day_start_ms(day: NaiveDate) -> i64 {
    let midnight = day.and_hms_opt(0, 0, 0).expect("midnight exists");
    Almaty.from_local_datetime(&midnight).earliest().expect("Almaty has no gap at midnight").timestamp_millis()
}

/// The Almaty calendar date of a UTC millisecond.
pub fn almaty_date(ms: i64) -> NaiveDate {
    DateTime::<Utc>::from_timestamp_millis(ms).map(|at| at.with_timezone(&Almaty).date_naive()).unwrap_or_default()
}

/// The Almaty calendar day of a UTC millisecond as `yyyymmdd`, the form days are stored in.
pub fn almaty_day(ms: i64) -> i64 {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|at| day_number(at.with_timezone(&Almaty).date_naive()))
        .unwrap_or_default()
}

/// `dd.mm.yyyy hh:mm` in Almaty time, as the dashboards show it.
pub fn format_almaty(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|at| at.with_timezone(&Almaty).format("%d.%m.%Y %H:%M").to_string())
        .unwrap_or_default()
}

/// `yyyy-mm-dd hh:mm:ss` in Almaty time, the form Mobizon's timestamps take.
pub fn format_almaty_seconds(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|at| at.with_timezone(&Almaty).format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// Reads an Almaty wall-clock `yyyy-mm-dd hh:mm:ss` as UTC milliseconds.
pub fn parse_almaty_seconds(text: &str) -> Option<i64> {
    let local = chrono::NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%d %H:%M:%S").ok()?;
    Almaty.from_local_datetime(&local).earliest().map(|at| at.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_almaty_day_starts_at_19_utc_the_evening_before() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let start = DateTime::<Utc>::from_timestamp_millis(almaty_day_start_ms(day)).unwrap();
        assert_eq!(start.to_rfc3339(), "2026-11-21T19:00:00+00:00");
    }

    #[test]
    fn a_lead_at_00_30_almaty_counts_on_that_almaty_day() {
        let ms = DateTime::parse_from_rfc3339("2026-11-21T19:30:00Z").unwrap().timestamp_millis();
        assert_eq!(almaty_day(ms), 20261122);
        assert_eq!(almaty_day(ms - 3_600_000), 20261121);
    }

    #[test]
    fn times_are_shown_in_almaty() {
        // 2026-11-21 19:30 UTC is 00:30 on the 22nd in Almaty.
        let ms = DateTime::parse_from_rfc3339("2026-11-21T19:30:00Z").unwrap().timestamp_millis();
        assert_eq!(format_almaty(ms), "22.11.2026 00:30");
    }
}
