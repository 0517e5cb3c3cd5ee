//! `GET /api/integrations/all` (SPEC §9): the health of each outbound integration for
//! admins — configured or in test mode, last success, last error, queue depth.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Value};

use app::auth::authenticate;
use app::db::integration::{integration_status, queue_of_kind};
use app::error::AppError;
use app::jobs::{Job, SendLeadEmail, SendLeadSms, MOBIZON, RESEND};
use app::models::Role;
use app::state::AppState;

/// Admins (session or bearer token): Resend and Mobizon health.
pub async fn all_integrations(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<Value>, AppError> {
    let user = authenticate(&state.db, &headers).await?.ok_or(AppError::Unauthorized)?;
    if user.role != Role::Admin {
        return Err(AppError::Forbidden);
    }
    let context = state.jobs.context();
    let providers = [
        (RESEND, "Resend (email)", context.email.is_real(), SendLeadEmail::KIND),
        (MOBIZON, "Mobizon (SMS)", context.sms.is_real(), SendLeadSms::KIND),
    ];
    let mut conn = state.db.pool().acquire().await?;
    let mut integrations = Vec::new();
    for (name, title, configured, kind) in providers {
        let status = integration_status(&mut conn, name).await?;
        let (pending, failed) = queue_of_kind(&mut conn, kind).await?;
        integrations.push(json!({
            "name": name,
            "title": title,
            "configured": configured,
            "mode": if configured { "live" } else { "test" },
            "lastSuccessAt": status.as_ref().and_then(|status| status.last_success_at),
            "lastError": status.as_ref().and_then(|status| status.last_error.clone()),
            "lastErrorAt": status.as_ref().and_then(|status| status.last_error_at),
            "pending": pending,
            "failed": failed,
        }));
    }
    Ok(Json(json!({ "success": true, "integrations": integrations })))
}
