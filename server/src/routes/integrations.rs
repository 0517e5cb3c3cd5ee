//! `GET /api/integrations/all` and `GET /api/integrations/{name}` (`docs/product.md`,
//! "Monitoring API"): the health of the outbound integrations for admins — configured or in
//! test mode, working, degraded or paused (why, next probe), last success, last error,
//! queue depth, quota use, token expiry; `POST /api/integrations/{name}/check` probes one now.

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};

use app::error::AppError;
use app::services::health::integration_health;
use app::state::AppState;

use app::access::Admin;

/// Admins (session or bearer token): every integration's health.
pub async fn all_integrations(State(state): State<AppState>, _admin: Admin) -> Result<Json<Value>, AppError> {
    Ok(Json(json!({ "success": true, "integrations": health_json(&state).await? })))
}

/// Admins: one integration's health (`amocrm`, `telegram`, `facebook`, `resend`, `mobizon`).
pub async fn one_integration(
    State(state): State<AppState>,
    _admin: Admin,
    Path(name): Path<String>,
) -> Result<Json<Value>, AppError> {
    let found = health_json(&state).await?.into_iter().find(|health| health["name"] == name.as_str());
    let health = found.ok_or(AppError::NotFound)?;
    Ok(Json(json!({ "success": true, "integration": health })))
}

/// Admins: probes one integration now («Проверить сейчас»); a paused one that passes
/// resumes, a working one that refuses is paused. Answers what the probe found and the
/// integration's health after it.
pub async fn check_integration(
    State(state): State<AppState>,
    _admin: Admin,
    Path(name): Path<String>,
) -> Result<Json<Value>, AppError> {
    let message = app::services::health::check_integration(&state.services, &name).await?;
    let found = health_json(&state).await?.into_iter().find(|health| health["name"] == name.as_str());
    Ok(Json(json!({ "success": true, "message": message, "integration": found })))
}

async fn health_json(state: &AppState) -> Result<Vec<Value>, AppError> {
    let integrations: Vec<Value> = integration_health(&state.services)
        .await?
        .into_iter()
        .map(|health| {
            json!({
                "name": health.name,
                "title": health.title,
                "configured": health.configured,
                "mode": if health.configured { "live" } else { "test" },
                "state": health.state,
                "pausedAt": health.paused_at,
                "pauseReason": health.pause_reason,
                "nextProbeAt": health.next_probe_at,
                "lastSuccessAt": health.last_success_at,
                "lastError": health.last_error,
                "lastErrorAt": health.last_error_at,
                "pending": health.pending,
                "failed": health.failed,
                "usagePercent": health.usage_percent,
                "tokenExpiresAt": health.token_expires_at,
            })
        })
        .collect();
    Ok(integrations)
}
