//! Server events for Meta's Conversions API (`docs/providers.md`, Conversions API): which
//! leads send a `Lead`, how person data is normalised and hashed, the click id as `fbc`,
//! and Meta's 7-day window — free of I/O, so the rules are tested on their own.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// How far back Meta accepts an event: a request with an older one fails as a whole.
pub const META_WINDOW_MS: i64 = 7 * 24 * 3_600_000;
/// Events this close to the window's edge are not sent either: the request may reach Meta
/// a little later than we decide.
const WINDOW_MARGIN_MS: i64 = 10 * 60_000;

/// `FB_CAPI_LEAD_EVENTS`: which accepted leads send a `Lead` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LeadEvents {
    /// None: only sales go to Meta.
    Off,
    /// Quiz leads only (the express checkout has its own pixel event on the landing).
    Quiz,
    /// Every lead.
    #[default]
    All,
}

impl LeadEvents {
    /// `off`, `quiz` or `all`.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_lowercase().as_str() {
            "off" => Some(Self::Off),
            "quiz" => Some(Self::Quiz),
            "all" => Some(Self::All),
            _ => None,
        }
    }

    /// Whether a lead of this kind (`proftest`, `express`) sends one.
    pub fn includes(self, kind: &str) -> bool {
        match self {
            Self::Off => false,
            Self::Quiz => kind == "proftest",
            Self::All => true,
        }
    }
}

/// The event names we send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventName {
    Lead,
    Purchase,
}

impl EventName {
    /// Meta's standard event name, as stored in `meta_event.event_name`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lead => "Lead",
            Self::Purchase => "Purchase",
        }
    }
}

/// `lead-<id>`: the `event_id` of a lead's `Lead`, which the landing's pixel passes as its
/// `eventID` so that Meta counts the two copies once.
pub fn lead_event_id(lead_id: i64) -> String {
    format!("lead-{lead_id}")
}

/// `sale-<id>`: the `event_id` of a sale's `Purchase`.
pub fn sale_event_id(sale_id: i64) -> String {
    format!("sale-{sale_id}")
}

/// Whether an event that happened at `event_time_ms` is still inside Meta's window at `now_ms`.
pub fn within_window(event_time_ms: i64, now_ms: i64) -> bool {
    now_ms - event_time_ms < META_WINDOW_MS - WINDOW_MARGIN_MS
}

/// SHA-256 of `value`, as 64 lower-case hex characters.
fn sha256_hex(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

/// The hash Meta matches an email by: of the trimmed, lower-cased address.
pub fn hash_email(email: &str) -> String {
    sha256_hex(&email.trim().to_lowercase())
}

/// The hash Meta matches a phone by: of its digits with the country code, without `+` or
/// leading zeros (`+7 705 123-45-67` → `77051234567`).
pub fn hash_phone(phone: &str) -> String {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    sha256_hex(digits.trim_start_matches('0'))
}

/// `fb.1.<ms when the click id was first seen>.<fbclid>`: the click cookie Meta's pixel
/// would have set, rebuilt from the lead's `fbclid` and arrival time.
pub fn fbc(fbclid: &str, seen_at_ms: i64) -> String {
    format!("fb.1.{seen_at_ms}.{fbclid}")
}

/// What we know of the person behind an event (the raw values; hashed on the way out).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Person {
    pub email: Option<String>,
    /// E.164 (`+77051234567`).
    pub phone: Option<String>,
    pub fbclid: Option<String>,
    /// When that lead arrived (the click id was first seen), UTC milliseconds.
    pub seen_at_ms: i64,
    pub client_ip: Option<String>,
    pub client_user_agent: Option<String>,
    pub page_url: Option<String>,
}

/// `user_data` of an event: hashes of email and phone, and the click, address and user
/// agent as they are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserData {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub em: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ph: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fbc: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_ip_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_user_agent: Option<String>,
}

impl UserData {
    /// The person's data as Meta wants it.
    pub fn of(person: &Person) -> Self {
        Self {
            em: person.email.as_deref().map(hash_email).into_iter().collect(),
            ph: person.phone.as_deref().map(hash_phone).into_iter().collect(),
            fbc: person.fbclid.as_deref().map(|fbclid| fbc(fbclid, person.seen_at_ms)),
            client_ip_address: person.client_ip.clone(),
            client_user_agent: person.client_user_agent.clone(),
        }
    }

    /// Whether Meta has anything to match the event to a person by.
    pub fn is_empty(&self) -> bool {
        self.em.is_empty() && self.ph.is_empty() && self.fbc.is_none()
    }
}

/// `custom_data` of a purchase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomData {
    pub currency: &'static str,
    /// Whole tenge.
    pub value: i64,
    /// `express` or `flagship`.
    pub content_name: String,
}

/// One server event as the Conversions API takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerEvent {
    pub event_name: &'static str,
    /// Unix seconds.
    pub event_time: i64,
    pub event_id: String,
    /// `website` for a form sent on a landing page, `system_generated` for a sale the CRM
    /// recorded.
    pub action_source: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_source_url: Option<String>,
    pub user_data: UserData,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_data: Option<CustomData>,
}

/// Why an event is not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotSent {
    /// Older than Meta's window: stored as `expired`.
    Expired,
    /// Meta could not use it: stored as `skipped` with the reason, in Russian.
    Skipped(String),
}

