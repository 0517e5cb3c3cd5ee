//! `POST /api/lead-tracking/sync` and `POST /api/admin/landing/sync-amocrm`: the same sync
//! with AmoCRM as the button on `/target`, for admins and scripts.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use app::error::AppError;
use app::services::crm_sync::sync_recent_deals;
use app::state::AppState;

use app::access::Admin;

/// Admins: runs the sync and answers its counts (409 while another sync runs).
pub async fn sync(State(state): State<AppState>, _admin: Admin) -> Result<Json<Value>, AppError> {
    let counts = sync_recent_deals(&state.services).await?;
    Ok(Json(json!({
        "success": true,
        "fetched": counts.fetched,
        "matched": counts.matched,
        "updated": counts.updated,
        "notFound": counts.not_found,
        "salesRecorded": counts.sales_recorded,
        "missingInCrm": counts.missing_in_crm,
        "missingSince": counts.missing_since,
    })))
}
