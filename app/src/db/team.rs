//! Teams of targetologists.

use sqlx::{AnyConnection, FromRow};

use crate::domain::attribution::TeamRules;

/// A team as attribution and the dashboards need it.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct TeamRow {
    pub team_id: i64,
    pub name: String,
    pub emoji: String,
    pub utm_source: Option<String>,
    /// JSON array of patterns.
    pub utm_patterns: String,
}

/// The team with this name, compared case-insensitively.
pub async fn find_team_by_name(conn: &mut AnyConnection, name: &str) -> Result<Option<TeamRow>, sqlx::Error> {
    sqlx::query_as("SELECT team_id, name, emoji, utm_source, utm_patterns FROM team WHERE lower(name) = lower($1)")
        .bind(name)
        .fetch_optional(conn)
        .await
}

#[derive(FromRow)]
struct RulesRow {
    team_id: i64,
    name: String,
    utm_source: Option<String>,
    utm_patterns: String,
    sort_order: i64,
}

/// The attribution rules of every team that is not archived.
pub async fn attribution_rules(conn: &mut AnyConnection) -> Result<Vec<TeamRules>, sqlx::Error> {
    let rows: Vec<RulesRow> = sqlx::query_as(
        "SELECT team_id, name, utm_source, utm_patterns, sort_order FROM team WHERE archived_at IS NULL",
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| TeamRules {
            team_id: row.team_id,
            name: row.name,
            utm_source: row.utm_source,
            // The column is written only by migrations and the team constructor, as a JSON
            // array; anything else counts as no patterns rather than stopping intake.
            patterns: serde_json::from_str(&row.utm_patterns).unwrap_or_default(),
            sort_order: row.sort_order,
        })
        .collect())
}
