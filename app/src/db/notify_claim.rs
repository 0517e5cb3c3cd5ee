//! Which lead last wrote to each recipient (`notification_claim`): at most one email and
//! one SMS per recipient within the deduplication window.

use sqlx::AnyConnection;

use crate::domain::delivery::Channel;

/// Claims `recipient` on `channel` for `lead_id` before its message is sent.
///
/// Returns `None` when this lead may write to them — nobody did since `window_start`, or
/// this lead already holds the claim (a repeated run) — and otherwise the lead that holds
/// it. One statement, so two processes claiming one recipient at once cannot both win.
pub async fn claim_recipient(
    conn: &mut AnyConnection,
    channel: Channel,
    recipient: &str,
    lead_id: i64,
    now_ms: i64,
    window_start: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let won: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO notification_claim (channel, recipient, lead_id, claimed_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (channel, recipient) DO UPDATE SET lead_id = excluded.lead_id, claimed_at = excluded.claimed_at \
         WHERE notification_claim.claimed_at < $5 OR notification_claim.lead_id = excluded.lead_id \
         RETURNING lead_id",
    )
    .bind(channel.as_str())
    .bind(recipient)
    .bind(lead_id)
    .bind(now_ms)
    .bind(window_start)
    .fetch_optional(&mut *conn)
    .await?;
    if won.is_some() {
        return Ok(None);
    }
    sqlx::query_scalar("SELECT lead_id FROM notification_claim WHERE channel = $1 AND recipient = $2")
        .bind(channel.as_str())
        .bind(recipient)
        .fetch_optional(conn)
        .await
}

/// Gives up `lead_id`'s claims on `channel`: its message failed for good, so the
/// recipient's next lead may write to them.
pub async fn release_claim(conn: &mut AnyConnection, channel: Channel, lead_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM notification_claim WHERE channel = $1 AND lead_id = $2")
        .bind(channel.as_str())
        .bind(lead_id)
        .execute(conn)
        .await
        .map(drop)
}
