//! Provider deliveries (webhooks): each is stored in an inbox as it arrived and its
//! processing is queued in the same transaction; the route answers after that commit and
//! the job does the work.

use super::Services;
use crate::db::crm_event::insert_crm_event;
use crate::db::job::enqueue_jobs;
use crate::domain::crm_webhook::parse_deal_changes;
use crate::jobs::ProcessCrmEvent;
use crate::queue::Registered;
use crate::time::now_ms;

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
