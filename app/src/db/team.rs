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

/// A lead's tags and its stored attribution, for re-attribution.
#[derive(Debug, Clone, FromRow)]
pub struct LeadTags {
    pub lead_id: i64,
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
    pub team_id: Option<i64>,
    pub attribution_confidence: Option<String>,
    pub attribution_rule: Option<String>,
}

/// Up to `limit` leads after `after_lead_id`, in id order.
pub async fn lead_tags_after(
    conn: &mut AnyConnection,
    after_lead_id: i64,
    limit: i64,
) -> Result<Vec<LeadTags>, sqlx::Error> {
    sqlx::query_as(
        "SELECT lead_id, utm_source, utm_medium, utm_campaign, team_id, attribution_confidence, attribution_rule \
         FROM lead WHERE lead_id > $1 ORDER BY lead_id LIMIT $2",
    )
    .bind(after_lead_id)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// Stores a lead's new attribution.
pub async fn set_lead_attribution(
    conn: &mut AnyConnection,
    lead_id: i64,
    attribution: &crate::domain::attribution::Attribution,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE lead SET team_id = $1, attribution_confidence = $2, attribution_rule = $3, updated_at = $4 \
         WHERE lead_id = $5",
    )
    .bind(attribution.team_id)
    .bind(attribution.confidence.as_str())
    .bind(attribution.rule.as_str())
    .bind(now_ms)
    .bind(lead_id)
    .execute(conn)
    .await
    .map(drop)
}

/// Replaces a team's UTM patterns (a JSON array is stored).
pub async fn set_team_patterns(
    conn: &mut AnyConnection,
    team_id: i64,
    patterns: &[String],
    now_ms: i64,
) -> Result<bool, sqlx::Error> {
    let json = serde_json::to_string(patterns).expect("strings serialise");
    let updated = sqlx::query("UPDATE team SET utm_patterns = $1, updated_at = $2 WHERE team_id = $3")
        .bind(json)
        .bind(now_ms)
        .bind(team_id)
        .execute(conn)
        .await?;
    Ok(updated.rows_affected() == 1)
}
