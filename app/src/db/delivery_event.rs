//! The delivery history: every status each lead's email and SMS reached, with its time.

use sqlx::{AnyConnection, FromRow};

use crate::models::{Channel, DeliveryStatus};

/// Adds `status` at `at` to the history of the lead's message on `channel`, unless the
/// current attempt (since the last reset to `pending`) has it already: providers repeat
/// their reports.
pub async fn record_event(
    conn: &mut AnyConnection,
    lead_id: i64,
    channel: Channel,
    status: DeliveryStatus,
    at: i64,
    detail: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO delivery_event (lead_id, channel, status, at, detail) SELECT $1, $2, $3, $4, $5 \
         WHERE NOT EXISTS (SELECT 1 FROM delivery_event WHERE lead_id = $1 AND channel = $2 AND status = $3 \
         AND event_id > COALESCE((SELECT MAX(event_id) FROM delivery_event \
         WHERE lead_id = $1 AND channel = $2 AND status = 'pending'), 0))",
    )
    .bind(lead_id)
    .bind(channel.as_str())
    .bind(status.as_str())
    .bind(at)
    .bind(detail)
    .execute(conn)
    .await
    .map(drop)
}

/// One status a lead's message reached, oldest first.
#[derive(Debug, Clone, FromRow)]
pub struct DeliveryEvent {
    pub lead_id: i64,
    pub channel: String,
    pub status: String,
    /// UTC milliseconds.
    pub at: i64,
    pub detail: Option<String>,
}

/// The delivery history of each of `lead_ids`, in the order it happened.
pub async fn delivery_history(conn: &mut AnyConnection, lead_ids: &[i64]) -> Result<Vec<DeliveryEvent>, sqlx::Error> {
    if lead_ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (1..=lead_ids.len()).map(|n| format!("${n}")).collect();
    let sql = format!(
        "SELECT lead_id, channel, status, at, detail FROM delivery_event WHERE lead_id IN ({}) \
         ORDER BY lead_id, channel, event_id",
        placeholders.join(", ")
    );
    let mut query = sqlx::query_as(&sql);
    for lead_id in lead_ids {
        query = query.bind(*lead_id);
    }
    query.fetch_all(conn).await
}
