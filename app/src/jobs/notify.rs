//! The job context and the dispatch to each kind's handler; here too the handlers of the
//! notification jobs: send the lead's email, send its SMS, and poll
//! the SMS's delivery status until it is final.

use std::sync::Arc;
use std::time::Duration;

use super::ad_spend::{DiscoverAdAccounts, ScheduleAdSpendSync, SyncAdSpend};
use super::attribution::ReattributeLeads;
use super::messages::{follow_up_sms, quiz_result_email};
use super::sales::{NotifySale, ProcessCrmEvent};
use super::{CheckSmsStatus, Job, JobFailure, JobOutcome, PushLeadToCrm, SendLeadEmail, SendLeadSms};
use crate::config::{CrmConfig, EmailConfig, FacebookConfig, SmsConfig};
use crate::db::delivery::{apply_status, recipient, Recipient};
use crate::db::job::ClaimedJob;
use crate::db::Db;
use crate::domain::delivery::{Channel, DeliveryStatus, StatusReport};
use crate::providers::amocrm::AmoCrmClient;
use crate::providers::facebook::FacebookClient;
use crate::providers::mobizon::final_outcome;
use crate::providers::telegram::TelegramClient;
use crate::providers::{EmailSender, SmsSender};
use crate::time::now_ms;

/// Status checks stop this long after the send: Mobizon gives up on delivery after a day.
const STATUS_CHECK_WINDOW: Duration = Duration::from_secs(26 * 3600);
/// The longest wait between two status checks.
const STATUS_CHECK_MAX_INTERVAL: Duration = Duration::from_secs(3600);

/// What the handlers work with; cheap to clone.
#[derive(Debug, Clone)]
pub struct JobContext {
    pub db: Db,
    pub email: EmailSender,
    pub sms: SmsSender,
    pub email_config: Arc<EmailConfig>,
    pub sms_config: Arc<SmsConfig>,
    /// The Marketing API client; `None` without `FACEBOOK_ACCESS_TOKEN`.
    pub facebook: Option<Arc<FacebookClient>>,
    pub facebook_config: Arc<FacebookConfig>,
    pub crm_config: Arc<CrmConfig>,
    /// The AmoCRM client; `None` without `AMOCRM_BASE_URL` and `AMOCRM_ACCESS_TOKEN` (the
    /// push jobs then wait in the queue).
    pub amocrm: Option<Arc<AmoCrmClient>>,
    /// Held while a sync with AmoCRM runs: a second click is told so instead of starting another.
    pub crm_sync_running: Arc<tokio::sync::Mutex<()>>,
    /// The bot that announces sales; `None` without `TELEGRAM_BOT_TOKEN`.
    pub telegram: Option<Arc<TelegramClient>>,
    pub telegram_default_chat: Option<String>,
}

impl JobContext {
    /// Whether messages go to the development outbox instead of real providers.
    pub fn is_test_mode(&self) -> bool {
        !self.email.is_real() || !self.sms.is_real()
    }

    /// Runs one claimed job.
    pub async fn run(&self, job: &ClaimedJob) -> Result<JobOutcome, JobFailure> {
        match job.kind.as_str() {
            SendLeadEmail::KIND => self.send_email(parse(job)?, job).await,
            SendLeadSms::KIND => self.send_sms(parse(job)?, job).await,
            CheckSmsStatus::KIND => self.check_sms(parse(job)?).await,
            ReattributeLeads::KIND => parse::<ReattributeLeads>(job)?.run(self).await,
            DiscoverAdAccounts::KIND => self.discover_ad_accounts().await,
            SyncAdSpend::KIND => self.sync_ad_spend(parse(job)?).await,
            ScheduleAdSpendSync::KIND => self.schedule_ad_spend_sync().await,
            ProcessCrmEvent::KIND => self.process_crm_event(parse(job)?).await,
            NotifySale::KIND => self.notify_sale(parse(job)?).await,
            PushLeadToCrm::KIND => self.push_lead_to_crm(parse(job)?).await,
            super::crm::ScheduleCrmSync::KIND => self.scheduled_crm_sync().await,
            other => Err(JobFailure::Permanent { message: format!("no handler for job kind {other}") }),
        }
    }

