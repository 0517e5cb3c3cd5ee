//! Poll Mobizon for a sent SMS's delivery status until it is final.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use super::{lanes, CounterDeltas};
use crate::db::delivery::apply_status_deferring_counts;
use crate::db::job::ClaimedJob;
use crate::domain::delivery::{Channel, DeliveryStatus, StatusReport};
use crate::domain::integration::Integration;
use crate::providers::mobizon::final_outcome;
use crate::queue::{Job, JobFailure, Lane, Step};
use crate::services::Services;
use crate::time::{millis, now_ms};

/// Status checks stop this long after the send: Mobizon gives up on delivery after a day.
const STATUS_CHECK_WINDOW: Duration = Duration::from_secs(26 * 3600);
/// The longest wait between two status checks.
const STATUS_CHECK_MAX_INTERVAL: Duration = Duration::from_secs(3600);

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
    type Context = Services;
    /// The final report, if the status became final.
    type Output = Option<StatusReport>;

    const KIND: &'static str = "check_sms_status";
    const DESCRIPTION: &'static str = "Статус SMS";
    const LANE: Lane = lanes::SMS;
    const INTEGRATION: Option<Integration> = Some(Integration::Mobizon);

    async fn run(self, _job: &ClaimedJob, services: &Services) -> Result<Step<Self>, JobFailure> {
        let Some(states) = services.sms.states(std::slice::from_ref(&self.message_id)).await? else {
            return Ok(Step::Done(None));
        };
        let final_state = states
            .iter()
            .find(|state| state.message_id == self.message_id)
            .and_then(|state| final_outcome(&state.status));
        if let Some(outcome) = final_state {
            let (status, error) = match outcome {
                Ok(()) => (DeliveryStatus::Delivered, None),
                Err(reason) => (DeliveryStatus::Error, Some(reason)),
            };
            let report = StatusReport { lead_id: self.lead_id, channel: Channel::Sms, status, at: now_ms(), error };
            return Ok(Step::Done(Some(report)));
        }
        if now_ms() - self.sent_at > millis(STATUS_CHECK_WINDOW) {
            tracing::info!(lead.id = self.lead_id, "the SMS status never became final; checks stop");
            return Ok(Step::Done(None));
        }
        let poll = services.config.sms.status_poll;
        let after = (poll * 2u32.saturating_pow(self.checks)).min(STATUS_CHECK_MAX_INTERVAL);
        Ok(Step::Again { after, next: Self { checks: self.checks + 1, ..self } })
    }

    async fn commit(
        report: &Option<StatusReport>,
        _job: &ClaimedJob,
        conn: &mut AnyConnection,
        batch: &mut CounterDeltas,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        match report {
            Some(report) => apply_status_deferring_counts(conn, report, now, &mut batch.counters).await.map(drop),
            None => Ok(()),
        }
    }
}
