//! Send one event to Meta's Conversions API: a lead's `Lead` or a sale's `Purchase`.
//!
//! The event's row (`meta_event`) is written with the lead or the sale, pending; the job
//! builds the event from the database when it runs and settles the row: `sent`, `expired`
//! (older than Meta's 7 days), `skipped` (nothing Meta could use) or, once the attempts are
//! spent, `failed`. Meta de-duplicates on `event_id`, so an attempt whose answer was lost
//! is simply tried again. A token Meta refuses pauses the integration; the events wait.

use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use super::{lanes, CounterDeltas};
use crate::db::job::{ClaimedJob, NewJob};
use crate::db::meta_event::{
    event_status, lead_person, purchase_person, sale_facts, settle_meta_event, NewMetaEvent, Settled,
};
use crate::domain::conversions::{
    lead_event, lead_event_id, purchase_event, sale_event_id, EventName, NotSent, Person, ServerEvent,
};
use crate::domain::integration::{Integration, Refusal};
use crate::providers::facebook::GraphError;
use crate::queue::{Job, JobFailure, Lane, Registered, Step};
use crate::services::Services;
use crate::time::now_ms;

/// Send a lead's or a sale's event to Meta.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum SendConversion {
    /// The `Lead` of an accepted lead.
    Lead { lead_id: i64 },
    /// The `Purchase` of a recorded sale.
    Purchase { sale_id: i64 },
}

impl SendConversion {
    /// The event's `event_id`.
    pub fn event_id(&self) -> String {
        match self {
            Self::Lead { lead_id } => lead_event_id(*lead_id),
            Self::Purchase { sale_id } => sale_event_id(*sale_id),
        }
    }

    /// The job and the pending event row of a lead that arrived at `at`.
    pub fn for_lead(lead_id: i64, at: i64) -> (NewJob, NewMetaEvent) {
        let job = Self::Lead { lead_id };
        let event = NewMetaEvent {
            event_id: job.event_id(),
            event_name: EventName::Lead.as_str(),
            lead_id: Some(lead_id),
            sale_id: None,
            event_time: at,
        };
        (job.queued(Some(lead_id), format!("meta-lead-{lead_id}"), at), event)
    }

    /// The job and the pending event row of a sale made at `sold_at`, queued at `now`.
    pub fn for_sale(sale_id: i64, lead_id: Option<i64>, sold_at: i64, now: i64) -> (NewJob, NewMetaEvent) {
        let job = Self::Purchase { sale_id };
        let event = NewMetaEvent {
            event_id: job.event_id(),
            event_name: EventName::Purchase.as_str(),
            lead_id,
            sale_id: Some(sale_id),
            event_time: sold_at,
        };
        (job.queued(lead_id, format!("meta-sale-{sale_id}"), now), event)
    }
}

/// How an event ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversion {
    pub event_id: String,
    /// The lead whose person data it carried.
    pub lead_id: Option<i64>,
    pub outcome: Converted,
}

/// What became of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Converted {
    /// Meta received it.
    Sent { fbtrace_id: Option<String> },
    /// Not sent, and why.
    NotSent(NotSent),
    /// Settled before (a repeated job): nothing to do.
    Settled,
}

/// No `FB_PIXEL_ID` or `FB_CAPI_TOKEN`: events recorded earlier wait for a process with both.
pub fn not_configured() -> Refusal {
    Refusal::new(
        Integration::MetaConversions,
        "FB_PIXEL_ID или FB_CAPI_TOKEN не заданы: события для Meta ждут, пока их не настроят",
    )
}

/// What a Graph API error means for an event (and for the probe).
pub(super) fn failure(error: GraphError) -> JobFailure {
    match error {
        GraphError::Token { message } => JobFailure::Refused(Refusal::new(
            Integration::MetaConversions,
            format!("Meta не принимает FB_CAPI_TOKEN — замените токен набора данных: {message}"),
        )),
        GraphError::RateLimited { message, retry_after } => {
            JobFailure::Retry { message, retry_after: Some(retry_after) }
        }
        GraphError::Transient { message } | GraphError::TooMuchData { message } => {
            JobFailure::Retry { message, retry_after: None }
        }
        // An invalid parameter or a permission about this event: another attempt is the same.
        GraphError::Refused { message } => JobFailure::Permanent { message },
    }
}

impl Job for SendConversion {
    type Context = Services;
    type Output = Conversion;

