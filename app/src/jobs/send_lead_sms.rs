//! Send the follow-up SMS to a lead, ten minutes after it arrived, then watch its delivery.

use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use super::send_lead_email::{addressee, claim_for_resend, lead_recipient, record_error, record_sent, Sent};
use super::{lanes, CheckSmsStatus, CounterDeltas};
use crate::db::delivery::{record_skipped, reset_status};
use crate::db::job::{enqueue_jobs, ClaimedJob};
use crate::domain::delivery::Channel;
use crate::domain::integration::Integration;
use crate::messages::{lead_sms, Template};
use crate::queue::{Job, JobFailure, Lane, Registered, Step};
use crate::services::Services;
use crate::time::{millis, now_ms};

/// Send the follow-up SMS to a lead.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendLeadSms {
    pub lead_id: i64,
    /// An admin asked to send it again: it goes even to a recipient written to within
    /// the deduplication window, and the window starts anew from it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub resend: bool,
}

/// What the SMS job did: sent it, or skipped it because the number is outside
/// `SMS_ALLOWED_NUMBERS` (the intake skips those; an admin's resend or a policy changed
/// since the lead arrived can still meet one).
#[derive(Debug, Clone)]
pub enum Notified {
    Sent(SmsSent),
    Skipped {
        lead_id: i64,
        /// In Russian, shown with the status.
        reason: String,
    },
}

/// The SMS Mobizon accepted and whether to poll its delivery (not for the outbox).
#[derive(Debug, Clone)]
pub struct SmsSent {
    sent: Sent,
    /// The first status check and when it is due.
    status_check: Option<(CheckSmsStatus, i64)>,
}

impl Job for SendLeadSms {
    type Context = Services;
    type Output = Notified;

    const KIND: &'static str = "send_lead_sms";
    const DESCRIPTION: &'static str = "SMS";
    const LANE: Lane = lanes::SMS;
    const INTEGRATION: Option<Integration> = Some(Integration::Mobizon);

    async fn run(self, job: &ClaimedJob, services: &Services) -> Result<Step<Self>, JobFailure> {
        let lead = lead_recipient(&services.db, self.lead_id).await?;
        if let Err(reason) = services.config.sms.allowed.check(&lead.phone_e164) {
            return Ok(Step::Done(Notified::Skipped { lead_id: self.lead_id, reason }));
        }
        if self.resend {
            claim_for_resend(services, Channel::Sms, self.lead_id).await?;
        }
        let product_url = &services.config.email.product_url;
        let to = addressee(&lead, self.lead_id);
        let message = lead_sms(Template::for_kind(&lead.kind), &to, product_url, &job.idempotency_key);
        // Mobizon cannot deduplicate: before any run after the first (a retry, an admin's
        // retry, a run after a crash), look for what an earlier one may have sent.
        let earlier = if job.runs > 1 { services.sms.find_sent(&message, job.created_at).await? } else { None };
        let message_id = match earlier {
            Some(id) => {
                tracing::info!(lead.id = self.lead_id, "an earlier attempt had sent the SMS; not sending again");
                id
            }
            None => services.sms.send(&message).await?,
        };
        let sent_at = now_ms();
        let status_check = services.sms.is_real().then(|| {
            let check = CheckSmsStatus { lead_id: self.lead_id, message_id: message_id.clone(), checks: 0, sent_at };
            (check, sent_at + millis(services.config.sms.status_poll))
        });
        Ok(Step::Done(Notified::Sent(SmsSent { sent: Sent { lead_id: self.lead_id, message_id }, status_check })))
    }

    fn reference(output: &Notified) -> Option<&str> {
        match output {
            Notified::Sent(sms) => Some(&sms.sent.message_id),
            Notified::Skipped { .. } => None,
        }
    }

    async fn commit(
        output: &Notified,
        _job: &ClaimedJob,
        conn: &mut AnyConnection,
        batch: &mut CounterDeltas,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        let output = match output {
            Notified::Sent(sms) => sms,
            Notified::Skipped { lead_id, reason } => {
                return record_skipped(conn, *lead_id, Channel::Sms, reason, None, now, &mut batch.counters).await;
            }
        };
        record_sent(conn, Channel::Sms, &output.sent, batch, now).await?;
        if let Some((check, run_at)) = &output.status_check {
            let key = format!("lead-{}-sms-status-{}", check.lead_id, check.message_id);
            enqueue_jobs(conn, &[check.queued(Some(check.lead_id), key, *run_at)], now).await?;
        }
        Ok(())
    }

    async fn on_parked(
        &self,
        error: &str,
        conn: &mut AnyConnection,
        batch: &mut CounterDeltas,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        record_error(conn, Channel::Sms, self.lead_id, error, batch, now).await
    }

    async fn on_retried(&self, conn: &mut AnyConnection, now: i64) -> Result<(), sqlx::Error> {
        reset_status(conn, self.lead_id, Channel::Sms, now).await
    }
}
