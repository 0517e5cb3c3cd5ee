//! `GET /api/lead-tracking/leads`: the leads table as JSON for admins and scripts.

use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use app::db::lead::{lead_page, lead_stats, PageStart};
use app::error::AppError;
use app::models::LeadQuery;
use app::services::leads::lead_filter;
use app::state::AppState;

use app::access::Admin;

/// The table's filters and cursor (as in [`LeadQuery`]) plus a page size.
///
/// Spelled out rather than `#[serde(flatten)]`ed: flattening breaks numbers in query strings.
#[derive(Debug, Deserialize)]
pub struct LeadsParams {
    q: Option<String>,
    source: Option<String>,
    from: Option<String>,
    to: Option<String>,
    team: Option<String>,
    email_status: Option<String>,
    sms_status: Option<String>,
    crm: Option<String>,
    utm_campaign: Option<String>,
    before: Option<i64>,
    after: Option<i64>,
    /// Rows per page, 1 to 500 (default 50).
    limit: Option<i64>,
}

/// Admins (session or bearer token): one page of leads with the matching counters.
pub async fn list_leads(
    State(state): State<AppState>,
    _admin: Admin,
    Query(params): Query<LeadsParams>,
) -> Result<Json<Value>, AppError> {
    let limit = params.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(AppError::validation("limit", "от 1 до 500"));
    }
    let query = LeadQuery {
        q: params.q,
        source: params.source,
        from: params.from,
        to: params.to,
        team: params.team,
        email_status: params.email_status,
        sms_status: params.sms_status,
        crm: params.crm,
        utm_campaign: params.utm_campaign,
        before: params.before,
        after: params.after,
    };
    let filter = lead_filter(&state.db, &query).await?;
    let page = lead_page(&state.db, &filter, PageStart::of(&query), limit).await?;
    let stats = lead_stats(&state.db, &filter).await?;
    Ok(Json(json!({
        "success": true,
        "leads": page.leads,
        "nextBefore": page.next_before,
        "prevAfter": page.prev_after,
        "stats": stats,
    })))
}
