//! Delivery status: the lead status route of the landing API, the compatibility routes
//! through which older senders report status, and the Resend and Mobizon webhooks.
//!
//! The webhooks verify the raw body, store it under the provider's event id and queue the
//! job that applies it (`ApplyDeliveryReport`), then answer; a replayed event is stored once.
//! Every report, whichever way it comes, only ever moves a status forward.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use app::db::delivery::lead_delivery;
use app::db::delivery_event::delivery_history;
use app::domain::delivery::{Channel, DeliveryStatus, StatusReport};
use app::domain::integration::Integration;
use app::error::AppError;
use app::providers::mobizon::{self, id_of, verify_webhook_sign};
use app::providers::resend::{self, verify_svix_signature};
use app::providers::ReportReading;
use app::services::delivery::apply_report;
use app::services::webhooks::{accept_delivery_report, Accepted};
use app::state::AppState;
use app::time::now_ms;

use app::access::{Admin, Viewer};
use app::models::Role;

/// Who may read a lead's status: the `statusToken` intake gave for it.
#[derive(Debug, Deserialize)]
pub struct StatusAccess {
    token: Option<String>,
}

/// `GET /api/landing/leads/:id/status`: a lead's email and SMS status and every status
/// they reached before (`history`, oldest first), without contact data, for the holder of its `statusToken` (`?token=` or `X-Status-Token`) or an admin.
/// A wrong token is answered as an unknown lead.
pub async fn lead_status(
    State(state): State<AppState>,
    Path(lead_id): Path<i64>,
    Query(access): Query<StatusAccess>,
    viewer: Option<Extension<Viewer>>,
    headers: HeaderMap,
) -> Result<Json<Value>, AppError> {
    let is_admin = viewer.is_some_and(|Extension(viewer)| viewer.0.is_some_and(|user| user.role == Role::Admin));
    if !is_admin {
        let header = headers.get("x-status-token").and_then(|value| value.to_str().ok());
        let token = access.token.as_deref().or(header).ok_or_else(|| {
            AppError::validation("token", "нужен statusToken из ответа на заявку (?token= или X-Status-Token)")
        })?;
        if !state.status_tokens().await?.verify(lead_id, token) {
            return Err(AppError::NotFound);
        }
    }
    let mut conn = state.db.pool().acquire().await?;
    let lead = lead_delivery(&mut conn, lead_id).await?.ok_or(AppError::NotFound)?;
    let history: Vec<Value> = delivery_history(&mut conn, &[lead_id])
        .await?
        .into_iter()
        .map(
            |event| json!({ "channel": event.channel, "status": event.status, "at": event.at, "detail": event.detail }),
        )
        .collect();
    Ok(Json(json!({
        "success": true,
        "leadId": lead.lead_id,
        "source": lead.source,
        "createdAt": lead.created_at,
        "email": { "status": lead.email_status, "at": lead.email_status_at, "error": lead.email_error,
                   "messageId": lead.email_message_id, "duplicateOf": lead.email_duplicate_of },
        "sms": { "status": lead.sms_status, "at": lead.sms_status_at, "error": lead.sms_error,
                 "messageId": lead.sms_message_id, "duplicateOf": lead.sms_duplicate_of },
        "crmDealId": lead.crm_deal_id,
        "history": history,
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
pub async fn update_email_status(state: State<AppState>, _admin: Admin, body: Bytes) -> Result<Json<Value>, AppError> {
    update_status(state, &body, Channel::Email, &["sent", "delivered", "opened", "clicked", "bounced", "error"]).await
}

/// `POST /api/lead-tracking/update-sms-status` (admin API token): `sent | delivered | error`.
pub async fn update_sms_status(state: State<AppState>, _admin: Admin, body: Bytes) -> Result<Json<Value>, AppError> {
    update_status(state, &body, Channel::Sms, &["sent", "delivered", "error"]).await
}

async fn update_status(
    State(state): State<AppState>,
    body: &[u8],
    channel: Channel,
    allowed: &[&str],
) -> Result<Json<Value>, AppError> {
    let update: StatusUpdate = serde_json::from_slice(body)
        .map_err(|error| AppError::validation("body", format!("ожидается {{leadId, status, error?}} ({error})")))?;
    let status = DeliveryStatus::parse(channel, &update.status)
        .filter(|status| allowed.contains(&status.as_str()))
        .ok_or_else(|| AppError::validation("status", format!("ожидается одно из: {}", allowed.join(", "))))?;
    let now = now_ms();
    let report = StatusReport { lead_id: update.lead_id, channel, status, at: now, error: update.error };
    let changed = apply_report(&state.services, &report).await?.ok_or(AppError::NotFound)?;
    Ok(Json(json!({ "success": true, "leadId": report.lead_id, "changed": changed })))
}

/// A webhook refusal: the status and a short reason, logged once.
fn refuse(provider: &str, status: StatusCode, reason: &str) -> Response {
    tracing::warn!(webhook.provider = provider, reason, "webhook refused");
    (status, Json(json!({ "success": false, "error": reason }))).into_response()
}

/// `POST /webhooks/resend`: Resend's email events, signed with Svix; stored and applied
/// by a job.
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
    match resend::read_event(&body) {
        Err(reason) => refuse("resend", StatusCode::BAD_REQUEST, reason),
        Ok(ReportReading::Ignored(event_type)) => ignored(&event_type),
        Ok(ReportReading::Report(report)) => accepted(
            accept_delivery_report(&state.services, Integration::Resend, event_id, &report.event_type, &body).await,
        ),
    }
}

/// `POST /webhooks/mobizon`: Mobizon's SMS delivery reports (JSON format), signed with
/// SHA-1 over the event's id, attempt, time and our secret; stored and applied by a job.
pub async fn mobizon_webhook(State(state): State<AppState>, body: Bytes) -> Response {
    let Ok(event) = serde_json::from_slice::<Value>(&body) else {
        return refuse("mobizon", StatusCode::BAD_REQUEST, "the body is not JSON");
    };
    let text = |value: &Value| id_of(value).unwrap_or_default();
    let (event_id, attempt, created) =
        (text(&event["eventId"]), text(&event["attempt"]), text(&event["eventCreateTs"]));
    // Closed until its secret is configured, in development too: anyone could post
    // delivery reports otherwise.
    let Some(secret) = &state.config.sms.webhook_secret else {
        return refuse("mobizon", StatusCode::UNAUTHORIZED, "MOBIZON_WEBHOOK_SECRET is not configured");
    };
    let sign = event["sign"].as_str().unwrap_or_default();
    if !verify_webhook_sign(secret, &event_id, &attempt, &created, sign) {
        return refuse("mobizon", StatusCode::UNAUTHORIZED, "the sign does not match");
    }
    match mobizon::read_report(&event) {
        ReportReading::Ignored(what) => ignored(&what),
        ReportReading::Report(report) => accepted(
            accept_delivery_report(&state.services, Integration::Mobizon, &event_id, &report.event_type, &body).await,
        ),
    }
}

/// The answer to a delivery report stored (or seen before).
fn accepted(result: Result<Accepted, sqlx::Error>) -> Response {
    match result {
        Ok(accepted) => {
            let replay = accepted == Accepted::Replay;
            (StatusCode::OK, Json(json!({ "success": true, "replay": replay }))).into_response()
        }
        Err(error) => AppError::from(error).into_response(),
    }
}

/// The answer to an event that changes no status.
fn ignored(what: &str) -> Response {
    (StatusCode::OK, Json(json!({ "success": true, "ignored": what }))).into_response()
}
