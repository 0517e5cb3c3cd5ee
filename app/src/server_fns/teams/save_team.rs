use leptos::prelude::*;

use crate::error::AppError;
use crate::models::TeamInput;

/// Admins only: creates a team (no `team_id`) or updates one; when its attribution rules
/// changed, every lead is attributed again in the background. Returns the team's id.
///
/// Errors: `Unauthorized`, `Forbidden`, `Validation` (names the field), `NotFound`,
/// `Conflict` (the name is taken).
#[server(endpoint = "teams/save")]
pub async fn save_team(team: TeamInput) -> Result<i64, AppError> {
    use crate::domain::team_input::TeamFields;

    crate::access::as_admin(|state, _| async move {
        let fields = TeamFields::parse(&team)?;
        crate::services::teams::save_team(&state.services, team.team_id, &fields).await
    })
    .await
}
