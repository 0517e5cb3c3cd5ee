//! Delivery status: the lead status route of the landing API, the compatibility routes
//! through which older senders report status, and the Resend and Mobizon webhooks.
//!
//! Every report goes through [`apply_status`], so a status only ever moves forward and a
//! replayed report changes nothing. Webhook events are also remembered by the provider's
//! event id, in the transaction that applies them.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use app::db::delivery::{apply_status, lead_delivery, lead_of_message, remember_webhook_event};
use app::db::Db;
use app::domain::delivery::{Channel, DeliveryStatus, StatusReport};
use app::error::AppError;
use app::providers::mobizon::{final_outcome, id_of, verify_webhook_sign};
use app::providers::resend::verify_svix_signature;
use app::state::AppState;
use app::time::{now_ms, parse_almaty_seconds};

use super::require_admin;

/// `GET /api/landing/leads/:id/status`: a lead's email and SMS status, without contact data.
pub async fn lead_status(State(state): State<AppState>, Path(lead_id): Path<i64>) -> Result<Json<Value>, AppError> {
    let mut conn = state.db.pool().acquire().await?;
    let lead = lead_delivery(&mut conn, lead_id).await?.ok_or(AppError::NotFound)?;
    Ok(Json(json!({
        "success": true,
        "leadId": lead.lead_id,
        "source": lead.source,
        "createdAt": lead.created_at,
        "email": { "status": lead.email_status, "at": lead.email_status_at, "error": lead.email_error,
                   "messageId": lead.email_message_id },
        "sms": { "status": lead.sms_status, "at": lead.sms_status_at, "error": lead.sms_error,
                 "messageId": lead.sms_message_id },
        "crmDealId": lead.crm_deal_id,
    })))
}

/// The body of the compatibility routes (`docs/product.md`, "Email and SMS").
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusUpdate {
    lead_id: i64,
    status: String,
    error: Option<String>,
}

/// `POST /api/lead-tracking/update-email-status` (admin API token): `sent | opened | clicked | error`.
pub async fn update_email_status(
    state: State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, AppError> {
    update_status(
        state,
        &headers,
        &body,
        Channel::Email,
        &["sent", "delivered", "opened", "clicked", "bounced", "error"],
    )
    .await
}

/// `POST /api/lead-tracking/update-sms-status` (admin API token): `sent | delivered | error`.
pub async fn update_sms_status(
    state: State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, AppError> {
    update_status(state, &headers, &body, Channel::Sms, &["sent", "delivered", "error"]).await
}

async fn update_status(
    State(state): State<AppState>,
    headers: &HeaderMap,
    body: &[u8],
    channel: Channel,
    allowed: &[&str],
) -> Result<Json<Value>, AppError> {
    require_admin(&state, headers).await?;
    let update: StatusUpdate = serde_json::from_slice(body)
        .map_err(|error| AppError::validation("body", format!("ожидается {{leadId, status, error?}} ({error})")))?;
    let status = DeliveryStatus::parse(channel, &update.status)
        .filter(|status| allowed.contains(&status.as_str()))
        .ok_or_else(|| AppError::validation("status", format!("ожидается одно из: {}", allowed.join(", "))))?;
    let now = now_ms();
    let report = StatusReport { lead_id: update.lead_id, channel, status, at: now, error: update.error };
    let changed = apply_report(&state.db, &report, None).await?.ok_or(AppError::NotFound)?;
    Ok(Json(json!({ "success": true, "leadId": report.lead_id, "changed": changed })))
}

/// Applies a report (and remembers the webhook event it came from) in one transaction.
/// `None` when the lead does not exist; `Some(false)` for a replay or a stale status.
async fn apply_report(
    db: &Db,
    report: &StatusReport,
    event: Option<(&str, &str, &str)>,
) -> Result<Option<bool>, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let exists: Option<i64> = sqlx::query_scalar("SELECT lead_id FROM lead WHERE lead_id = $1")
        .bind(report.lead_id)
        .fetch_optional(&mut *tx)
        .await?;
    if exists.is_none() {
        return Ok(None);
    }
    if let Some((provider, event_id, event_type)) = event {
        if !remember_webhook_event(&mut tx, provider, event_id, event_type, now_ms()).await? {
            return Ok(Some(false));
        }
    }
    let changed = apply_status(&mut tx, report, now_ms()).await?;
    tx.commit().await?;
    Ok(Some(changed))
}

/// A webhook refusal: the status and a short reason, logged once.
fn refuse(provider: &str, status: StatusCode, reason: &str) -> Response {
    tracing::warn!(webhook.provider = provider, reason, "webhook refused");
    (status, Json(json!({ "success": false, "error": reason }))).into_response()
}

/// `POST /webhooks/resend`: Resend's email events, signed with Svix.
pub async fn resend_webhook(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(secret) = &state.config.email.webhook_secret else {
        return refuse("resend", StatusCode::UNAUTHORIZED, "RESEND_WEBHOOK_SECRET is not configured");
    };
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok()).unwrap_or_default();
    let event_id = header("svix-id");
    if let Err(error) = verify_svix_signature(
        secret,
        event_id,
        header("svix-timestamp"),
        header("svix-signature"),
        &body,
        now_ms() / 1000,
    ) {
        return refuse("resend", StatusCode::UNAUTHORIZED, &error.to_string());
    }
    let Ok(event) = serde_json::from_slice::<Value>(&body) else {
        return refuse("resend", StatusCode::BAD_REQUEST, "the body is not JSON");
    };
    let event_type = event["type"].as_str().unwrap_or_default();
    let data = &event["data"];
    let status = match event_type {
        "email.sent" => DeliveryStatus::Sent,
        "email.delivered" => DeliveryStatus::Delivered,
        "email.opened" => DeliveryStatus::Opened,
        "email.clicked" => DeliveryStatus::Clicked,
        "email.bounced" => DeliveryStatus::Bounced,
        "email.failed" => DeliveryStatus::Error,
        // Delays, complaints and non-email events do not change a lead's status.
        _ => return (StatusCode::OK, Json(json!({ "success": true, "ignored": event_type }))).into_response(),
    };
    let lead_id = match resend_lead_id(&state.db, data).await {
        Ok(Some(lead_id)) => lead_id,
        // Possibly our own send is not committed yet: Resend retries, and by then it is.
        Ok(None) => return refuse("resend", StatusCode::NOT_FOUND, "no lead has this email"),
        Err(error) => return AppError::from(error).into_response(),
    };
    let error = match status {
        DeliveryStatus::Bounced => data["bounce"]["message"].as_str().map(str::to_owned),
        DeliveryStatus::Error => data["failed"]["reason"].as_str().map(str::to_owned),
        _ => None,
    };
    let at = event["created_at"]
        .as_str()
        .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
        .map_or_else(now_ms, |at| at.timestamp_millis());
    let report = StatusReport { lead_id, channel: Channel::Email, status, at, error };
    match apply_report(&state.db, &report, Some(("resend", event_id, event_type))).await {
        Ok(Some(changed)) => {
            tracing::info!(lead.id = lead_id, event = event_type, changed, "Resend event processed");
            (StatusCode::OK, Json(json!({ "success": true, "changed": changed }))).into_response()
        }
        Ok(None) => refuse("resend", StatusCode::NOT_FOUND, "no lead has this email"),
        Err(error) => AppError::from(error).into_response(),
    }
}

