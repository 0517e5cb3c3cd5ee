//! Teams of targetologists.

use sqlx::{AnyConnection, FromRow};

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
