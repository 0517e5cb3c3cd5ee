//! Send the quiz-result email to a lead, ten minutes after it arrived.

use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use super::{lanes, CounterDeltas};
use crate::db::delivery::{self, apply_status_deferring_counts, recipient, reset_status, Recipient};
use crate::db::job::ClaimedJob;
use crate::db::notify_claim::{release_claim, take_claim};
use crate::db::Db;
use crate::domain::delivery::{Channel, DeliveryStatus, StatusReport};
use crate::domain::integration::Integration;
use crate::messages::{lead_email, Addressee, Template};
use crate::queue::{Job, JobFailure, Lane, Step};
use crate::services::Services;
use crate::time::now_ms;

/// Send the quiz-result email to a lead.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendLeadEmail {
    pub lead_id: i64,
    /// An admin asked to send it again: it goes even to a recipient written to within
    /// the deduplication window, and the window starts anew from it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub resend: bool,
}

/// A message the provider accepted, with the provider's id of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub lead_id: i64,
    pub message_id: String,
}

impl Job for SendLeadEmail {
    type Context = Services;
    type Output = Sent;

    const KIND: &'static str = "send_lead_email";
    const DESCRIPTION: &'static str = "Email";
    const LANE: Lane = lanes::EMAIL;
    const INTEGRATION: Option<Integration> = Some(Integration::Resend);

    async fn run(self, job: &ClaimedJob, services: &Services) -> Result<Step<Self>, JobFailure> {
        let lead = lead_recipient(&services.db, self.lead_id).await?;
        if self.resend {
            claim_for_resend(services, Channel::Email, self.lead_id).await?;
        }
        let template = Template::for_kind(&lead.kind);
        let to = addressee(&lead, self.lead_id);
        let message = lead_email(template, &to, &services.config.email.product_url, &job.idempotency_key);
        // Resend keeps the key for a day: a repeated attempt returns the first send's id.
        let message_id = services.email.send(&message).await?;
        Ok(Step::Done(Sent { lead_id: self.lead_id, message_id }))
    }

    fn reference(output: &Sent) -> Option<&str> {
        Some(&output.message_id)
    }

    async fn commit(
        output: &Sent,
        _job: &ClaimedJob,
        conn: &mut AnyConnection,
        batch: &mut CounterDeltas,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        record_sent(conn, Channel::Email, output, batch, now).await
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

/// Before an admin's resend on `channel` goes out, gives the lead its recipient's claim
/// (see [`take_claim`]). The intake settled everything else: a message whose job runs
/// without `resend` was claimed for when its lead was stored.
pub(super) async fn claim_for_resend(services: &Services, channel: Channel, lead_id: i64) -> Result<(), JobFailure> {
    let mut conn = services.db.write_connection().await?;
    take_claim(&mut conn, channel, lead_id, now_ms()).await?;
    Ok(())
}

/// The lead a message goes to; a lead that is gone fails the job for good.
pub(super) async fn lead_recipient(db: &Db, lead_id: i64) -> Result<Recipient, JobFailure> {
    let mut conn = db.pool().acquire().await?;
    recipient(&mut conn, lead_id).await?.ok_or_else(|| JobFailure::permanent(format!("lead {lead_id} does not exist")))
}

/// What the templates read of the lead `lead_id`.
pub(super) fn addressee(lead: &Recipient, lead_id: i64) -> Addressee<'_> {
    Addressee {
        lead_id,
        name: &lead.name,
        email: &lead.email,
        phone: &lead.phone_e164,
        payment_method: lead.payment_method.as_deref(),
    }
}

/// Stores the message id on the lead and moves its status on `channel` to `sent`.
pub(super) async fn record_sent(
    conn: &mut AnyConnection,
    channel: Channel,
    sent: &Sent,
    batch: &mut CounterDeltas,
    now: i64,
) -> Result<(), sqlx::Error> {
    delivery::record_sent(conn, sent.lead_id, channel, &sent.message_id, now, &mut batch.counters).await
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
    apply_status_deferring_counts(conn, &report, now, &mut batch.counters).await?;
    release_claim(conn, channel, lead_id).await
}
