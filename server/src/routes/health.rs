//! Liveness and readiness for load balancers and operators.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use app::state::AppState;

/// `GET /healthz`: the process is up.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /readyz`: the database answers and the background tasks run; 503 when the
/// database does not answer or an intake writer or job recorder is restarting.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    match state.db.ping().await {
        Ok(()) if state.supervisor.all_running() => {
            (StatusCode::OK, Json(json!({ "status": "ready", "database": "ok", "background": "ok" })))
        }
        Ok(()) => {
            tracing::warn!("readiness check: a background task is restarting after a panic");
            let body = json!({ "status": "unavailable", "database": "ok", "background": "restarting" });
            (StatusCode::SERVICE_UNAVAILABLE, Json(body))
        }
        Err(error) => {
            tracing::warn!(%error, "readiness check: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "unavailable", "database": "unreachable" })))
        }
    }
}
