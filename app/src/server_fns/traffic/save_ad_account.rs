use leptos::prelude::*;

use crate::error::AppError;

/// Admins only: assigns an ad account to a team (empty `team_id`: none, its ads then go
/// by their names) and turns its spend sync on or off (`sync` present: on). Its stored
/// spend follows the team at once.
///
/// Errors: `Unauthorized`, `Forbidden`, `NotFound`, `Validation` (team).
#[server(endpoint = "traffic/ad_account")]
pub async fn save_ad_account(account_id: String, team_id: String, sync: Option<String>) -> Result<(), AppError> {
    crate::access::as_admin(|state, _| async move {
        let team_id = match team_id.trim() {
            "" => None,
            text => Some(text.parse::<i64>().map_err(|_| AppError::validation("team_id", "неизвестная команда"))?),
        };
        if let Some(team_id) = team_id {
            let mut conn = state.db.pool().acquire().await?;
            if crate::db::team::team_by_id(&mut conn, team_id).await?.is_none() {
                return Err(AppError::validation("team_id", "неизвестная команда"));
            }
        }
        crate::services::ad_accounts::save_account_settings(&state.services, &account_id, team_id, sync.is_some()).await
    })
    .await
}
