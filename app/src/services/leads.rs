//! The leads table's filters, with the team named in them checked against the teams.

use crate::db::lead::resolve_campaigns;
use crate::db::team::find_team_by_name;
use crate::db::Db;
use crate::domain::lead_filter::{LeadFilter, TeamChoice};
use crate::error::AppError;
use crate::models::LeadQuery;

/// Parses `query`'s filters; a team is found by its name in any case, and "campaign
/// contains" becomes the campaigns that do.
///
/// Errors: `Validation` naming the parameter (a malformed date or status, a team that does
/// not exist).
pub async fn lead_filter(db: &Db, query: &LeadQuery) -> Result<LeadFilter, AppError> {
    let mut filter = LeadFilter::parse(query)?;
    if let Some(TeamChoice::Named(name)) = &filter.team {
        let mut conn = db.pool().acquire().await?;
        let team = find_team_by_name(&mut conn, name)
            .await?
            .ok_or_else(|| AppError::validation("team", format!("нет команды «{name}»")))?;
        filter.team = Some(TeamChoice::Named(team.name));
    }
    resolve_campaigns(db, &mut filter).await?;
    Ok(filter)
}
