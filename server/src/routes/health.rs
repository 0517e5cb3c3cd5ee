//! Liveness and readiness for load balancers and operators.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use app::state::AppState;

/// `GET /healthz`: the process is up.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// How long `/readyz` waits for the database: it answers within a second either way.
const DATABASE_CHECK: Duration = Duration::from_millis(800);

/// `GET /readyz`: the database answers, is migrated, and the background tasks run; 503
/// when the database does not answer within 0.8 s, is not migrated yet, or an intake
/// writer or job recorder is restarting.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let answered = if !state.db.answers_within(DATABASE_CHECK).await {
        Err("no answer in time")
    } else if !state.intake.is_schema_ready() {
        Err("not migrated yet")
    } else {
        Ok(())
    };
    match answered {
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
            let body =
                json!({ "status": "unavailable", "database": "unreachable", "spooling": state.intake.is_spooling() });
            (StatusCode::SERVICE_UNAVAILABLE, Json(body))
        }
    }
}
