//! Apply a stored Resend or Mobizon delivery report to the lead it is about: its status
//! moves forward (never back), in the transaction that closes the job.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use super::{lanes, CounterDeltas};
use crate::db::delivery::{apply_status_deferring_counts, finish_webhook_event, lead_of_message, webhook_event_body};
use crate::db::job::ClaimedJob;
use crate::domain::delivery::{Channel, StatusReport};
use crate::domain::integration::Integration;
use crate::providers::{mobizon, resend, ProviderReport, ReportReading};
use crate::queue::{BatchWrites, Job, JobFailure, Lane, Step};
use crate::services::Services;
use crate::time::now_ms;

/// Runs that look for the report's lead before giving up on it (fewer when
/// `JOB_MAX_ATTEMPTS` is lower): a report can arrive before the commit of the send it is about.
const LEAD_LOOKUPS: i64 = 5;
/// The wait between two looks for the lead.
const LEAD_LOOKUP_INTERVAL: Duration = Duration::from_secs(30);

/// Apply one stored webhook delivery of `provider` (`resend` or `mobizon`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApplyDeliveryReport {
    pub provider: String,
    pub event_id: String,
}

/// The status report to apply, if the delivery names one of our leads' messages.
#[derive(Debug, Clone)]
pub struct Applicable {
    provider: String,
    event_id: String,
    report: Option<StatusReport>,
}

impl Job for ApplyDeliveryReport {
    type Context = Services;
    type Output = Applicable;

    const KIND: &'static str = "apply_delivery_report";
    const DESCRIPTION: &'static str = "Отчёт о доставке";
    const LANE: Lane = lanes::WEBHOOKS;

    async fn run(self, job: &ClaimedJob, services: &Services) -> Result<Step<Self>, JobFailure> {
        let mut conn = services.db.pool().acquire().await?;
        let body = webhook_event_body(&mut conn, &self.provider, &self.event_id)
            .await?
            .ok_or_else(|| JobFailure::permanent(format!("no stored {} event {}", self.provider, self.event_id)))?;
        let (channel, reading) = match Integration::parse(&self.provider) {
            Some(Integration::Resend) => {
                (Channel::Email, resend::read_event(body.as_bytes()).map_err(JobFailure::permanent)?)
            }
            Some(Integration::Mobizon) => {
                let event = serde_json::from_str(&body).map_err(|_| JobFailure::permanent("the body is not JSON"))?;
                (Channel::Sms, mobizon::read_report(&event))
            }
            _ => return Err(JobFailure::permanent(format!("no delivery reports from {}", self.provider))),
        };
        let ReportReading::Report(report) = reading else {
            return Ok(Step::Done(Applicable { provider: self.provider, event_id: self.event_id, report: None }));
        };
        let lead_id = match lead_of(&mut conn, channel, &report).await? {
            Some(lead_id) => Some(lead_id),
            None if job.attempts < LEAD_LOOKUPS.min(i64::from(services.config.jobs.max_attempts) - 1) => {
                return Err(JobFailure::Retry {
                    message: "no lead has this message yet".to_owned(),
                    retry_after: Some(LEAD_LOOKUP_INTERVAL),
                });
            }
            None => {
                tracing::info!(webhook.provider = %self.provider, "a delivery report about no lead of ours is ignored");
                None
            }
        };
        let report = lead_id.map(|lead_id| StatusReport {
            lead_id,
            channel,
            status: report.status,
            at: report.at.unwrap_or_else(now_ms),
            error: report.error,
        });
        Ok(Step::Done(Applicable { provider: self.provider, event_id: self.event_id, report }))
    }

    async fn commit(
        applicable: &Applicable,
        _job: &ClaimedJob,
        conn: &mut AnyConnection,
        batch: &mut CounterDeltas,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        let outcome = match &applicable.report {
            Some(report) => match apply_status_deferring_counts(conn, report, now, &mut batch.counters).await? {
                true => {
                    // The job names no lead of its own: the report found it.
                    batch.lead_changed(report.lead_id);
                    "applied"
                }
                false => "stale",
            },
            None => "no_lead",
        };
        finish_webhook_event(conn, &applicable.provider, &applicable.event_id, outcome, now).await
    }
}

/// The lead a report is about: the `lead_id` tag we send, else the provider's message id.
async fn lead_of(
    conn: &mut AnyConnection,
    channel: Channel,
    report: &ProviderReport,
) -> Result<Option<i64>, sqlx::Error> {
    if let Some(lead_id) = report.lead_id {
        return Ok(Some(lead_id));
    }
    match &report.message_id {
        Some(message_id) => lead_of_message(conn, channel, message_id).await,
        None => Ok(None),
    }
}
