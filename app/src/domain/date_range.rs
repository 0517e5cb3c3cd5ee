//! Ranges of Almaty calendar days, from a preset or explicit dates, as the funnel and
//! the sales reports take them. `end` is inclusive.

use chrono::{Datelike, Days, NaiveDate};

use crate::error::AppError;
use crate::time::day_number;

/// The longest range a report covers: three years and a day.
const MAX_DAYS: i64 = 3 * 366;

/// An inclusive range of Almaty days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl DateRange {
    /// The range of a preset (`today`, `yesterday`, `7d`, `30d`, `90d`, `month`) or of
    /// `start`..=`end`; explicit dates win over the preset, and without either it is the
    /// last 30 days. `today` is the Almaty date the request is served on.
    pub fn resolve(
        preset: Option<&str>,
        start: Option<&str>,
        end: Option<&str>,
        today: NaiveDate,
    ) -> Result<Self, AppError> {
        let start = parse_date("start", start)?;
        let end = parse_date("end", end)?;
        if start.is_some() || end.is_some() {
            let end = end.unwrap_or(today);
            let start = start.unwrap_or(end);
            if start > end {
                return Err(AppError::validation("start", "начало периода позже его конца"));
            }
            if (end - start).num_days() >= MAX_DAYS {
                return Err(AppError::validation("start", "период длиннее трёх лет"));
            }
            return Ok(Self { start, end });
        }
        let last_days = |days: u64| Self { start: today - Days::new(days - 1), end: today };
        match preset.map(str::trim).unwrap_or("30d") {
            "today" => Ok(Self { start: today, end: today }),
            "yesterday" => {
                let yesterday = today - Days::new(1);
                Ok(Self { start: yesterday, end: yesterday })
            }
            "7d" => Ok(last_days(7)),
            "" | "30d" => Ok(last_days(30)),
            "90d" => Ok(last_days(90)),
            "month" => Ok(Self { start: today.with_day(1).expect("every month has a first"), end: today }),
            _ => Err(AppError::validation("range", "ожидается today, yesterday, 7d, 30d, 90d или month")),
        }
    }

    /// The first day as stored, `yyyymmdd`.
    pub fn start_day(&self) -> i64 {
        day_number(self.start)
    }

    /// The last day as stored, `yyyymmdd`.
    pub fn end_day(&self) -> i64 {
        day_number(self.end)
    }

    /// Every day of the range, oldest first.
    pub fn days(self) -> impl Iterator<Item = NaiveDate> {
        self.start.iter_days().take_while(move |day| *day <= self.end)
    }
}

fn parse_date(field: &str, text: Option<&str>) -> Result<Option<NaiveDate>, AppError> {
    match text.map(str::trim).filter(|text| !text.is_empty()) {
        None => Ok(None),
        Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| AppError::validation(field, "ожидается дата ГГГГ-ММ-ДД")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn presets_count_back_from_the_almaty_today() {
        let today = date("2026-11-22");
        let resolve = |preset| DateRange::resolve(Some(preset), None, None, today).unwrap();
        assert_eq!(resolve("today"), DateRange { start: today, end: today });
        assert_eq!(resolve("yesterday"), DateRange { start: date("2026-11-21"), end: date("2026-11-21") });
        assert_eq!(resolve("7d").start, date("2026-11-16"));
        assert_eq!(resolve("30d").start, date("2026-10-24"));
        assert_eq!(resolve("90d").start, date("2026-08-25"));
        assert_eq!(resolve("month").start, date("2026-11-01"));
        assert_eq!(DateRange::resolve(None, None, None, today).unwrap(), resolve("30d"));
        assert_eq!(resolve("30d").days().count(), 30);
    }

    #[test]
    fn explicit_dates_win_and_are_checked() {
        let today = date("2026-11-22");
        let range = DateRange::resolve(Some("7d"), Some("2026-01-01"), Some("2026-01-31"), today).unwrap();
        assert_eq!((range.start_day(), range.end_day()), (20260101, 20260131));
        let single = DateRange::resolve(None, Some("2026-03-08"), None, today).unwrap();
        assert_eq!((single.start, single.end), (date("2026-03-08"), today));
        let backwards = DateRange::resolve(None, Some("2026-02-01"), Some("2026-01-01"), today);
        assert!(matches!(backwards, Err(AppError::Validation { field, .. }) if field == "start"));
        let malformed = DateRange::resolve(None, None, Some("01.02.2026"), today);
        assert!(matches!(malformed, Err(AppError::Validation { field, .. }) if field == "end"));
        assert!(DateRange::resolve(Some("week"), None, None, today).is_err());
        assert!(DateRange::resolve(None, Some("2020-01-01"), Some("2026-01-01"), today).is_err());
    }
}
