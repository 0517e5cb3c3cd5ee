//! The filters of the leads table, parsed from URL query parameters.

use chrono::NaiveDate;

use super::email::Email;
use super::phone::Phone;
use crate::error::AppError;
use crate::models::LeadQuery;
use crate::time::day_number;

/// What the search box asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Search {
    /// A complete phone number (E.164), found through the phone index.
    Phone(String),
    /// A complete email address, found through the email index.
    Email(String),
    /// Any other lower-cased text, looked for inside names, emails and phone digits.
    Text(String),
    /// `#123`: one lead by its number (a skipped message links to the lead messaged).
    LeadId(i64),
}

/// Validated filters: what the leads table and its cards are restricted to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeadFilter {
    /// The search box.
    pub search: Option<Search>,
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

fn parse_day(field: &str, text: &str) -> Result<Option<i64>, AppError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(|day| Some(day_number(day)))
        .map_err(|_| AppError::validation(field, "ожидается дата ГГГГ-ММ-ДД"))
}

/// Reads the search box. A whole phone number or email is looked up exactly (fast at any
/// size); a part of one becomes text: a phone-like fragment its digits, with a Kazakh
/// trunk `8` read as the country code `7`, to match how phones are stored.
fn normalise_search(text: &str) -> Option<Search> {
    let text = text.trim().to_lowercase();
    if text.is_empty() {
        return None;
    }
    if let Some(id) = text.strip_prefix('#').and_then(|id| id.parse().ok()) {
        return Some(Search::LeadId(id));
    }
    if text.contains('@') {
        return Some(match Email::parse(&text) {
            Ok(email) => Search::Email(email.as_str().to_owned()),
            Err(_) => Search::Text(text),
        });
    }
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let phone_like = digits.len() >= 4 && text.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c));
    if !phone_like {
        return Some(Search::Text(text));
    }
    if digits.len() >= 10 {
        if let Ok(phone) = Phone::parse(&text) {
            return Some(Search::Phone(phone.as_str().to_owned()));
        }
    }
    Some(Search::Text(match digits.strip_prefix('8') {
        Some(rest) if digits.len() == 11 => format!("7{rest}"),
        _ => digits,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_phones_and_emails_are_exact_lookups_and_fragments_are_text() {
        let text = |t: &str| Some(Search::Text(t.to_owned()));
        assert_eq!(normalise_search("8 (705) 123-45-67"), Some(Search::Phone("+77051234567".into())));
        assert_eq!(normalise_search("7051234567"), Some(Search::Phone("+77051234567".into())));
        assert_eq!(normalise_search(" Lead@Example.com "), Some(Search::Email("lead@example.com".into())));
        assert_eq!(normalise_search("+7 705 123"), text("7705123"));
        assert_eq!(normalise_search(" #42 "), Some(Search::LeadId(42)));
        assert_eq!(normalise_search("#4x"), text("#4x"));
        assert_eq!(normalise_search("lead@"), text("lead@"));
        assert_eq!(normalise_search(" Айгерим "), text("айгерим"));
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
