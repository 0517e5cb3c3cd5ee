//! A landing-page submission, parsed field by field into a [`NewLead`].
//!
//! Each field is read from the JSON object by name so that an error can say exactly
//! which field is wrong; unknown fields are ignored, since landing pages evolve.

use serde_json::{Map, Value};

use super::email::Email;
use super::phone::Phone;
use crate::error::AppError;

/// Which landing page the lead came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeadKind {
    /// The ProfTest quiz (`POST /api/landing/proftest`).
    Proftest,
    /// The express-course checkout (`POST /api/landing/submit`).
    Express,
}

impl LeadKind {
    /// The value stored in `lead.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Proftest => "proftest",
            Self::Express => "express",
        }
    }
}

/// UTM tags and other traffic markers of a submission.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tracking {
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
    pub utm_content: Option<String>,
    pub utm_term: Option<String>,
    pub fbclid: Option<String>,
    pub referrer: Option<String>,
    /// The visitor's address, when the landing (or the browser's own request) gave it.
    pub client_ip: Option<String>,
    /// The visitor's browser, likewise.
    pub client_user_agent: Option<String>,
    /// The page the form was sent from (`http(s)://…`).
    pub page_url: Option<String>,
}

/// A validated lead, ready to be stored.
#[derive(Debug, Clone)]
pub struct NewLead {
    pub kind: LeadKind,
    /// `proftest`, `proftest_<slug>` or `express`.
    pub source: String,
    pub campaign_slug: Option<String>,
    pub name: String,
    pub email: Email,
    pub email_raw: String,
    pub phone: Phone,
    pub phone_raw: String,
    pub payment_method: Option<String>,
    /// The quiz answers as compact JSON.
    pub answers: Option<String>,
    pub tracking: Tracking,
}

impl NewLead {
    /// Validates a submission body for the given landing page.
    pub fn parse(kind: LeadKind, body: &Value) -> Result<Self, AppError> {
        let Value::Object(fields) = body else {
            return Err(AppError::validation("body", "ожидается JSON-объект"));
        };
        let name = required_text(fields, "name", 200)?;
        let email_raw = required_text(fields, "email", 254)?;
        let email = Email::parse(&email_raw).map_err(|m| AppError::validation("email", m))?;
        let phone_raw = required_text(fields, "phone", 40)?;
        let phone = Phone::parse(&phone_raw).map_err(|m| AppError::validation("phone", m))?;

        let campaign_slug = optional_text(fields, "slug", 64)?.map(|slug| parse_code("slug", &slug)).transpose()?;
        let payment_method = optional_text(fields, "payment_method", 32)?
            .map(|method| parse_code("payment_method", &method))
            .transpose()?;
        let answers = match fields.get("answers") {
            None | Some(Value::Null) => None,
            Some(answers @ (Value::Object(_) | Value::Array(_))) => Some(answers.to_string()),
            Some(_) => return Err(AppError::validation("answers", "ожидается объект или массив")),
        };
        let source = match (kind, &campaign_slug) {
            (LeadKind::Proftest, Some(slug)) => format!("proftest_{slug}"),
            _ => kind.as_str().to_owned(),
        };
        Ok(Self {
            kind,
            source,
            campaign_slug,
            name,
            email,
            email_raw,
            phone,
            phone_raw,
            payment_method,
            answers,
            tracking: Tracking {
                utm_source: optional_text(fields, "utm_source", 500)?,
                utm_medium: optional_text(fields, "utm_medium", 500)?,
                utm_campaign: optional_text(fields, "utm_campaign", 500)?,
                utm_content: optional_text(fields, "utm_content", 500)?,
                utm_term: optional_text(fields, "utm_term", 500)?,
                fbclid: optional_text(fields, "fbclid", 500)?,
                referrer: optional_text(fields, "referrer", 2000)?,
                client_ip: optional_text(fields, "client_ip", 64)?
                    .map(|ip| {
                        parse_ip(&ip).ok_or_else(|| AppError::validation("client_ip", "ожидается IPv4 или IPv6 адрес"))
                    })
                    .transpose()?,
                client_user_agent: optional_text(fields, "client_user_agent", 1000)?,
                page_url: optional_text(fields, "page_url", 2000)?
                    .map(|url| {
                        (url.starts_with("https://") || url.starts_with("http://"))
                            .then_some(url)
                            .ok_or_else(|| AppError::validation("page_url", "ожидается адрес http(s)://"))
                    })
                    .transpose()?,
            },
        })
    }

    /// Lower-cased name, email and phone digits, searched by the dashboard.
    pub fn search_text(&self) -> String {
        search_text(&self.name, self.email.as_str(), self.phone.as_str())
    }
}