/// The lead an email event is about: the `lead_id` tag we send, else the message id.
async fn resend_lead_id(db: &Db, data: &Value) -> Result<Option<i64>, sqlx::Error> {
    let tag = match &data["tags"] {
        Value::Array(tags) => tags.iter().find(|tag| tag["name"] == "lead_id").and_then(|tag| tag["value"].as_str()),
        Value::Object(tags) => tags.get("lead_id").and_then(Value::as_str),
        _ => None,
    };
    if let Some(lead_id) = tag.and_then(|tag| tag.parse().ok()) {
        return Ok(Some(lead_id));
    }
    let Some(email_id) = data["email_id"].as_str() else { return Ok(None) };
    let mut conn = db.pool().acquire().await?;
    lead_of_message(&mut conn, Channel::Email, email_id).await
}

/// `POST /webhooks/mobizon`: Mobizon's SMS delivery reports (JSON format), signed with
/// SHA-1 over the event's id, attempt, time and our secret.
pub async fn mobizon_webhook(State(state): State<AppState>, body: Bytes) -> Response {
    let Ok(event) = serde_json::from_slice::<Value>(&body) else {
        return refuse("mobizon", StatusCode::BAD_REQUEST, "the body is not JSON");
    };
    let text = |value: &Value| id_of(value).unwrap_or_default();
    let (event_id, attempt, created) =
        (text(&event["eventId"]), text(&event["attempt"]), text(&event["eventCreateTs"]));
    let signed = match &state.config.sms.webhook_secret {
        Some(secret) => {
            verify_webhook_sign(secret, &event_id, &attempt, &created, event["sign"].as_str().unwrap_or_default())
        }
        // Without a secret Mobizon sends no sign; only development accepts that.
        None => !state.config.production,
    };
    if !signed {
        return refuse("mobizon", StatusCode::UNAUTHORIZED, "the sign does not match or no secret is configured");
    }
    if event["eventType"] != "sms-delivery-report" {
        return (StatusCode::OK, Json(json!({ "success": true, "ignored": text(&event["eventType"]) })))
            .into_response();
    }
    let data = &event["data"];
    let Some(outcome) = final_outcome(data["status"].as_str().unwrap_or_default()) else {
        return (StatusCode::OK, Json(json!({ "success": true, "ignored": "not a final status" }))).into_response();
    };
    let lead_id = {
        let lookup = async {
            let mut conn = state.db.pool().acquire().await?;
            lead_of_message(&mut conn, Channel::Sms, &text(&data["messageId"])).await
        };
        match lookup.await {
            Ok(Some(lead_id)) => lead_id,
            // Mobizon retries for a while; our send may not be committed yet.
            Ok(None) => return refuse("mobizon", StatusCode::NOT_FOUND, "no lead has this message"),
            Err(error) => return AppError::from(error).into_response(),
        }
    };
    let (status, error) = match outcome {
        Ok(()) => (DeliveryStatus::Delivered, None),
        Err(reason) => (DeliveryStatus::Error, Some(reason)),
    };
    let at = data["statusUpdateTs"].as_str().and_then(parse_almaty_seconds).unwrap_or_else(now_ms);
    let report = StatusReport { lead_id, channel: Channel::Sms, status, at, error };
    match apply_report(&state.db, &report, Some(("mobizon", &event_id, "sms-delivery-report"))).await {
        Ok(Some(changed)) => {
            tracing::info!(lead.id = lead_id, changed, "Mobizon delivery report processed");
            (StatusCode::OK, Json(json!({ "success": true, "changed": changed }))).into_response()
        }
        Ok(None) => refuse("mobizon", StatusCode::NOT_FOUND, "no lead has this message"),
        Err(error) => AppError::from(error).into_response(),
    }
}
