//! The filters of the leads table, parsed from URL query parameters.

use chrono::{Datelike, NaiveDate};

use crate::error::AppError;
use crate::models::LeadQuery;

/// Validated filters: what the leads table and its cards are restricted to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeadFilter {
    /// Lower-cased text to find in name, email or phone digits.
    pub search: Option<String>,
    /// Exact source.
    pub source: Option<String>,
    /// First Almaty day as `yyyymmdd`, inclusive.
    pub from_day: Option<i64>,
    /// Last Almaty day as `yyyymmdd`, inclusive.
    pub to_day: Option<i64>,
}

impl LeadFilter {
    /// Parses the query's filter fields; a malformed date names its parameter.
    pub fn parse(query: &LeadQuery) -> Result<Self, AppError> {
        let from_day = query.from.as_deref().map(|text| parse_day("from", text)).transpose()?.flatten();
        let to_day = query.to.as_deref().map(|text| parse_day("to", text)).transpose()?.flatten();
        Ok(Self {
            search: query.q.as_deref().and_then(normalise_search),
            source: query.source.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned),
            from_day,
            to_day,
        })
    }
}

/// `yyyymmdd` of a calendar day, the form days are stored in.
pub fn day_number(day: NaiveDate) -> i64 {
    i64::from(day.year()) * 10_000 + i64::from(day.month()) * 100 + i64::from(day.day())
}

fn parse_day(field: &str, text: &str) -> Result<Option<i64>, AppError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(|day| Some(day_number(day)))
        .map_err(|_| AppError::validation(field, "ожидается дата ГГГГ-ММ-ДД"))
}

/// Lower-cases the search text; a phone-like query becomes its digits, with a Kazakh
/// trunk `8` read as the country code `7`, to match how phones are stored.
fn normalise_search(text: &str) -> Option<String> {
    let text = text.trim().to_lowercase();
    if text.is_empty() {
        return None;
    }
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let phone_like = digits.len() >= 4 && text.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c));
    if !phone_like {
        return Some(text);
    }
    Some(match digits.strip_prefix('8') {
        Some(rest) if digits.len() == 11 => format!("7{rest}"),
        _ => digits,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_searches_match_stored_digits() {
        assert_eq!(normalise_search("8 (705) 123-45-67").as_deref(), Some("77051234567"));
        assert_eq!(normalise_search("+7 705 123").as_deref(), Some("7705123"));
        assert_eq!(normalise_search(" Айгерим ").as_deref(), Some("айгерим"));
        assert_eq!(normalise_search("  "), None);
    }

    #[test]
    fn dates_are_checked() {
        let query = LeadQuery { from: Some("2026-11-01".into()), to: Some("2026-13-01".into()), ..Default::default() };
        assert!(matches!(LeadFilter::parse(&query), Err(AppError::Validation { field, .. }) if field == "to"));
        let query = LeadQuery { from: Some("2026-11-01".into()), ..Default::default() };
        assert_eq!(LeadFilter::parse(&query).unwrap().from_day, Some(20261101));
    }
}
