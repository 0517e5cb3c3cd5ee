//! Outbound providers: email and SMS (the real clients and the development outbox that
//! stands in for them when no credentials are configured) and the Facebook Marketing API.
//!
//! Every sender answers with the provider's message id or a [`SendError`] that says
//! whether trying again can help, so the job runner decides retries in one place.

pub mod amocrm;
pub mod conversions;
pub mod facebook;
pub mod mobizon;
pub mod outbox;
pub mod resend;
pub mod telegram;

use std::sync::Arc;
use std::time::Duration;

use crate::config::{EmailConfig, SmsConfig};
use crate::db::Db;
use crate::domain::integration::Refusal;

/// Why a message was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// A timeout, an outage or a rate limit: try again, not before `retry_after` if given.
    #[error("{message}")]
    Retryable { message: String, retry_after: Option<Duration> },
    /// The provider refused this message for its own content; trying again will not help.
    #[error("{message}")]
    Rejected { message: String },
    /// The provider refused our credentials or permissions: nothing of this integration
    /// can go through until someone fixes them.
    #[error("{0}")]
    Refused(Refusal),
    /// The request went out but its answer never came (a timeout after sending): the
    /// provider may or may not have acted on it.
    #[error("{message}")]
    Uncertain { message: String },
}

impl SendError {
    /// A transient failure without a hint of when to try again.
    pub fn retryable(message: impl Into<String>) -> Self {
        Self::Retryable { message: message.into(), retry_after: None }
    }

    /// A failure of the HTTP exchange itself; the URL is dropped (it may carry an API key).
    pub fn transport(provider: &str, error: reqwest::Error) -> Self {
        let kind = if error.is_timeout() { "timeout" } else { "transport error" };
        Self::retryable(format!("{provider}: {kind}: {}", error.without_url()))
    }
}

/// What a provider's delivery report says about one of our messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderReport {
    /// The provider's name of the event (`email.opened`, `sms-delivery-report`).
    pub event_type: String,
    /// The status it reports.
    pub status: crate::domain::delivery::DeliveryStatus,
    /// When the provider saw it, UTC milliseconds, if it says.
    pub at: Option<i64>,
    /// The provider's reason, for bounces and errors.
    pub error: Option<String>,
    /// The provider's id of the message.
    pub message_id: Option<String>,
    /// The lead the message was for, when our send tagged it.
    pub lead_id: Option<i64>,
}

/// A webhook body read: a report to apply, or an event that changes no status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportReading {
    /// A status report.
    Report(ProviderReport),
    /// An event of this type that changes no lead's status.
    Ignored(String),
}

/// An email to one recipient.
#[derive(Debug, Clone)]
pub struct EmailMessage {
    pub to: String,
    pub subject: String,
    pub html: String,
    pub text: String,
    /// The same key on every attempt of one job, so the provider sends it once.
    pub idempotency_key: String,
    pub lead_id: i64,
}

/// An SMS to one phone.
#[derive(Debug, Clone)]
pub struct SmsMessage {
    /// International digits without `+`, as Mobizon wants them (`77051234567`).
    pub to: String,
    pub text: String,
    pub idempotency_key: String,
}

/// A provider's answer about a sent SMS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsState {
    pub message_id: String,
    /// The provider's status word (`DELIVRD`, `UNDELIV`, …).
    pub status: String,
}

/// Where emails go.
#[derive(Debug, Clone)]
pub enum EmailSender {
    Resend(Arc<resend::ResendClient>),
    /// No credentials: recorded in the `dev_outbox` table.
    Outbox(outbox::Outbox),
}

impl EmailSender {
    /// Resend when `RESEND_API_KEY` is set, the development outbox otherwise.
    pub fn from_config(config: &EmailConfig, db: &Db) -> Self {
        match &config.api_key {
            Some(key) => Self::Resend(Arc::new(resend::ResendClient::new(config, key.clone()))),
            None => Self::Outbox(outbox::Outbox::new(db.clone())),
        }
    }

    /// Sends `message`; returns the provider's message id.
    pub async fn send(&self, message: &EmailMessage) -> Result<String, SendError> {
        match self {
            Self::Resend(client) => client.send(message).await,
            Self::Outbox(outbox) => outbox.send_email(message).await,
        }
    }

    /// Whether messages really leave the building.
    pub fn is_real(&self) -> bool {
        matches!(self, Self::Resend(_))
    }
}

/// Where SMS go.
#[derive(Debug, Clone)]
pub enum SmsSender {
    Mobizon(Arc<mobizon::MobizonClient>),
    /// No credentials: recorded in the `dev_outbox` table.
    Outbox(outbox::Outbox),
}

impl SmsSender {
    /// Mobizon when `MOBIZON_API_KEY` is set, the development outbox otherwise.
    pub fn from_config(config: &SmsConfig, db: &Db) -> Self {
        match &config.api_key {
            Some(key) => Self::Mobizon(Arc::new(mobizon::MobizonClient::new(config, key.clone()))),
            None => Self::Outbox(outbox::Outbox::new(db.clone())),
        }
    }

    /// Sends `message`; returns the provider's message id.
    pub async fn send(&self, message: &SmsMessage) -> Result<String, SendError> {
        match self {
            Self::Mobizon(client) => client.send(message).await,
            Self::Outbox(outbox) => outbox.send_sms(message).await,
        }
    }

    /// The id of an SMS with this recipient and text sent since `since_ms`, if the provider
    /// has one: an attempt whose outcome we never learned may have gone out.
    pub async fn find_sent(&self, message: &SmsMessage, since_ms: i64) -> Result<Option<String>, SendError> {
        match self {
            Self::Mobizon(client) => client.find_sent(message, since_ms).await,
            Self::Outbox(outbox) => outbox.find_sent(&message.idempotency_key).await,
        }
    }

    /// The current states of sent messages; `None` when the sender has no delivery reports.
    pub async fn states(&self, message_ids: &[String]) -> Result<Option<Vec<SmsState>>, SendError> {
        match self {
            Self::Mobizon(client) => client.states(message_ids).await.map(Some),
            Self::Outbox(_) => Ok(None),
        }
    }

    /// Whether messages really leave the building.
    pub fn is_real(&self) -> bool {
        matches!(self, Self::Mobizon(_))
    }
}

/// The `User-Agent` of every outbound request (Resend refuses requests without one).
pub const USER_AGENT: &str = concat!("leadtrack/", env!("CARGO_PKG_VERSION"));

/// An HTTP client with the given whole-request timeout.
fn http_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .timeout(timeout)
        .build()
        .expect("the TLS backend initialises")
}
