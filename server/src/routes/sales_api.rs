//! The sales part of the monitoring API (`docs/product.md`, "Monitoring API"), kept from the system this replaces:
//! `GET /api/amocrm/sales-history`, `GET /api/amocrm/sales-stats` and
//! `POST /api/amocrm/test-sale-notification`. Dates are Almaty calendar dates, `end`
//! inclusive.

use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use app::error::AppError;
use app::reports::{sales_history_for, team_sales_for};
use app::services::sales::send_test_sale;
use app::state::AppState;

use app::access::{Admin, SignedIn};

/// `?targetologist=<team>&start=yyyy-mm-dd&end=yyyy-mm-dd`.
#[derive(Debug, Deserialize)]
pub struct SalesParams {
    targetologist: Option<String>,
    start: Option<String>,
    end: Option<String>,
}

/// Signed-in users: the sales of a range, newest first; a targetologist gets only their
/// own team's (403 for another).
pub async fn sales_history(
    State(state): State<AppState>,
    SignedIn(viewer): SignedIn,
    Query(params): Query<SalesParams>,
) -> Result<Json<Value>, AppError> {
    let (team, range, sales) = sales_history_for(
        &state.db,
        &viewer,
        params.targetologist.as_deref(),
        params.start.as_deref(),
        params.end.as_deref(),
    )
    .await?;
    Ok(Json(json!({
        "success": true,
        "targetologist": team,
        "start": range.start.to_string(),
        "end": range.end.to_string(),
        "sales": sales,
    })))
}

/// Admins: sales count and revenue per team for a range (cancelled sales left out).
pub async fn sales_stats(
    State(state): State<AppState>,
    _admin: Admin,
    Query(params): Query<SalesParams>,
) -> Result<Json<Value>, AppError> {
    let (range, teams) = team_sales_for(&state.db, params.start.as_deref(), params.end.as_deref()).await?;
    let stats: Vec<Value> = teams
        .iter()
        .map(|row| {
            json!({
                "targetologist": row.team,
                "sales": row.express_sales + row.flagship_sales + row.other_sales,
                "expressSales": row.express_sales,
                "flagshipSales": row.flagship_sales,
                "otherSales": row.other_sales,
                "revenue": row.revenue,
            })
        })
        .collect();
    let total_sales: i64 = teams.iter().map(|row| row.express_sales + row.flagship_sales + row.other_sales).sum();
    let total_revenue: i64 = teams.iter().map(|row| row.revenue).sum();
    Ok(Json(json!({
        "success": true,
        "start": range.start.to_string(),
        "end": range.end.to_string(),
        "stats": stats,
        "totalSales": total_sales,
        "totalRevenue": total_revenue,
    })))
}

/// The test message's fields.
#[derive(Debug, Deserialize)]
pub struct TestSale {
    targetologist: Option<String>,
    contact_name: String,
    sale_amount: i64,
    product_name: String,
}

/// Admins: sends a test sale message to the team's (or the default) Telegram chat now.
pub async fn test_sale_notification(
    State(state): State<AppState>,
    _admin: Admin,
    Json(test): Json<TestSale>,
) -> Result<Json<Value>, AppError> {
    if test.sale_amount < 0 {
        return Err(AppError::validation("sale_amount", "сумма не может быть отрицательной"));
    }
    send_test_sale(
        &state.services,
        test.targetologist.as_deref(),
        &test.contact_name,
        test.sale_amount,
        &test.product_name,
    )
    .await?;
    Ok(Json(json!({ "success": true })))
}
