use leptos::prelude::*;

use crate::error::AppError;

/// Admins only: archives a team (`archived = true`) or brings it back; leads are
/// attributed again in the background.
///
/// Errors: `Unauthorized`, `Forbidden`, `NotFound`.
#[server(endpoint = "teams/archive")]
pub async fn archive_team(team_id: i64, archived: bool) -> Result<(), AppError> {
    crate::access::as_admin(|state, _| async move {
        crate::services::teams::archive_team(&state.services, team_id, archived).await
    })
    .await
}
