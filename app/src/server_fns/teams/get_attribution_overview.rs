use leptos::prelude::*;

use crate::error::AppError;
use crate::models::AttributionOverview;

/// Admins only: re-attribution progress and the tags of unattributed leads and sales of
/// the last 30 Almaty days.
///
/// Errors: `Unauthorized`, `Forbidden`.
#[server(input = leptos::server_fn::codec::GetUrl, endpoint = "teams/attribution")]
pub async fn get_attribution_overview() -> Result<AttributionOverview, AppError> {
    crate::access::as_admin(|state, _| async move {
        let mut conn = state.db.pool().acquire().await?;
        let from = crate::time::today_almaty() - chrono::Days::new(29);
        let from_day = crate::time::day_number(from);
        let (unattributed_leads, unattributed_sales, unattributed_tags) =
            crate::db::team::unattributed_since(&mut conn, from_day, 20).await?;
        let reattribution_percent = crate::services::teams::reattribution_percent(&mut conn).await?;
        Ok(AttributionOverview { reattribution_percent, unattributed_leads, unattributed_sales, unattributed_tags })
    })
    .await
}
