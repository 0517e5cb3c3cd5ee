//! `GET /api/integrations/all` (SPEC §9): the health of each outbound integration for
//! admins — configured or in test mode, last success, last error, queue depth.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Value};

use app::error::AppError;
use app::jobs::health::integration_health;
use app::state::AppState;

use super::require_admin;

/// Admins (session or bearer token): Resend and Mobizon health.
pub async fn all_integrations(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<Value>, AppError> {
    require_admin(&state, &headers).await?;
    let integrations: Vec<Value> = integration_health(state.jobs.context())
        .await?
        .into_iter()
        .map(|health| {
            json!({
                "name": health.name,
                "title": health.title,
                "configured": health.configured,
                "mode": if health.configured { "live" } else { "test" },
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
    Ok(Json(json!({ "success": true, "integrations": integrations })))
}
