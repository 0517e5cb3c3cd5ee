//! Provider deliveries (webhooks): each is stored in an inbox as it arrived and its
//! processing is queued in the same transaction; the route answers after that commit and
//! the job does the work.

use super::Services;
use crate::db::crm_event::insert_crm_event;
use crate::db::delivery::store_webhook_event;
use crate::db::job::enqueue_jobs;
use crate::domain::crm_webhook::parse_deal_changes;
use crate::domain::integration::Integration;
use crate::jobs::{ApplyDeliveryReport, ProcessCrmEvent};
use crate::queue::Registered;
use crate::time::now_ms;

/// What became of a provider's delivery report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// Stored and queued.
    Queued,
    /// Seen before: nothing changes.
    Replay,
}

/// Stores a verified Resend or Mobizon delivery report under the provider's event id and
/// queues the job that applies it, in one transaction; a replay of a stored event changes
/// nothing.
pub async fn accept_delivery_report(
    services: &Services,
    provider: Integration,
    event_id: &str,
    event_type: &str,
    body: &[u8],
) -> Result<Accepted, sqlx::Error> {
    let now = now_ms();
    let provider = provider.as_str();
    let mut tx = services.db.begin_write().await?;
    let body = String::from_utf8_lossy(body);
    if !store_webhook_event(&mut tx, provider, event_id, event_type, &body, now).await? {
        return Ok(Accepted::Replay);
    }
    let job = ApplyDeliveryReport { provider: provider.to_owned(), event_id: event_id.to_owned() };
    enqueue_jobs(&mut tx, &[job.queued(None, format!("webhook-{provider}-{event_id}"), now)], now).await?;
    tx.commit().await?;
    services.waker.wake();
    Ok(Accepted::Queued)
}

/// Stores a webhook delivery as it arrived and, unless it cannot be read, queues its
/// processing, in one transaction; a malformed one is stored as `rejected` with the reason
/// (AmoCRM gets 200 either way, so that it stops retrying).
pub async fn accept_crm_delivery(services: &Services, route: &str, body: &[u8]) -> Result<(), sqlx::Error> {
    let text = String::from_utf8_lossy(body);
    let rejected = parse_deal_changes(body).err().map(|error| error.to_string());
    let status = if rejected.is_some() { "rejected" } else { "pending" };
    let now = now_ms();
    {
        let mut tx = services.db.begin_write().await?;
        let event_id = insert_crm_event(&mut tx, route, &text, status, rejected.as_deref(), now).await?;
        if rejected.is_none() {
            let job = ProcessCrmEvent { event_id }.queued(None, format!("crm-event-{event_id}"), now);
            enqueue_jobs(&mut tx, &[job], now).await?;
        }
        tx.commit().await?;
    }
    match rejected {
        Some(reason) => tracing::warn!(route, %reason, "AmoCRM delivery rejected"),
        None => services.waker.wake(),
    }
    Ok(())
}
