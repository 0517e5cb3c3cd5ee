//! The filters of the leads table, parsed from URL query parameters.

use chrono::NaiveDate;

use super::email::Email;
use super::phone::Phone;
use crate::error::AppError;
use crate::models::{Channel, DeliveryStatus, LeadQuery};
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
    /// The team attribution gave the lead.
    pub team: Option<TeamChoice>,
    /// The email's status.
    pub email_status: Option<DeliveryStatus>,
    /// The SMS's status.
    pub sms_status: Option<DeliveryStatus>,
    /// Whether AmoCRM has the lead.
    pub crm: Option<CrmLink>,
    /// The UTM campaign.
    pub utm_campaign: Option<CampaignFilter>,
}

/// Which UTM campaigns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CampaignFilter {
    /// Those containing this lower-cased text.
    Contains(String),
    /// These, found to contain it (`db::lead::resolve_campaigns`): each read from an index.
    OneOf(Vec<String>),
}

/// Which team's leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TeamChoice {
    /// The team of this name.
    Named(String),
    /// Leads attribution gave no team («Без команды»).
    Without,
}

/// Whether a lead reached AmoCRM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrmLink {
    /// It has a deal there.
    Linked,
    /// It has none: not pushed yet, or the push never happened.
    Unlinked,
}

impl LeadFilter {
    /// Parses the query's filter fields; a malformed value names its parameter.
    pub fn parse(query: &LeadQuery) -> Result<Self, AppError> {
        let from_day = query.from.as_deref().map(|text| parse_day("from", text)).transpose()?.flatten();
        let to_day = query.to.as_deref().map(|text| parse_day("to", text)).transpose()?.flatten();
        let team = given(&query.team).map(|team| match team.to_lowercase().as_str() {
            "none" => TeamChoice::Without,
            _ => TeamChoice::Named(team.to_owned()),
        });
        let crm = given(&query.crm)
            .map(|crm| match crm {
                "linked" => Ok(CrmLink::Linked),
                "unlinked" => Ok(CrmLink::Unlinked),
                _ => Err(AppError::validation("crm", "ожидается linked или unlinked")),
            })
            .transpose()?;
        Ok(Self {
            search: query.q.as_deref().and_then(normalise_search),
            source: given(&query.source).map(str::to_owned),
            from_day,
            to_day,
            team,
            email_status: parse_status("email_status", Channel::Email, &query.email_status)?,
            sms_status: parse_status("sms_status", Channel::Sms, &query.sms_status)?,
            crm,
            utm_campaign: given(&query.utm_campaign).map(|text| CampaignFilter::Contains(text.to_lowercase())),
        })
    }

    /// Whether the daily counters can answer the stat cards: they know days and sources,
    /// not text, teams, statuses or campaigns.
    pub fn fits_daily_counters(&self) -> bool {
        let Self { search, source: _, from_day: _, to_day: _, team, email_status, sms_status, crm, utm_campaign } =
            self;
        search.is_none()
            && team.is_none()
            && email_status.is_none()
            && sms_status.is_none()
            && crm.is_none()
            && utm_campaign.is_none()
    }
}

/// A parameter's trimmed text, unless it is empty.
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|value| !value.is_empty())
}

fn parse_status(field: &str, channel: Channel, value: &Option<String>) -> Result<Option<DeliveryStatus>, AppError> {
    given(value)
        .map(|text| {
            DeliveryStatus::parse(channel, text).ok_or_else(|| {
                let known: Vec<&str> = DeliveryStatus::of_channel(channel).map(DeliveryStatus::as_str).collect();
                AppError::validation(field, format!("неизвестный статус «{text}»; возможны: {}", known.join(", ")))
            })
        })
        .transpose()
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
    fn team_status_crm_and_campaign_filters_parse_or_name_the_parameter() {
        let query = LeadQuery {
            team: Some(" Kenesary ".into()),
            email_status: Some("opened".into()),
            sms_status: Some("failed".into()),
            crm: Some("unlinked".into()),
            utm_campaign: Some(" Tripwire ".into()),
            ..Default::default()
        };
        let filter = LeadFilter::parse(&query).unwrap();
        assert_eq!(filter.team, Some(TeamChoice::Named("Kenesary".into())));
        assert_eq!(filter.email_status, Some(DeliveryStatus::Opened));
        assert_eq!(filter.sms_status, Some(DeliveryStatus::Error));
        assert_eq!(filter.crm, Some(CrmLink::Unlinked));
        assert_eq!(filter.utm_campaign, Some(CampaignFilter::Contains("tripwire".into())));
        assert!(!filter.fits_daily_counters());
        let none = LeadQuery { team: Some("NONE".into()), source: Some("express".into()), ..Default::default() };
        assert_eq!(LeadFilter::parse(&none).unwrap().team, Some(TeamChoice::Without));
        let plain = LeadQuery { source: Some("express".into()), from: Some("2026-11-01".into()), ..Default::default() };
        assert!(LeadFilter::parse(&plain).unwrap().fits_daily_counters());
        let field_of = |query: LeadQuery| match LeadFilter::parse(&query) {
            Err(AppError::Validation { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field_of(LeadQuery { sms_status: Some("opened".into()), ..Default::default() }), "sms_status");
        assert_eq!(field_of(LeadQuery { email_status: Some("read".into()), ..Default::default() }), "email_status");
        assert_eq!(field_of(LeadQuery { crm: Some("yes".into()), ..Default::default() }), "crm");
    }

    #[test]
    fn dates_are_checked() {
        let query = LeadQuery { from: Some("2026-11-01".into()), to: Some("2026-13-01".into()), ..Default::default() };
        assert!(matches!(LeadFilter::parse(&query), Err(AppError::Validation { field, .. }) if field == "to"));
        let query = LeadQuery { from: Some("2026-11-01".into()), ..Default::default() };
        assert_eq!(LeadFilter::parse(&query).unwrap().from_day, Some(20261101));
    }
}
