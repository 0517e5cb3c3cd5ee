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

/// The delivery history of each of `lead_ids`, each message's attempts (a resend starts
/// one) in the order recorded, and within an attempt in the order a message lives through
/// (sent, delivered, opened, clicked): reports may be applied in another order, and
/// providers' clocks and ours disagree by seconds.
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
    let mut events: Vec<DeliveryEvent> = query.fetch_all(conn).await?;
    // The attempt an event belongs to: how many resends of its message came before it.
    let mut attempt = Vec::with_capacity(events.len());
    for (n, event) in events.iter().enumerate() {
        let same_message = n > 0 && events[n - 1].lead_id == event.lead_id && events[n - 1].channel == event.channel;
        let before = if same_message { attempt[n - 1] } else { 0 };
        attempt.push(before + usize::from(event.status == DeliveryStatus::Pending.as_str()));
    }
    let rank = |event: &DeliveryEvent| {
        Channel::parse(&event.channel)
            .and_then(|channel| DeliveryStatus::parse(channel, &event.status))
            .map_or(0, DeliveryStatus::rank)
    };
    let mut keyed: Vec<(usize, DeliveryEvent)> = attempt.into_iter().zip(events.drain(..)).collect();
    keyed.sort_by(|(a_attempt, a), (b_attempt, b)| {
        (a.lead_id, &a.channel, a_attempt, rank(a)).cmp(&(b.lead_id, &b.channel, b_attempt, rank(b)))
    });
    Ok(keyed.into_iter().map(|(_, event)| event).collect())
}
