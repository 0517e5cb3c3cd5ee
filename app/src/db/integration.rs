//! What each outbound integration last did: its last success and its last error.

use sqlx::{AnyConnection, FromRow};

/// One integration's latest news from a batch of job outcomes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IntegrationNews {
    pub last_success_at: Option<i64>,
    pub last_error: Option<(String, i64)>,
}

/// Writes `news` about `integration`, keeping what it does not replace.
pub async fn record_integration_news(
    conn: &mut AnyConnection,
    integration: &str,
    news: &IntegrationNews,
) -> Result<(), sqlx::Error> {
    let (error, error_at) = match &news.last_error {
        Some((error, at)) => (Some(error.as_str()), Some(*at)),
        None => (None, None),
    };
    sqlx::query(
        "INSERT INTO integration_status (integration, last_success_at, last_error, last_error_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (integration) DO UPDATE SET \
         last_success_at = COALESCE(excluded.last_success_at, integration_status.last_success_at), \
         last_error = COALESCE(excluded.last_error, integration_status.last_error), \
         last_error_at = COALESCE(excluded.last_error_at, integration_status.last_error_at)",
    )
    .bind(integration)
    .bind(news.last_success_at)
    .bind(error)
    .bind(error_at)
    .execute(conn)
    .await
    .map(drop)
}

/// An integration's health as stored.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct IntegrationStatusRow {
    pub last_success_at: Option<i64>,
    pub last_error: Option<String>,
    pub last_error_at: Option<i64>,
}

/// The stored health of `integration`, if it ever did anything.
pub async fn integration_status(
    conn: &mut AnyConnection,
    integration: &str,
) -> Result<Option<IntegrationStatusRow>, sqlx::Error> {
    sqlx::query_as("SELECT last_success_at, last_error, last_error_at FROM integration_status WHERE integration = $1")
        .bind(integration)
        .fetch_optional(conn)
        .await
}

/// How many jobs of `kinds` wait and how many have failed.
pub async fn queue_of_kinds(conn: &mut AnyConnection, kinds: &[&str]) -> Result<(i64, i64), sqlx::Error> {
    if kinds.is_empty() {
        return Ok((0, 0));
    }
    let placeholders: Vec<String> = (1..=kinds.len()).map(|n| format!("${n}")).collect();
    let sql = format!(
        "SELECT COALESCE(SUM(CASE WHEN status = 'queued' THEN 1 ELSE 0 END), 0), \
                COALESCE(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0) \
         FROM job WHERE kind IN ({}) AND status IN ('queued', 'failed')",
        placeholders.join(", ")
    );
    let mut query = sqlx::query_as::<_, (i64, i64)>(&sql);
    for kind in kinds {
        query = query.bind(*kind);
    }
    query.fetch_one(conn).await
}
