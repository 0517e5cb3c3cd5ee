use leptos::prelude::*;

use crate::error::AppError;
use crate::models::TeamView;

/// Admins only: every team, active first, in display order.
///
/// Errors: `Unauthorized`, `Forbidden`.
#[server(input = leptos::server_fn::codec::GetUrl, endpoint = "teams/list")]
pub async fn list_teams() -> Result<Vec<TeamView>, AppError> {
    crate::error::respond_with(
        async {
            crate::auth::require_admin().await?;
            let state = crate::state::app_state()?;
            let mut conn = state.db.pool().acquire().await?;
            Ok(crate::db::team::list_teams(&mut conn).await?)
        }
        .await,
    )
}
