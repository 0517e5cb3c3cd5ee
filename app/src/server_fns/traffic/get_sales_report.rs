use leptos::prelude::*;

use crate::error::AppError;
use crate::models::{SalesReport, SalesReportQuery};

/// Admins only: sales and revenue by team and by day, week or month, and leads, sales and
/// revenue per UTM source and campaign, over a range of Almaty days.
///
/// Errors: `Unauthorized`, `Forbidden`, `Validation` (malformed range or grouping).
#[server(input = leptos::server_fn::codec::GetUrl, endpoint = "traffic/sales_report")]
pub async fn get_sales_report(#[server(default)] query: SalesReportQuery) -> Result<SalesReport, AppError> {
    crate::access::as_admin(|state, _| async move { crate::reports::sales_report(&state.db, &query).await }).await
}
