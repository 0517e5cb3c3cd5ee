//! Teams of targetologists.

use sqlx::{AnyConnection, FromRow};

use crate::domain::attribution::TeamRules;
use crate::domain::team_input::TeamFields;
use crate::models::{TeamChip, TeamView, UnattributedTags};

/// A team as attribution and the dashboards need it.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct TeamRow {
    pub team_id: i64,
    pub name: String,
    pub emoji: String,
    pub color: String,
    pub utm_source: Option<String>,
    /// JSON array of patterns.
    pub utm_patterns: String,
    /// Where the team's sale messages go.
    pub telegram_chat_id: Option<String>,
}

/// The columns of a [`TeamRow`].
const TEAM_COLUMNS: &str = "team_id, name, emoji, color, utm_source, utm_patterns, telegram_chat_id";

/// The team with this name, compared case-insensitively.
pub async fn find_team_by_name(conn: &mut AnyConnection, name: &str) -> Result<Option<TeamRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {TEAM_COLUMNS} FROM team WHERE lower(name) = lower($1)"))
        .bind(name)
        .fetch_optional(conn)
        .await
}

/// The team with this id.
pub async fn team_by_id(conn: &mut AnyConnection, team_id: i64) -> Result<Option<TeamRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {TEAM_COLUMNS} FROM team WHERE team_id = $1"))
        .bind(team_id)
        .fetch_optional(conn)
        .await
}

/// The teams that are not archived, in display order, as the cabinet's team switcher
/// shows them.
pub async fn active_team_chips(conn: &mut AnyConnection) -> Result<Vec<TeamChip>, sqlx::Error> {
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT name, emoji, color FROM team WHERE archived_at IS NULL ORDER BY sort_order, team_id")
            .fetch_all(conn)
            .await?;
    Ok(rows.into_iter().map(|(name, emoji, color)| TeamChip { name, emoji, color }).collect())
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
        "SELECT team_id, name, utm_source, utm_patterns, sort_order FROM team WHERE archived_at IS NULL ORDER BY team_id",
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

/// What attribution is stored on: leads and sales carry the same tag and attribution columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attributed {
    Lead,
    Sale,
}

impl Attributed {
    fn table_and_id(self) -> (&'static str, &'static str) {
        match self {
            Self::Lead => ("lead", "lead_id"),
            Self::Sale => ("sale", "sale_id"),
        }
    }

    /// The quiz slug among the tags: a lead's campaign slug; a sale's is its lead's.
    fn slug_column(self) -> &'static str {
        match self {
            Self::Lead => "campaign_slug",
            Self::Sale => "(SELECT lead.campaign_slug FROM lead WHERE lead.lead_id = sale.lead_id)",
        }
    }
}

/// A lead's or sale's tags and its stored attribution, for re-attribution.
#[derive(Debug, Clone, FromRow)]
pub struct StoredTags {
    pub id: i64,
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
    pub campaign_slug: Option<String>,
    pub team_id: Option<i64>,
    pub attribution_confidence: Option<String>,
    pub attribution_rule: Option<String>,
}

/// Up to `limit` leads or sales after id `after`, in id order.
pub async fn tags_after(
    conn: &mut AnyConnection,
    what: Attributed,
    after: i64,
    limit: i64,
) -> Result<Vec<StoredTags>, sqlx::Error> {
    let (table, id) = what.table_and_id();
    let slug = what.slug_column();
    let sql = format!(
        "SELECT {id} AS id, utm_source, utm_medium, utm_campaign, {slug} AS campaign_slug, team_id, \
         attribution_confidence, attribution_rule FROM {table} WHERE {id} > $1 ORDER BY {id} LIMIT $2"
    );
    sqlx::query_as(&sql).bind(after).bind(limit).fetch_all(conn).await
}

/// Stores a lead's or sale's new attribution.
pub async fn set_attribution(
    conn: &mut AnyConnection,
    what: Attributed,
    id: i64,
    attribution: &crate::domain::attribution::Attribution,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    let (table, id_column) = what.table_and_id();
    let sql = format!(
        "UPDATE {table} SET team_id = $1, attribution_confidence = $2, attribution_rule = $3, updated_at = $4 \
         WHERE {id_column} = $5"
    );
    sqlx::query(&sql)
        .bind(attribution.team_id)
        .bind(attribution.confidence.as_str())
        .bind(attribution.rule.as_str())
        .bind(now_ms)
        .bind(id)
        .execute(conn)
        .await
        .map(drop)
}

#[derive(FromRow)]
struct TeamViewRow {
    team_id: i64,
    name: String,
    direction: String,
    color: String,
    emoji: String,
    utm_source: Option<String>,
    utm_medium: Option<String>,
    utm_patterns: String,
    telegram_chat_id: Option<String>,
    archived_at: Option<i64>,
}

impl From<TeamViewRow> for TeamView {
    fn from(row: TeamViewRow) -> Self {
        Self {
            team_id: row.team_id,
            name: row.name,
            direction: row.direction,
            color: row.color,
            emoji: row.emoji,
            utm_source: row.utm_source,
            utm_medium: row.utm_medium,
            patterns: serde_json::from_str(&row.utm_patterns).unwrap_or_default(),
            telegram_chat_id: row.telegram_chat_id,
            archived: row.archived_at.is_some(),
        }
    }
}