    async fn recipient(&self, lead_id: i64) -> Result<Recipient, JobFailure> {
        let mut conn = self.db.pool().acquire().await?;
        recipient(&mut conn, lead_id)
            .await?
            .ok_or_else(|| JobFailure::Permanent { message: format!("lead {lead_id} does not exist") })
    }

    async fn send_email(&self, job: SendLeadEmail, claimed: &ClaimedJob) -> Result<JobOutcome, JobFailure> {
        let lead = self.recipient(job.lead_id).await?;
        let message = quiz_result_email(
            job.lead_id,
            &lead.name,
            &lead.email,
            &self.email_config.product_url,
            &claimed.idempotency_key,
        );
        // Resend keeps the key for a day: a repeated attempt returns the first send's id.
        let message_id = self.email.send(&message).await?;
        Ok(JobOutcome::Sent { channel: Channel::Email, lead_id: job.lead_id, message_id, follow_up: None })
    }

    async fn send_sms(&self, job: SendLeadSms, claimed: &ClaimedJob) -> Result<JobOutcome, JobFailure> {
        let lead = self.recipient(job.lead_id).await?;
        let message =
            follow_up_sms(&lead.name, &lead.phone_e164, &self.email_config.product_url, &claimed.idempotency_key);
        // Mobizon cannot deduplicate: before another attempt, look for what an earlier
        // attempt whose answer we never saw may have sent.
        let earlier = if claimed.attempts > 1 { self.sms.find_sent(&message, claimed.created_at).await? } else { None };
        let message_id = match earlier {
            Some(id) => {
                tracing::info!(lead.id = job.lead_id, "an earlier attempt had sent the SMS; not sending again");
                id
            }
            None => self.sms.send(&message).await?,
        };
        let sent_at = now_ms();
        let follow_up = self.sms.is_real().then(|| {
            let check = CheckSmsStatus { lead_id: job.lead_id, message_id: message_id.clone(), checks: 0, sent_at };
            let run_at = sent_at + millis(self.sms_config.status_poll);
            check.to_new_job(Some(job.lead_id), format!("lead-{}-sms-status-{message_id}", job.lead_id), run_at)
        });
        Ok(JobOutcome::Sent { channel: Channel::Sms, lead_id: job.lead_id, message_id, follow_up })
    }

    async fn check_sms(&self, job: CheckSmsStatus) -> Result<JobOutcome, JobFailure> {
        let Some(states) = self.sms.states(std::slice::from_ref(&job.message_id)).await? else {
            return Ok(JobOutcome::Done);
        };
        let final_state = states
            .iter()
            .find(|state| state.message_id == job.message_id)
            .and_then(|state| final_outcome(&state.status));
        if let Some(outcome) = final_state {
            let (status, error) = match outcome {
                Ok(()) => (DeliveryStatus::Delivered, None),
                Err(reason) => (DeliveryStatus::Error, Some(reason)),
            };
            let report = StatusReport { lead_id: job.lead_id, channel: Channel::Sms, status, at: now_ms(), error };
            let _permit = self.db.write_permit().await;
            let mut tx = self.db.pool().begin().await?;
            apply_status(&mut tx, &report, now_ms()).await?;
            tx.commit().await?;
            return Ok(JobOutcome::Done);
        }
        if now_ms() - job.sent_at > millis(STATUS_CHECK_WINDOW) {
            tracing::info!(lead.id = job.lead_id, "the SMS status never became final; checks stop");
            return Ok(JobOutcome::Done);
        }
        let after = (self.sms_config.status_poll * 2u32.saturating_pow(job.checks)).min(STATUS_CHECK_MAX_INTERVAL);
        let next = CheckSmsStatus { checks: job.checks + 1, ..job };
        Ok(JobOutcome::Again { after, payload: serde_json::to_string(&next).expect("job payloads serialise") })
    }
}

fn parse<T: serde::de::DeserializeOwned>(job: &ClaimedJob) -> Result<T, JobFailure> {
    serde_json::from_str(&job.payload)
        .map_err(|error| JobFailure::Permanent { message: format!("unreadable {} payload: {error}", job.kind) })
}

/// A duration in whole milliseconds, for timestamps.
pub fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX / 4)
}
