//! Grouping Almaty days into the days, weeks (Monday to Sunday) or months of a report.

use chrono::{Datelike, Days, NaiveDate};

use crate::error::AppError;

const MONTHS: [&str; 12] = [
    "Январь",
    "Февраль",
    "Март",
    "Апрель",
    "Май",
    "Июнь",
    "Июль",
    "Август",
    "Сентябрь",
    "Октябрь",
    "Ноябрь",
    "Декабрь",
];

/// How a report groups its days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Day,
    Week,
    Month,
}

impl Period {
    /// `day`, `week` or `month`; nothing means `day`.
    pub fn parse(text: Option<&str>) -> Result<Self, AppError> {
        match text.map(str::trim).unwrap_or("") {
            "" | "day" => Ok(Self::Day),
            "week" => Ok(Self::Week),
            "month" => Ok(Self::Month),
            _ => Err(AppError::validation("by", "ожидается day, week или month")),
        }
    }

    /// The query value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "month",
        }
    }

    /// The first day of the period holding `day`, which orders periods.
    pub fn start_of(self, day: NaiveDate) -> NaiveDate {
        match self {
            Self::Day => day,
            Self::Week => day - Days::new(u64::from(day.weekday().num_days_from_monday())),
            Self::Month => day.with_day(1).expect("every month has a first"),
        }
    }

    /// The caption of the period starting on `start`: `22.11.2026`, `16.11–22.11.2026`,
    /// `Ноябрь 2026`.
    pub fn caption(self, start: NaiveDate) -> String {
        match self {
            Self::Day => start.format("%d.%m.%Y").to_string(),
            Self::Week => {
                let end = start + Days::new(6);
                format!("{}–{}", start.format("%d.%m"), end.format("%d.%m.%Y"))
            }
            Self::Month => format!("{} {}", MONTHS[start.month0() as usize], start.year()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first() {
        let sunday = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        assert_eq!(Period::Week.caption(Period::Week.start_of(sunday)), "16.11–22.11.2026");
        assert_eq!(Period::Month.caption(Period::Month.start_of(sunday)), "Ноябрь 2026");
        assert_eq!(Period::Day.caption(Period::Day.start_of(sunday)), "22.11.2026");
        assert_eq!(Period::parse(None).unwrap(), Period::Day);
        assert!(Period::parse(Some("year")).is_err());
    }
}
