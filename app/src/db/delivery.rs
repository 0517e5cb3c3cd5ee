//! Delivery status of leads' emails and SMS: applying reports, provider message ids and
//! the provider webhook events already processed.

use std::collections::BTreeMap;

use sqlx::{AnyConnection, FromRow};

use super::delivery_event::record_event;
use super::lead::{bump_lead_stats, StatKey};
use crate::domain::delivery::{Channel, DeliveryStatus, StatusReport};
use crate::models::LeadStats;

/// The columns of `channel` on `lead`: status, its time, error, message id.
fn columns(channel: Channel) -> (&'static str, &'static str, &'static str, &'static str) {
    match channel {
        Channel::Email => ("email_status", "email_status_at", "email_error", "email_message_id"),
        Channel::Sms => ("sms_status", "sms_status_at", "sms_error", "sms_message_id"),
    }
}

#[derive(FromRow)]
struct CurrentStatus {
    created_day: i64,
    source: String,
    status: String,
}

/// Applies `report` if it moves the lead's status forward (see [`DeliveryStatus`]);
/// returns whether it did. Unknown leads change nothing. The dashboard counters move
/// in the same transaction.
pub async fn apply_status(conn: &mut AnyConnection, report: &StatusReport, now_ms: i64) -> Result<bool, sqlx::Error> {
    let mut deltas = BTreeMap::new();
    let changed = apply_status_deferring_counts(conn, report, now_ms, &mut deltas).await?;
    bump_lead_stats(conn, &deltas).await?;
    Ok(changed)
}

/// Like [`apply_status`], but adds the counter changes to `deltas` for the caller to
/// write once, in key order, with the rest of its batch: writers that lock counter rows
/// in one order cannot deadlock each other.
pub async fn apply_status_deferring_counts(
    conn: &mut AnyConnection,
    report: &StatusReport,
    now_ms: i64,
    deltas: &mut BTreeMap<StatKey, LeadStats>,
) -> Result<bool, sqlx::Error> {
    let (status_column, at_column, error_column, _) = columns(report.channel);
    // Compare-and-set: a concurrent report between the read and the write makes the
    // update miss, and the loop reads again.
    for _ in 0..5 {
        let current: Option<CurrentStatus> = sqlx::query_as(&format!(
            "SELECT created_day, source, {status_column} AS status FROM lead WHERE lead_id = $1"
        ))
        .bind(report.lead_id)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(current) = current else { return Ok(false) };
        let before = DeliveryStatus::parse(report.channel, &current.status).unwrap_or(DeliveryStatus::Pending);
        if !before.is_overtaken_by(report.status) {
            // A late report (delivered after opened) still belongs in the history.
            record_event(conn, report.lead_id, report.channel, report.status, report.at, report.error.as_deref())
                .await?;
            return Ok(false);
        }
        if set_status(conn, report, &current.status, now_ms, (status_column, at_column, error_column)).await? {
            let key = StatKey::of(report.lead_id, current.created_day, &current.source);
            deltas.entry(key).or_default().add(&before.count_delta(report.status, report.channel));
            record_event(conn, report.lead_id, report.channel, report.status, report.at, report.error.as_deref())
                .await?;
            return Ok(true);
        }
    }
    Err(sqlx::Error::Protocol("the delivery status kept changing under a concurrent writer".to_owned()))
}

async fn set_status(
    conn: &mut AnyConnection,
    report: &StatusReport,
    expected: &str,
    now_ms: i64,
    (status_column, at_column, error_column): (&str, &str, &str),
) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query(&format!(
        "UPDATE lead SET {status_column} = $1, {at_column} = $2, {error_column} = $3, updated_at = $4 \
         WHERE lead_id = $5 AND {status_column} = $6"
    ))
    .bind(report.status.as_str())
    .bind(report.at)
    .bind(report.error.as_deref())
    .bind(now_ms)
    .bind(report.lead_id)
    .bind(expected)
    .execute(conn)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Stores the provider's id of the message sent to the lead on `channel` (webhooks find