/// The `Lead` event of a lead that arrived at `at_ms`, or why it is not sent. A website
/// event needs the browser's user agent and the page; without them Meta refuses it.
pub fn lead_event(lead_id: i64, at_ms: i64, person: &Person, now_ms: i64) -> Result<ServerEvent, NotSent> {
    if !within_window(at_ms, now_ms) {
        return Err(NotSent::Expired);
    }
    let (Some(_), Some(page_url)) = (&person.client_user_agent, &person.page_url) else {
        return Err(NotSent::Skipped(
            "лендинг не передал client_user_agent и адрес страницы: Meta не принимает событие сайта без них".to_owned(),
        ));
    };
    Ok(ServerEvent {
        event_name: EventName::Lead.as_str(),
        event_time: at_ms / 1_000,
        event_id: lead_event_id(lead_id),
        action_source: "website",
        event_source_url: Some(page_url.clone()),
        user_data: UserData::of(person),
        custom_data: None,
    })
}

/// The `Purchase` event of a sale recorded in the CRM, or why it is not sent.
pub fn purchase_event(
    sale_id: i64,
    sold_at_ms: i64,
    product: &str,
    amount: i64,
    person: Option<&Person>,
    now_ms: i64,
) -> Result<ServerEvent, NotSent> {
    if !within_window(sold_at_ms, now_ms) {
        return Err(NotSent::Expired);
    }
    let user_data = person.map(UserData::of).filter(|data| !data.is_empty()).ok_or_else(|| {
        NotSent::Skipped("сделка не связана с нашим лидом: Meta не с чем сопоставить покупку".to_owned())
    })?;
    Ok(ServerEvent {
        event_name: EventName::Purchase.as_str(),
        event_time: sold_at_ms / 1_000,
        event_id: sale_event_id(sale_id),
        action_source: "system_generated",
        event_source_url: None,
        user_data,
        custom_data: Some(CustomData { currency: "KZT", value: amount, content_name: product.to_owned() }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_796_174_635_000;

    fn person() -> Person {
        Person {
            email: Some(" Test.Lead@Example.com ".to_owned()),
            phone: Some("+7 705 123-45-67".to_owned()),
            fbclid: Some("IwAR0abc".to_owned()),
            seen_at_ms: NOW - 3_600_000,
            client_ip: Some("203.0.113.7".to_owned()),
            client_user_agent: Some("Mozilla/5.0".to_owned()),
            page_url: Some("https://landing.example.com/proftest".to_owned()),
        }
    }

    #[test]
    fn emails_and_phones_are_hashed_after_normalising() {
        assert_eq!(hash_email(" Test.Lead@Example.com "), sha256_hex("test.lead@example.com"));
        assert_eq!(hash_phone("+7 705 123-45-67"), sha256_hex("77051234567"));
        assert_eq!(hash_phone("007051234567"), sha256_hex("7051234567"));
        let hash = hash_email("a@b.kz");
        assert_eq!(hash.len(), 64);
        assert!(hash.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)), "{hash}");
        // The well-known digest of the empty string, so the hash is SHA-256 and hex.
        assert_eq!(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }

    #[test]
    fn a_lead_event_is_a_website_event_with_its_click_in_seconds() {
        let event = lead_event(17, NOW - 3_600_000, &person(), NOW).expect("inside the window");
        assert_eq!((event.event_name, event.event_id.as_str(), event.action_source), ("Lead", "lead-17", "website"));
        assert_eq!(event.event_time, (NOW - 3_600_000) / 1_000);
        assert_eq!(event.user_data.fbc.as_deref(), Some("fb.1.1796171035000.IwAR0abc"));
        assert_eq!(event.event_source_url.as_deref(), Some("https://landing.example.com/proftest"));
        let json = serde_json::to_value(&event).unwrap();
        assert!(json.get("custom_data").is_none());
        assert_eq!(json["user_data"]["client_ip_address"], "203.0.113.7");
    }

    #[test]
    fn events_past_the_window_expire_and_a_lead_without_its_browser_is_skipped() {
        assert_eq!(lead_event(1, NOW - META_WINDOW_MS, &person(), NOW), Err(NotSent::Expired));
        assert!(within_window(NOW - META_WINDOW_MS + WINDOW_MARGIN_MS + 1_000, NOW));
        assert!(!within_window(NOW - META_WINDOW_MS + WINDOW_MARGIN_MS, NOW));
        let relayed = Person { client_user_agent: None, ..person() };
        assert!(matches!(lead_event(1, NOW, &relayed, NOW), Err(NotSent::Skipped(_))));
        assert_eq!(
            purchase_event(5, NOW - 8 * 24 * 3_600_000, "express", 5_000, Some(&person()), NOW),
            Err(NotSent::Expired)
        );
        assert!(matches!(purchase_event(5, NOW, "express", 5_000, None, NOW), Err(NotSent::Skipped(_))));
    }

    #[test]
    fn a_purchase_carries_its_value_in_tenge() {
        let event = purchase_event(5, NOW, "flagship", 490_000, Some(&person()), NOW).unwrap();
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(
            json["custom_data"],
            serde_json::json!({"currency": "KZT", "value": 490_000, "content_name": "flagship"})
        );
        assert_eq!(
            (json["event_id"].as_str(), json["action_source"].as_str()),
            (Some("sale-5"), Some("system_generated"))
        );
        assert!(json.get("event_source_url").is_none());
    }

    #[test]
    fn lead_events_follow_the_setting() {
        assert_eq!(LeadEvents::parse("Quiz"), Some(LeadEvents::Quiz));
        assert!(LeadEvents::Quiz.includes("proftest") && !LeadEvents::Quiz.includes("express"));
        assert!(LeadEvents::All.includes("express") && !LeadEvents::Off.includes("proftest"));
        assert_eq!(LeadEvents::parse("some"), None);
    }
}
