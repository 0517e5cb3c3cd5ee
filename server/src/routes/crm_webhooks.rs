//! AmoCRM's webhooks (`docs/product.md`, "AmoCRM"): `POST /api/amocrm/funnel-sale`, `/webhook/amocrm/traffic`
//! and `/api/amocrm/sales-webhook`, all into one durable inbox. AmoCRM signs nothing, so
//! the URL entered in its settings carries `?token=<AMOCRM_WEBHOOK_SECRET>`. The delivery
//! is stored before the 200 goes out and processed by the job runner.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{OriginalUri, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use app::auth::secret_matches;
use app::domain::crm_webhook::{parse_deal_changes, WebhookError};
use app::error::AppError;
use app::services::webhooks::accept_crm_delivery;
use app::state::AppState;

/// Stores a delivery and answers 200; 401 for a wrong or missing `token`, 404 while no
/// secret is configured. Nothing is stored for a refused request.
pub async fn crm_webhook(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Query(params): Query<HashMap<String, String>>,
    body: Bytes,
) -> Result<Response, AppError> {
    let Some(secret) = &state.config.crm.webhook_secret else {
        return Ok(StatusCode::NOT_FOUND.into_response());
    };
    let given = params.get("token").map(String::as_str).unwrap_or_default();
    if !secret_matches(secret, given) {
        return Err(AppError::Unauthorized);
    }
    // Keys nested deeper than AmoCRM writes are no delivery of AmoCRM's: refused before
    // anything is stored. Other malformed bodies are stored as rejected and answered 200,
    // so that AmoCRM stops retrying them.
    if let Err(error @ WebhookError::TooDeep) = parse_deal_changes(&body) {
        return Err(AppError::validation("body", error.to_string()));
    }
    accept_crm_delivery(&state.services, uri.path(), &body).await?;
    Ok(Json(json!({ "ok": true })).into_response())
}