/// the lead by it) and moves its status to `sent`, adding the counter changes to `deltas`.
/// The usual case, a lead still `pending`, is one statement; otherwise the status moves
/// only if `sent` overtakes it.
pub async fn record_sent(
    conn: &mut AnyConnection,
    lead_id: i64,
    channel: Channel,
    message_id: &str,
    now_ms: i64,
    deltas: &mut BTreeMap<StatKey, LeadStats>,
) -> Result<(), sqlx::Error> {
    let (status_column, at_column, error_column, id_column) = columns(channel);
    let was_pending: Option<(i64, String)> = sqlx::query_as(&format!(
        "UPDATE lead SET {id_column} = $1, {status_column} = $2, {at_column} = $3, {error_column} = NULL, updated_at = $3 \
         WHERE lead_id = $4 AND {status_column} = $5 RETURNING created_day, source"
    ))
    .bind(message_id)
    .bind(DeliveryStatus::Sent.as_str())
    .bind(now_ms)
    .bind(lead_id)
    .bind(DeliveryStatus::Pending.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(row) = was_pending {
        count_left_pending(deltas, lead_id, row, DeliveryStatus::Sent, channel);
        return record_event(conn, lead_id, channel, DeliveryStatus::Sent, now_ms, None).await;
    }
    set_message_id(conn, lead_id, channel, message_id).await?;
    let report = StatusReport { lead_id, channel, status: DeliveryStatus::Sent, at: now_ms, error: None };
    apply_status_deferring_counts(conn, &report, now_ms, deltas).await.map(drop)
}

/// The column naming the lead a skipped duplicate on `channel` defers to.
fn duplicate_column(channel: Channel) -> &'static str {
    match channel {
        Channel::Email => "email_duplicate_of",
        Channel::Sms => "sms_duplicate_of",
    }
}

