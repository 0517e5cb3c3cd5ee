//! Send the quiz-result email to a lead, ten minutes after it arrived.

use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use super::{lanes, CounterDeltas};
use crate::db::delivery::{self, apply_status_deferring_counts, recipient, reset_status, Recipient};
use crate::db::job::ClaimedJob;
use crate::db::notify_claim::{claim_recipient, release_claim};
use crate::db::Db;
use crate::domain::delivery::{Channel, DeliveryStatus, StatusReport};
use crate::domain::integration::Integration;
use crate::messages::quiz_result_email;
use crate::queue::{Job, JobFailure, Lane, Step};
use crate::services::Services;
use crate::time::{millis, now_ms};

/// Send the quiz-result email to a lead.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendLeadEmail {
    pub lead_id: i64,
    /// An admin asked to send it again: the deduplication window does not apply.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub resend: bool,
}

/// What a message job did: sent it, or skipped it by the notification policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notified<S> {
    Sent(S),
    Skipped(Skipped),
}

/// A message the policy did not send, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub lead_id: i64,
    /// In Russian, shown with the status.
    pub reason: String,
    /// A duplicate: the lead whose message went to the same recipient.
    pub duplicate_of: Option<i64>,
}

/// A message the provider accepted, with the provider's id of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub lead_id: i64,
    pub message_id: String,
}

impl Job for SendLeadEmail {
    type Context = Services;
    type Output = Notified<Sent>;

    const KIND: &'static str = "send_lead_email";
    const DESCRIPTION: &'static str = "Email";
    const LANE: Lane = lanes::EMAIL;
    const INTEGRATION: Option<Integration> = Some(Integration::Resend);

    async fn run(self, job: &ClaimedJob, services: &Services) -> Result<Step<Self>, JobFailure> {
        let lead = lead_recipient(&services.db, self.lead_id).await?;
        if let Some(skipped) = claim_or_skip(services, Channel::Email, &lead.email, self.lead_id, self.resend).await? {
            return Ok(Step::Done(Notified::Skipped(skipped)));
        }
        let message = quiz_result_email(
            self.lead_id,
            &lead.name,
            &lead.email,
            &services.config.email.product_url,
            &job.idempotency_key,
        );
        // Resend keeps the key for a day: a repeated attempt returns the first send's id.
        let message_id = services.email.send(&message).await?;
        Ok(Step::Done(Notified::Sent(Sent { lead_id: self.lead_id, message_id })))
    }

    fn reference(output: &Notified<Sent>) -> Option<&str> {
        match output {
            Notified::Sent(sent) => Some(&sent.message_id),
            Notified::Skipped(_) => None,
        }
    }

    async fn commit(
        output: &Notified<Sent>,
        _job: &ClaimedJob,
        conn: &mut AnyConnection,
        batch: &mut CounterDeltas,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        match output {
            Notified::Sent(sent) => record_sent(conn, Channel::Email, sent, batch, now).await,
            Notified::Skipped(skipped) => record_skipped(conn, Channel::Email, skipped, batch, now).await,
        }
    }

    async fn on_parked(
        &self,
        error: &str,
        conn: &mut AnyConnection,
        batch: &mut CounterDeltas,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        record_error(conn, Channel::Email, self.lead_id, error, batch, now).await
    }

    async fn on_retried(&self, conn: &mut AnyConnection, now: i64) -> Result<(), sqlx::Error> {
        reset_status(conn, self.lead_id, Channel::Email, now).await
    }
}

/// Claims `recipient` for this lead before its message on `channel` is sent (see
/// [`claim_recipient`]); `Some` when another lead wrote to them within
/// `NOTIFY_DEDUP_HOURS`. An admin's resend always claims.
pub(super) async fn claim_or_skip(
    services: &Services,
    channel: Channel,
    recipient: &str,
    lead_id: i64,
    resend: bool,
) -> Result<Option<Skipped>, JobFailure> {
    let window = services.config.intake.notify_dedup;
    if window.is_zero() && !resend {
        return Ok(None);
    }
    let now = now_ms();
    let window_start = if resend { i64::MAX } else { now - millis(window) };
    let mut conn = services.db.write_connection().await?;
    let Some(other) = claim_recipient(&mut conn, channel, recipient, lead_id, now, window_start).await? else {
        return Ok(None);
    };
    let hours = window.as_secs() / 3600;
    Ok(Some(Skipped {
        lead_id,
        reason: format!("повтор: за последние {hours} ч этому получателю уже написали по лиду #{other}"),
        duplicate_of: Some(other),
    }))
}

/// The lead a message goes to; a lead that is gone fails the job for good.
pub(super) async fn lead_recipient(db: &Db, lead_id: i64) -> Result<Recipient, JobFailure> {
    let mut conn = db.pool().acquire().await?;
    recipient(&mut conn, lead_id).await?.ok_or_else(|| JobFailure::permanent(format!("lead {lead_id} does not exist")))
}

/// Stores the message id on the lead and moves its status on `channel` to `sent`.
pub(super) async fn record_sent(
    conn: &mut AnyConnection,
    channel: Channel,
    sent: &Sent,
    batch: &mut CounterDeltas,
    now: i64,
) -> Result<(), sqlx::Error> {
    delivery::record_sent(conn, sent.lead_id, channel, &sent.message_id, now, &mut batch.0).await
}

/// Moves the lead's status on `channel` to `skipped` with the reason.
pub(super) async fn record_skipped(
    conn: &mut AnyConnection,
    channel: Channel,
    skipped: &Skipped,
    batch: &mut CounterDeltas,
    now: i64,
) -> Result<(), sqlx::Error> {
    let Skipped { lead_id, reason, duplicate_of } = skipped;
    delivery::record_skipped(conn, *lead_id, channel, reason, *duplicate_of, now, &mut batch.0).await
}

/// Moves the lead's status on `channel` to `error` with the job's last error, and gives
/// its recipient's claim back: the next lead of theirs may be messaged.
pub(super) async fn record_error(
    conn: &mut AnyConnection,
    channel: Channel,
    lead_id: i64,
    error: &str,
    batch: &mut CounterDeltas,
    now: i64,
) -> Result<(), sqlx::Error> {
    let report =
        StatusReport { lead_id, channel, status: DeliveryStatus::Error, at: now, error: Some(error.to_owned()) };
    apply_status_deferring_counts(conn, &report, now, &mut batch.0).await?;
    release_claim(conn, channel, lead_id).await
}
