//! Which lead last wrote to each recipient (`notification_claim`): at most one email and
//! one SMS per recipient within the deduplication window.
//!
//! The intake claims a batch's recipients in the batch's own transaction, so a lead that
//! repeats one is known as a duplicate when it is stored and no message job is queued for
//! it; the message jobs themselves take no write before they send.

use std::collections::HashMap;

use sqlx::AnyConnection;

use crate::domain::delivery::Channel;

/// Recipients per upsert: SQLite resolves `$n` parameters in time quadratic in their
/// number, so statements stay narrow.
const CLAIMS_PER_STATEMENT: usize = 64;

/// Claims each recipient of `claims` (distinct, each with its lead) on `channel` at
/// `now_ms`, where nobody claimed it since `window_start` or its lead holds it already.
///
/// Returns, for the recipients that were not won, the lead that holds them. One upsert
/// per chunk, so two transactions claiming one recipient at once cannot both win
/// (PostgreSQL makes the second wait for the first's commit and then sees its claim).
/// Sort `claims` by recipient so that concurrent batches lock rows in one order.
pub async fn claim_recipients(
    conn: &mut AnyConnection,
    channel: Channel,
    claims: &[(&str, i64)],
    now_ms: i64,
    window_start: i64,
) -> Result<HashMap<String, i64>, sqlx::Error> {
    let mut held = HashMap::new();
    for chunk in claims.chunks(CLAIMS_PER_STATEMENT) {
        let rows: Vec<String> =
            (0..chunk.len()).map(|row| format!("($1, ${}, ${}, $2)", 4 + 2 * row, 5 + 2 * row)).collect();
        let sql = format!(
            "INSERT INTO notification_claim (channel, recipient, lead_id, claimed_at) VALUES {} \
             ON CONFLICT (channel, recipient) DO UPDATE SET lead_id = excluded.lead_id, claimed_at = excluded.claimed_at \
             WHERE notification_claim.claimed_at < $3 OR notification_claim.lead_id = excluded.lead_id \
             RETURNING recipient",
            rows.join(", ")
        );
        let mut query = sqlx::query_scalar(&sql).bind(channel.as_str()).bind(now_ms).bind(window_start);
        for (recipient, lead_id) in chunk {
            query = query.bind(*recipient).bind(*lead_id);
        }
        let won: Vec<String> = query.fetch_all(&mut *conn).await?;
        if won.len() < chunk.len() {
            let lost: Vec<&str> = chunk
                .iter()
                .map(|(recipient, _)| *recipient)
                .filter(|recipient| !won.iter().any(|w| w == recipient))
                .collect();
            held.extend(holders(conn, channel, &lost).await?);
        }
    }
    Ok(held)
}

/// The leads holding these recipients on `channel`.
async fn holders(
    conn: &mut AnyConnection,
    channel: Channel,
    recipients: &[&str],
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let placeholders: Vec<String> = (0..recipients.len()).map(|i| format!("${}", i + 2)).collect();
    let sql = format!(
        "SELECT recipient, lead_id FROM notification_claim WHERE channel = $1 AND recipient IN ({})",
        placeholders.join(", ")
    );
    let mut query = sqlx::query_as(&sql).bind(channel.as_str());
    for recipient in recipients {
        query = query.bind(*recipient);
    }
    query.fetch_all(conn).await
}

/// Gives `lead_id` the claim on its own recipient on `channel`, whoever held it: an
/// admin asked to send its message again, so the window starts anew from this one.
pub async fn take_claim(
    conn: &mut AnyConnection,
    channel: Channel,
    lead_id: i64,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    let recipient_column = match channel {
        Channel::Email => "email",
        Channel::Sms => "phone_e164",
    };
    sqlx::query(&format!(
        "INSERT INTO notification_claim (channel, recipient, lead_id, claimed_at) \
         SELECT $1, {recipient_column}, lead_id, $2 FROM lead WHERE lead_id = $3 \
         ON CONFLICT (channel, recipient) DO UPDATE SET lead_id = excluded.lead_id, claimed_at = excluded.claimed_at"
    ))
    .bind(channel.as_str())
    .bind(now_ms)
    .bind(lead_id)
    .execute(conn)
    .await
    .map(drop)
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
