use leptos::prelude::*;

use crate::error::AppError;
use crate::models::TeamView;

/// Admins only: every team, active first, in display order.
///
/// Errors: `Unauthorized`, `Forbidden`.
#[server(input = leptos::server_fn::codec::GetUrl, endpoint = "teams/list")]
pub async fn list_teams() -> Result<Vec<TeamView>, AppError> {
    crate::access::as_admin(|state, _| async move {
        let mut conn = state.db.pool().acquire().await?;
        Ok(crate::db::team::list_teams(&mut conn).await?)
    })
    .await
}
