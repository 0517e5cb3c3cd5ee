//! The team constructor and attribution overview on `/traffic/admin`.

mod archive_team;
mod get_attribution_overview;
mod list_teams;
mod save_team;

pub use archive_team::{archive_team, ArchiveTeam};
pub use get_attribution_overview::{get_attribution_overview, GetAttributionOverview};
pub use list_teams::{list_teams, ListTeams};
pub use save_team::{save_team, SaveTeam};