/// Every team, active first, in display order.
pub async fn list_teams(conn: &mut AnyConnection) -> Result<Vec<TeamView>, sqlx::Error> {
    let rows: Vec<TeamViewRow> = sqlx::query_as(
        "SELECT team_id, name, direction, color, emoji, utm_source, utm_medium, utm_patterns, telegram_chat_id, \
         archived_at FROM team ORDER BY CASE WHEN archived_at IS NULL THEN 0 ELSE 1 END, sort_order, team_id",
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(TeamView::from).collect())
}

/// Creates a team at the end of the order; returns its id. A duplicate name violates
/// `team_name_key`.
pub async fn insert_team(conn: &mut AnyConnection, fields: &TeamFields, now_ms: i64) -> Result<i64, sqlx::Error> {
    let query = sqlx::query_scalar(
        "INSERT INTO team (name, direction, color, emoji, utm_source, utm_medium, utm_patterns, telegram_chat_id, \
         sort_order, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, (SELECT COALESCE(MAX(sort_order), 0) + 1 FROM team), $9, $9) \
         RETURNING team_id",
    );
    bind_fields(query, fields).bind(now_ms).fetch_one(conn).await
}

/// Replaces a team's fields; false when there is no such team.
pub async fn update_team(
    conn: &mut AnyConnection,
    team_id: i64,
    fields: &TeamFields,
    now_ms: i64,
) -> Result<bool, sqlx::Error> {
    let query = sqlx::query_scalar(
        "UPDATE team SET name = $1, direction = $2, color = $3, emoji = $4, utm_source = $5, utm_medium = $6, \
         utm_patterns = $7, telegram_chat_id = $8, updated_at = $9 WHERE team_id = $10 RETURNING team_id",
    );
    let updated: Option<i64> = bind_fields(query, fields).bind(now_ms).bind(team_id).fetch_optional(conn).await?;
    Ok(updated.is_some())
}

type TeamQuery<'q> = sqlx::query::QueryScalar<'q, sqlx::Any, i64, sqlx::any::AnyArguments<'q>>;

/// Binds `$1`…`$8` of the insert and the update: the fields in column order.
fn bind_fields<'q>(query: TeamQuery<'q>, fields: &'q TeamFields) -> TeamQuery<'q> {
    query
        .bind(fields.name.as_str())
        .bind(fields.direction.as_str())
        .bind(fields.color.as_str())
        .bind(fields.emoji.as_str())
        .bind(fields.utm_source.as_deref())
        .bind(fields.utm_medium.as_deref())
        .bind(serde_json::to_string(&fields.patterns).expect("strings serialise"))
        .bind(fields.telegram_chat_id.as_deref())
}

/// Archives a team (it stops matching) or brings it back; false when there is no such team.
pub async fn set_team_archived(
    conn: &mut AnyConnection,
    team_id: i64,
    archived: bool,
    now_ms: i64,
) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE team SET archived_at = CASE WHEN $1 = 1 THEN $2 ELSE NULL END, updated_at = $2 WHERE team_id = $3",
    )
    .bind(i64::from(archived))
    .bind(now_ms)
    .bind(team_id)
    .execute(conn)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Leads and sales since `from_day` (`yyyymmdd`) without a team, and their most frequent
/// tags (by leads, then sales): `(leads, sales, tags)`.
pub async fn unattributed_since(
    conn: &mut AnyConnection,
    from_day: i64,
    limit: usize,
) -> Result<(i64, i64, Vec<UnattributedTags>), sqlx::Error> {
    type TagCount = (Option<String>, Option<String>, i64);
    let leads: Vec<TagCount> = sqlx::query_as(
        "SELECT utm_source, utm_campaign, COUNT(*) FROM lead WHERE team_id IS NULL AND created_day >= $1 \
         GROUP BY utm_source, utm_campaign",
    )
    .bind(from_day)
    .fetch_all(&mut *conn)
    .await?;
    let sales: Vec<TagCount> = sqlx::query_as(
        "SELECT utm_source, utm_campaign, COUNT(*) FROM sale WHERE team_id IS NULL AND sold_day >= $1 \
         AND cancelled_at IS NULL GROUP BY utm_source, utm_campaign",
    )
    .bind(from_day)
    .fetch_all(conn)
    .await?;
    let lead_total = leads.iter().map(|(_, _, count)| count).sum();
    let sale_total = sales.iter().map(|(_, _, count)| count).sum();
    let mut tags: std::collections::HashMap<(Option<String>, Option<String>), UnattributedTags> =
        std::collections::HashMap::new();
    let mut add = |(utm_source, utm_campaign, count): TagCount, is_sale: bool| {
        let key = (utm_source.clone(), utm_campaign.clone());
        let entry = tags.entry(key).or_insert(UnattributedTags { utm_source, utm_campaign, leads: 0, sales: 0 });
        if is_sale {
            entry.sales += count;
        } else {
            entry.leads += count;
        }
    };
    leads.into_iter().for_each(|row| add(row, false));
    sales.into_iter().for_each(|row| add(row, true));
    let mut tags: Vec<UnattributedTags> = tags.into_values().collect();
    tags.sort_by(|a, b| {
        (b.leads, b.sales)
            .cmp(&(a.leads, a.sales))
            .then_with(|| (&a.utm_source, &a.utm_campaign).cmp(&(&b.utm_source, &b.utm_campaign)))
    });
    tags.truncate(limit);
    Ok((lead_total, sale_total, tags))
}

/// The highest lead id, for progress over the lead table.
pub async fn max_lead_id(conn: &mut AnyConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COALESCE(MAX(lead_id), 0) FROM lead").fetch_one(conn).await
}