/// Moves a `pending` message on `channel` to `skipped` with the policy's `reason` and, for
/// a duplicate, the lead whose message went out; adds the counter changes to `deltas`.
pub async fn record_skipped(
    conn: &mut AnyConnection,
    lead_id: i64,
    channel: Channel,
    reason: &str,
    duplicate_of: Option<i64>,
    now_ms: i64,
    deltas: &mut BTreeMap<StatKey, LeadStats>,
) -> Result<(), sqlx::Error> {
    let (status_column, at_column, error_column, _) = columns(channel);
    let duplicate_column = duplicate_column(channel);
    let was_pending: Option<(i64, String)> = sqlx::query_as(&format!(
        "UPDATE lead SET {status_column} = $1, {at_column} = $2, {error_column} = $3, {duplicate_column} = $4, \
         updated_at = $2 WHERE lead_id = $5 AND {status_column} = $6 RETURNING created_day, source"
    ))
    .bind(DeliveryStatus::Skipped.as_str())
    .bind(now_ms)
    .bind(reason)
    .bind(duplicate_of)
    .bind(lead_id)
    .bind(DeliveryStatus::Pending.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(row) = was_pending {
        count_left_pending(deltas, lead_id, row, DeliveryStatus::Skipped, channel);
        record_event(conn, lead_id, channel, DeliveryStatus::Skipped, now_ms, Some(reason)).await?;
    }
    Ok(())
}

/// Adds to `deltas` a message of the lead (its `created_day` and `source`) that moved from
/// `pending` to `next`.
fn count_left_pending(
    deltas: &mut BTreeMap<StatKey, LeadStats>,
    lead_id: i64,
    (created_day, source): (i64, String),
    next: DeliveryStatus,
    channel: Channel,
) {
    let key = StatKey::of(lead_id, created_day, &source);
    deltas.entry(key).or_default().add(&DeliveryStatus::Pending.count_delta(next, channel));
}

/// Stores the provider's id of the lead's message on `channel`.
async fn set_message_id(
    conn: &mut AnyConnection,
    lead_id: i64,
    channel: Channel,
    message_id: &str,
) -> Result<(), sqlx::Error> {
    let (_, _, _, id_column) = columns(channel);
    sqlx::query(&format!("UPDATE lead SET {id_column} = $1 WHERE lead_id = $2"))
        .bind(message_id)
        .bind(lead_id)
        .execute(conn)
        .await
        .map(drop)
}

/// Puts the lead's `channel` status back to `pending` before a new attempt (an admin's
/// retry or resend): the only way a status moves backwards.
pub async fn reset_status(
    conn: &mut AnyConnection,
    lead_id: i64,
    channel: Channel,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    let (status_column, at_column, error_column, _) = columns(channel);
    let duplicate_column = duplicate_column(channel);
    let current: Option<CurrentStatus> =
        sqlx::query_as(&format!("SELECT created_day, source, {status_column} AS status FROM lead WHERE lead_id = $1"))
            .bind(lead_id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some(current) = current else { return Ok(()) };
    let before = DeliveryStatus::parse(channel, &current.status).unwrap_or(DeliveryStatus::Pending);
    sqlx::query(&format!(
        "UPDATE lead SET {status_column} = 'pending', {at_column} = NULL, {error_column} = NULL, \
         {duplicate_column} = NULL, updated_at = $1 WHERE lead_id = $2"
    ))
    .bind(now_ms)
    .bind(lead_id)
    .execute(&mut *conn)
    .await?;
    let key = StatKey::of(lead_id, current.created_day, &current.source);
    bump_lead_stats(conn, &BTreeMap::from([(key, before.count_delta(DeliveryStatus::Pending, channel))])).await?;
    // A message that had gone somewhere starts a new attempt in its history.
    if before == DeliveryStatus::Pending {
        return Ok(());
    }
    record_event(conn, lead_id, channel, DeliveryStatus::Pending, now_ms, Some("отправка заново")).await
}

/// The lead whose `channel` message has this provider id.
pub async fn lead_of_message(
    conn: &mut AnyConnection,
    channel: Channel,
    message_id: &str,
) -> Result<Option<i64>, sqlx::Error> {
    let (_, _, _, id_column) = columns(channel);
    sqlx::query_scalar(&format!("SELECT lead_id FROM lead WHERE {id_column} = $1 AND {id_column} IS NOT NULL"))
        .bind(message_id)
        .fetch_optional(conn)
        .await
}

/// Stores a provider's webhook delivery as it arrived; false when it was seen before (a
/// replay), which changes nothing.
pub async fn store_webhook_event(
    conn: &mut AnyConnection,
    provider: &str,
    event_id: &str,
    event_type: &str,
    body: &str,
    now_ms: i64,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query(
        "INSERT INTO webhook_event (provider, event_id, event_type, body, received_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (provider, event_id) DO NOTHING",
    )
    .bind(provider)
    .bind(event_id)
    .bind(event_type)
    .bind(body)
    .bind(now_ms)
    .execute(conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// The stored body of a webhook delivery.
pub async fn webhook_event_body(
    conn: &mut AnyConnection,
    provider: &str,
    event_id: &str,
) -> Result<Option<String>, sqlx::Error> {
    let body: Option<Option<String>> =
        sqlx::query_scalar("SELECT body FROM webhook_event WHERE provider = $1 AND event_id = $2")
            .bind(provider)
            .bind(event_id)
            .fetch_optional(conn)
            .await?;
    Ok(body.flatten())
}

/// Records what applying a webhook delivery came to.
pub async fn finish_webhook_event(
    conn: &mut AnyConnection,
    provider: &str,
    event_id: &str,
    outcome: &str,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE webhook_event SET outcome = $1, processed_at = $2 WHERE provider = $3 AND event_id = $4")
        .bind(outcome)
        .bind(now_ms)
        .bind(provider)
        .bind(event_id)
        .execute(conn)
        .await
        .map(drop)
}

/// A lead's delivery state, as `GET /api/landing/leads/:id/status` answers it.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct LeadDelivery {
    pub lead_id: i64,
    pub name: String,
    pub source: String,
    pub created_at: i64,
    pub email_status: String,
    pub email_status_at: Option<i64>,
    pub email_error: Option<String>,
    pub email_message_id: Option<String>,
    pub email_duplicate_of: Option<i64>,
    pub sms_status: String,
    pub sms_status_at: Option<i64>,
    pub sms_error: Option<String>,
    pub sms_message_id: Option<String>,
    pub sms_duplicate_of: Option<i64>,
    pub crm_deal_id: Option<i64>,
}

/// The delivery state of one lead.
pub async fn lead_delivery(conn: &mut AnyConnection, lead_id: i64) -> Result<Option<LeadDelivery>, sqlx::Error> {
    sqlx::query_as(
        "SELECT lead_id, name, source, created_at, email_status, email_status_at, email_error, email_message_id, \
         email_duplicate_of, sms_status, sms_status_at, sms_error, sms_message_id, sms_duplicate_of, crm_deal_id \
         FROM lead WHERE lead_id = $1",
    )
    .bind(lead_id)
    .fetch_optional(conn)
    .await
}

/// What a notification job needs to know about its lead.
#[derive(Debug, Clone, FromRow)]
pub struct Recipient {
    pub name: String,
    pub email: String,
    pub phone_e164: String,
    pub kind: String,
    pub payment_method: Option<String>,
}

/// The lead's contact details.
pub async fn recipient(conn: &mut AnyConnection, lead_id: i64) -> Result<Option<Recipient>, sqlx::Error> {
    sqlx::query_as("SELECT name, email, phone_e164, kind, payment_method FROM lead WHERE lead_id = $1")
        .bind(lead_id)
        .fetch_optional(conn)
        .await
}
