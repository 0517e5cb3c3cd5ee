use leptos::prelude::*;

use crate::error::AppError;
use crate::models::AdAccountView;

/// Admins only: the Facebook ad accounts with their team, sync switch and last sync.
///
/// Errors: `Unauthorized`, `Forbidden`.
#[server(input = leptos::server_fn::codec::GetUrl, endpoint = "traffic/ad_accounts")]
pub async fn list_ad_accounts() -> Result<Vec<AdAccountView>, AppError> {
    crate::access::as_admin(|state, _| async move {
        let mut conn = state.db.pool().acquire().await?;
        let rows = crate::db::spend::list_ad_accounts(&mut conn).await?;
        Ok(rows
            .into_iter()
            .map(|row| AdAccountView {
                account_id: row.account_id,
                name: row.name,
                business_name: row.business_name,
                currency: row.currency,
                timezone: row.timezone,
                status: row.status,
                team_id: row.team_id,
                sync_enabled: row.sync_enabled != 0,
                last_synced_local: row.last_synced_at.map(crate::time::format_almaty),
                last_error: row.last_error,
            })
            .collect())
    })
    .await
}