/// The text the dashboard's search looks in: lower-cased name, the (already normalised)
/// email and the digits of the E.164 phone.
pub fn search_text(name: &str, email: &str, phone_e164: &str) -> String {
    let digits: String = phone_e164.chars().filter(char::is_ascii_digit).collect();
    format!("{} {email} {digits}", name.to_lowercase())
}

/// A string field that must be present and not blank.
fn required_text(fields: &Map<String, Value>, field: &str, max_chars: usize) -> Result<String, AppError> {
    optional_text(fields, field, max_chars)?.ok_or_else(|| AppError::validation(field, "обязательное поле"))
}

/// A string field that may be missing, null or blank (all read as absent).
fn optional_text(fields: &Map<String, Value>, field: &str, max_chars: usize) -> Result<Option<String>, AppError> {
    match fields.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => {
            let text = text.trim();
            if text.chars().any(char::is_control) {
                return Err(AppError::validation(field, "содержит управляющие символы"));
            }
            if text.chars().count() > max_chars {
                return Err(AppError::validation(field, format!("длиннее {max_chars} символов")));
            }
            Ok((!text.is_empty()).then(|| text.to_owned()))
        }
        Some(_) => Err(AppError::validation(field, "ожидается строка")),
    }
}

/// An IP address in its canonical form.
fn parse_ip(text: &str) -> Option<String> {
    text.parse::<std::net::IpAddr>().ok().map(|ip| ip.to_string())
}

/// A short machine code such as a campaign slug or payment method: `[a-z0-9_-]`.
fn parse_code(field: &str, value: &str) -> Result<String, AppError> {
    let code = value.to_lowercase();
    if code.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        Ok(code)
    } else {
        Err(AppError::validation(field, "допустимы только латинские буквы, цифры, _ и -"))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{LeadKind, NewLead};
    use crate::error::AppError;

    fn field_of(result: Result<NewLead, AppError>) -> String {
        match result {
            Err(AppError::Validation { field, .. }) => field,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn a_full_quiz_submission_is_parsed() {
        let lead = NewLead::parse(
            LeadKind::Proftest,
            &json!({
                "name": " Тестовый Лид ", "email": "Lead@Example.com", "phone": "8 705 123 45 67",
                "slug": "Spring", "answers": {"q1": "a"}, "utm_source": "fb_kenesary", "extra": 1
            }),
        )
        .unwrap();
        assert_eq!(lead.name, "Тестовый Лид");
        assert_eq!(lead.email.as_str(), "lead@example.com");
        assert_eq!(lead.phone.as_str(), "+77051234567");
        assert_eq!(lead.phone_raw, "8 705 123 45 67");
        assert_eq!(lead.source, "proftest_spring");
        assert_eq!(lead.answers.as_deref(), Some(r#"{"q1":"a"}"#));
        assert_eq!(lead.tracking.utm_source.as_deref(), Some("fb_kenesary"));
        assert_eq!(lead.search_text(), "тестовый лид lead@example.com 77051234567");
    }

    #[test]
    fn the_visitors_browser_is_read_when_given() {
        let lead = NewLead::parse(
            LeadKind::Express,
            &json!({"name": "Лид", "email": "a@example.com", "phone": "+77051234567",
                "client_ip": " 2001:DB8::1 ", "client_user_agent": "Mozilla/5.0", "page_url": "https://landing.example.com/x"}),
        )
        .unwrap();
        assert_eq!(lead.tracking.client_ip.as_deref(), Some("2001:db8::1"));
        assert_eq!(lead.tracking.client_user_agent.as_deref(), Some("Mozilla/5.0"));
        assert_eq!(lead.tracking.page_url.as_deref(), Some("https://landing.example.com/x"));
    }

    #[test]
    fn each_bad_field_is_named() {
        let base = json!({"name": "Лид", "email": "a@example.com", "phone": "+77051234567"});
        let with = |key: &str, value: serde_json::Value| {
            let mut body = base.clone();
            body[key] = value;
            NewLead::parse(LeadKind::Express, &body)
        };
        assert_eq!(field_of(with("name", json!(""))), "name");
        assert_eq!(field_of(with("name", json!(12))), "name");
        assert_eq!(field_of(with("email", json!("nope"))), "email");
        assert_eq!(field_of(with("phone", json!("12345"))), "phone");
        assert_eq!(field_of(with("payment_method", json!("kaspi pay"))), "payment_method");
        assert_eq!(field_of(with("answers", json!("text"))), "answers");
        assert_eq!(field_of(with("utm_source", json!("x".repeat(501)))), "utm_source");
        assert_eq!(field_of(with("client_ip", json!("203.0.113"))), "client_ip");
        assert_eq!(field_of(with("page_url", json!("javascript:alert(1)"))), "page_url");
        assert_eq!(field_of(NewLead::parse(LeadKind::Express, &json!([1]))), "body");
    }
}
