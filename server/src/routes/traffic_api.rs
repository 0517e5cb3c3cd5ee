//! `GET /api/traffic-dashboard/funnel`: the four stages of a team's funnel as JSON
//! (`docs/product.md`, "Monitoring API"). Admins may ask for any team or all; a targetologist's session or token gets
//! only their own team.

use axum::extract::{Query, State};
use axum::Json;

use app::error::AppError;
use app::models::{FunnelQuery, FunnelReport};
use app::reports::funnel_report;
use app::state::AppState;

use app::access::SignedIn;

/// `?team=<name>&start=yyyy-mm-dd&end=yyyy-mm-dd` (Almaty dates, `end` inclusive) or
/// `?range=7d`; without `team`, all teams (a targetologist: their own).
pub async fn funnel(
    State(state): State<AppState>,
    SignedIn(viewer): SignedIn,
    Query(query): Query<FunnelQuery>,
) -> Result<Json<FunnelReport>, AppError> {
    Ok(Json(funnel_report(&state.db, &viewer, &query).await?))
}
