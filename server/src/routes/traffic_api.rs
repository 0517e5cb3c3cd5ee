//! `GET /api/traffic-dashboard/funnel` and `/ads`: the four stages of a team's funnel and
//! its ads report as JSON (`docs/product.md`, "Monitoring API"). Admins may ask for any team or all; a targetologist's session or token gets
//! only their own team.

use axum::extract::{Query, State};
use axum::Json;

use app::error::AppError;
use app::models::{AdReport, FunnelQuery, FunnelReport};
use app::reports::{ad_report, funnel_report};
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

/// `GET /api/traffic-dashboard/ads`: the same team and range parameters as the funnel;
/// spend, leads, sales, cost per lead and ROI per campaign, ad set and ad, with what
/// matched no ad as rows of its own.
pub async fn ads(
    State(state): State<AppState>,
    SignedIn(viewer): SignedIn,
    Query(query): Query<FunnelQuery>,
) -> Result<Json<AdReport>, AppError> {
    Ok(Json(ad_report(&state.db, &viewer, &query).await?))
}
