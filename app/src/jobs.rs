//! Background work. Each job type is a serde struct whose `KIND` names it in the `job`
//! table forever; [`runner::JobRunner`] claims due rows and runs them through
//! [`notify`]'s handlers, which return a [`JobOutcome`] or a [`JobFailure`].

pub mod ad_spend;
pub mod admin;
pub mod attribution;
pub mod crm;
pub mod health;
pub mod messages;
pub mod notify;
pub mod runner;
pub mod sales;

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::db::job::NewJob;
use crate::domain::delivery::Channel;

/// A kind of background work.
pub trait Job: Serialize {
    /// The stable name stored in `job.kind`; never rename one that has shipped.
    const KIND: &'static str;

    /// This job as a queue row due at `run_at`, unique by `idempotency_key`.
    fn to_new_job(&self, lead_id: Option<i64>, idempotency_key: String, run_at: i64) -> NewJob {
        NewJob {
            kind: Self::KIND,
            payload: serde_json::to_string(self).expect("job payloads serialise"),
            lead_id,
            idempotency_key,
            run_at,
        }
    }
}

/// Send the quiz-result email to a lead.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendLeadEmail {
    pub lead_id: i64,
}

impl Job for SendLeadEmail {
    const KIND: &'static str = "send_lead_email";
}

/// Send the follow-up SMS to a lead.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendLeadSms {
    pub lead_id: i64,
}

impl Job for SendLeadSms {
    const KIND: &'static str = "send_lead_sms";
}

/// Ask Mobizon for the delivery status of a sent SMS, until it is final.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckSmsStatus {
    pub lead_id: i64,
    pub message_id: String,
    /// Checks so far; the interval doubles with each.
    pub checks: u32,
    /// When the SMS was sent, UTC milliseconds; checks stop a day later.
    pub sent_at: i64,
}

impl Job for CheckSmsStatus {
    const KIND: &'static str = "check_sms_status";
}

/// Create or update the lead's contact and deal in AmoCRM.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PushLeadToCrm {
    pub lead_id: i64,
}

impl Job for PushLeadToCrm {
    const KIND: &'static str = "push_lead_to_crm";
}

/// What a finished job leaves behind, written in the transaction that closes the job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    /// The provider accepted the lead's message: store its id, mark the lead `sent`, and
    /// enqueue `follow_up` (a status check) if any.
    Sent { channel: Channel, lead_id: i64, message_id: String, follow_up: Option<NewJob> },
    /// Nothing more to do.
    Done,
    /// Run again after `after` with `payload` (a poll that is not finished).
    Again { after: Duration, payload: String },
}

/// Why a job did not finish.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobFailure {
    /// Worth another attempt, not before `retry_after` when the provider said so.
    #[error("{message}")]
    Retry { message: String, retry_after: Option<Duration> },
    /// Another attempt cannot help; the job is parked as failed at once.
    #[error("{message}")]
    Permanent { message: String },
}

impl From<crate::providers::SendError> for JobFailure {
    fn from(error: crate::providers::SendError) -> Self {
        match error {
            crate::providers::SendError::Retryable { message, retry_after } => Self::Retry { message, retry_after },
            crate::providers::SendError::Rejected { message } => Self::Permanent { message },
        }
    }
}

impl From<sqlx::Error> for JobFailure {
    fn from(error: sqlx::Error) -> Self {
        Self::Retry { message: format!("database: {error}"), retry_after: None }
    }
}

/// The delivery channel a job kind reports on, if it sends a lead's message.
pub fn channel_of_kind(kind: &str) -> Option<Channel> {
    match kind {
        SendLeadEmail::KIND => Some(Channel::Email),
        SendLeadSms::KIND => Some(Channel::Sms),
        _ => None,
    }
}

/// The outbound integration a job kind talks to, for the health view.
pub fn integration_of_kind(kind: &str) -> Option<&'static str> {
    match kind {
        SendLeadEmail::KIND => Some(RESEND),
        SendLeadSms::KIND | CheckSmsStatus::KIND => Some(MOBIZON),
        PushLeadToCrm::KIND => Some(AMOCRM),
        ad_spend::DiscoverAdAccounts::KIND | ad_spend::SyncAdSpend::KIND => Some(ad_spend::FACEBOOK),
        sales::NotifySale::KIND => Some(sales::TELEGRAM),
        _ => None,
    }
}

/// The health view's name of the email provider.
pub const RESEND: &str = "resend";
/// The health view's name of AmoCRM.
pub const AMOCRM: &str = "amocrm";
/// The health view's name of the SMS provider.
pub const MOBIZON: &str = "mobizon";

/// A job kind in Russian, for the dashboard.
pub fn describe_kind(kind: &str) -> &'static str {
    match kind {
        SendLeadEmail::KIND => "Email",
        SendLeadSms::KIND => "SMS",
        CheckSmsStatus::KIND => "Статус SMS",
        PushLeadToCrm::KIND => "AmoCRM",
        attribution::ReattributeLeads::KIND => "Атрибуция",
        ad_spend::DiscoverAdAccounts::KIND => "Кабинеты Facebook",
        ad_spend::SyncAdSpend::KIND | ad_spend::ScheduleAdSpendSync::KIND => "Расходы Facebook",
        sales::ProcessCrmEvent::KIND => "Вебхук AmoCRM",
        crm::ScheduleCrmSync::KIND => "Синхронизация AmoCRM",
        sales::NotifySale::KIND => "Telegram",
        _ => "Задача",
    }
}