    const KIND: &'static str = "send_conversion";
    const DESCRIPTION: &'static str = "Meta Conversions API";
    const LANE: Lane = lanes::META;
    const INTEGRATION: Option<Integration> = Some(Integration::MetaConversions);

    /// Builds the event from the database and posts it, unless it is settled, too old, or
    /// has nothing Meta could match.
    async fn run(self, _job: &ClaimedJob, services: &Services) -> Result<Step<Self>, JobFailure> {
        let Some(client) = &services.conversions else {
            return Err(JobFailure::Refused(not_configured()));
        };
        let event_id = self.event_id();
        let now = now_ms();
        let mut conn = services.db.pool().acquire().await?;
        let status = event_status(&mut conn, &event_id).await?;
        let done = |lead_id, outcome| Ok(Step::Done(Conversion { event_id: event_id.clone(), lead_id, outcome }));
        if status.as_deref() != Some("pending") {
            return done(None, Converted::Settled);
        }
        let (built, lead_id) = build(&mut conn, &self, now).await?;
        drop(conn);
        let event = match built {
            Ok(event) => event,
            Err(not_sent) => return done(lead_id, Converted::NotSent(not_sent)),
        };
        let received = client.send(std::slice::from_ref(&event)).await.map_err(failure)?;
        if received.events_received < 1 {
            return Err(JobFailure::Retry { message: "Meta: events_received 0".to_owned(), retry_after: None });
        }
        tracing::info!(meta.event_id = %event_id, meta.event_name = event.event_name, "event received by Meta");
        done(lead_id, Converted::Sent { fbtrace_id: received.fbtrace_id })
    }

    async fn commit(
        output: &Conversion,
        _job: &ClaimedJob,
        conn: &mut AnyConnection,
        _batch: &mut CounterDeltas,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        let settled = match &output.outcome {
            Converted::Sent { fbtrace_id } => {
                Settled { status: "sent", detail: None, fbtrace_id: fbtrace_id.as_deref(), lead_id: output.lead_id }
            }
            Converted::NotSent(NotSent::Expired) => Settled {
                status: "expired",
                detail: Some("старше 7 дней: Meta такие события не принимает"),
                fbtrace_id: None,
                lead_id: output.lead_id,
            },
            Converted::NotSent(NotSent::Skipped(reason)) => {
                Settled { status: "skipped", detail: Some(reason), fbtrace_id: None, lead_id: output.lead_id }
            }
            Converted::Settled => return Ok(()),
        };
        settle_meta_event(conn, &output.event_id, &settled, now).await
    }

    async fn on_parked(
        &self,
        error: &str,
        conn: &mut AnyConnection,
        _batch: &mut CounterDeltas,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        let settled = Settled { status: "failed", detail: Some(error), fbtrace_id: None, lead_id: None };
        settle_meta_event(conn, &self.event_id(), &settled, now).await
    }

    async fn on_retried(&self, conn: &mut AnyConnection, now: i64) -> Result<(), sqlx::Error> {
        let settled = Settled { status: "pending", detail: None, fbtrace_id: None, lead_id: None };
        settle_meta_event(conn, &self.event_id(), &settled, now).await
    }
}

/// The event to send (or why not) and the lead whose person it carries.
async fn build(
    conn: &mut AnyConnection,
    job: &SendConversion,
    now: i64,
) -> Result<(Result<ServerEvent, NotSent>, Option<i64>), JobFailure> {
    match *job {
        SendConversion::Lead { lead_id } => {
            let person: Person =
                lead_person(conn, lead_id).await?.ok_or_else(|| JobFailure::permanent(format!("no lead {lead_id}")))?;
            Ok((lead_event(lead_id, person.seen_at_ms, &person, now), Some(lead_id)))
        }
        SendConversion::Purchase { sale_id } => {
            let sale =
                sale_facts(conn, sale_id).await?.ok_or_else(|| JobFailure::permanent(format!("no sale {sale_id}")))?;
            if sale.cancelled_at.is_some() {
                return Ok((Err(NotSent::Skipped("продажа отменена до отправки".to_owned())), sale.lead_id));
            }
            let person = match sale.lead_id {
                Some(lead_id) => purchase_person(conn, lead_id, sale.sold_at).await?,
                None => None,
            };
            let lead_id = person.as_ref().map(|(lead_id, _)| *lead_id).or(sale.lead_id);
            let event = purchase_event(
                sale_id,
                sale.sold_at,
                &sale.product,
                sale.amount,
                person.as_ref().map(|(_, person)| person),
                now,
            );
            Ok((event, lead_id))
        }
    }
}
