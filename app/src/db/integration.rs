//! What each outbound integration last did (its last success and last error) and whether
//! it is paused because it refused our credentials, with its probe schedule.

use sqlx::{AnyConnection, FromRow};

use crate::domain::integration::probe_backoff;
use crate::time::millis;

/// One integration's latest news from a batch of job outcomes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IntegrationNews {
    pub last_success_at: Option<i64>,
    pub last_error: Option<(String, i64)>,
}

/// Writes `news` about `integration`, keeping what it does not replace. A success also
/// resets the count of failed probes: the next pause starts its backoff afresh.
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
         last_error_at = COALESCE(excluded.last_error_at, integration_status.last_error_at), \
         probes = CASE WHEN excluded.last_success_at IS NULL THEN integration_status.probes ELSE 0 END",
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
    pub paused_at: Option<i64>,
    pub pause_reason: Option<String>,
    pub pause_subject: Option<String>,
    pub next_probe_at: Option<i64>,
    /// Failed probes since the integration last worked.
    pub probes: i64,
}

/// The stored health of `integration`, if it ever did anything.
pub async fn integration_status(
    conn: &mut AnyConnection,
    integration: &str,
) -> Result<Option<IntegrationStatusRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT last_success_at, last_error, last_error_at, paused_at, pause_reason, pause_subject, \
         next_probe_at, probes FROM integration_status WHERE integration = $1",
    )
    .bind(integration)
    .fetch_optional(conn)
    .await
}

/// The names of the paused integrations.
pub async fn paused_integrations(conn: &mut AnyConnection) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT integration FROM integration_status WHERE paused_at IS NOT NULL ORDER BY integration")
        .fetch_all(conn)
        .await
}

/// Pauses `integration` because it refused us for `reason` (the first probe a minute, or
/// the current backoff, from now); an integration already paused keeps its pause time and
/// probe schedule and takes the newest reason.
pub async fn pause_integration(
    conn: &mut AnyConnection,
    integration: &str,
    reason: &str,
    subject: Option<&str>,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    let probes: Option<i64> = sqlx::query_scalar("SELECT probes FROM integration_status WHERE integration = $1")
        .bind(integration)
        .fetch_optional(&mut *conn)
        .await?;
    let next_probe_at = now_ms + millis(probe_backoff(probes.unwrap_or(0)));
    sqlx::query(
        "INSERT INTO integration_status (integration, last_error, last_error_at, paused_at, pause_reason, \
         pause_subject, next_probe_at) VALUES ($1, $2, $3, $3, $2, $4, $5) \
         ON CONFLICT (integration) DO UPDATE SET last_error = excluded.last_error, \
         last_error_at = excluded.last_error_at, pause_reason = excluded.pause_reason, \
         pause_subject = excluded.pause_subject, \
         next_probe_at = COALESCE(integration_status.next_probe_at, excluded.next_probe_at), \
         paused_at = COALESCE(integration_status.paused_at, excluded.paused_at)",
    )
    .bind(integration)
    .bind(reason)
    .bind(now_ms)
    .bind(subject)
    .bind(next_probe_at)
    .execute(conn)
    .await
    .map(drop)
}

/// A paused integration whose probe is due: its name and what was refused.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct DueProbe {
    pub integration: String,
    pub pause_subject: Option<String>,
    pub probes: i64,
}

/// The paused integrations whose probe is due at `now_ms`.
pub async fn due_probes(conn: &mut AnyConnection, now_ms: i64) -> Result<Vec<DueProbe>, sqlx::Error> {
    sqlx::query_as(
        "SELECT integration, pause_subject, probes FROM integration_status \
         WHERE paused_at IS NOT NULL AND next_probe_at <= $1 ORDER BY integration",
    )
    .bind(now_ms)
    .fetch_all(conn)
    .await
}

/// Takes the due probe of `integration` for this caller: moves its next probe to
/// `provisional_next` (should the caller die while probing), and answers whether it was
/// still due (another process may have taken it).
pub async fn take_probe(
    conn: &mut AnyConnection,
    integration: &str,
    now_ms: i64,
    provisional_next: i64,
) -> Result<bool, sqlx::Error> {
    let taken = sqlx::query(
        "UPDATE integration_status SET next_probe_at = $1 \
         WHERE integration = $2 AND paused_at IS NOT NULL AND next_probe_at <= $3",
    )
    .bind(provisional_next)
    .bind(integration)
    .bind(now_ms)
    .execute(conn)
    .await?;
    Ok(taken.rows_affected() == 1)
}

/// Makes the probe of a paused `integration` due now (an admin asked, or the process
/// started with perhaps new credentials); false when it is not paused.
pub async fn probe_now(conn: &mut AnyConnection, integration: &str, now_ms: i64) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE integration_status SET next_probe_at = $1 WHERE integration = $2 AND paused_at IS NOT NULL",
    )
    .bind(now_ms)
    .bind(integration)
    .execute(conn)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Makes every paused integration's probe due now.
pub async fn probe_all_now(conn: &mut AnyConnection, now_ms: i64) -> Result<u64, sqlx::Error> {
    let updated = sqlx::query("UPDATE integration_status SET next_probe_at = $1 WHERE paused_at IS NOT NULL")
        .bind(now_ms)
        .execute(conn)
        .await?;
    Ok(updated.rows_affected())
}

/// A probe passed: `integration` works again.
pub async fn resume_integration(conn: &mut AnyConnection, integration: &str, now_ms: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE integration_status SET paused_at = NULL, pause_reason = NULL, pause_subject = NULL, \
         next_probe_at = NULL, last_success_at = $1 WHERE integration = $2",
    )
    .bind(now_ms)
    .bind(integration)
    .execute(conn)
    .await
    .map(drop)
}

/// A probe did not pass: the next one after the grown backoff; `reason` replaces the
/// pause's reason when the provider still refuses (rather than, say, timing out).
pub async fn probe_failed(
    conn: &mut AnyConnection,
    integration: &str,
    error: &str,
    reason: Option<&str>,
    failed_probes: i64,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE integration_status SET probes = $1, next_probe_at = $2, last_error = $3, last_error_at = $4, \
         pause_reason = COALESCE($5, pause_reason) WHERE integration = $6 AND paused_at IS NOT NULL",
    )
    .bind(failed_probes)
    .bind(now_ms + millis(probe_backoff(failed_probes)))
    .bind(error)
    .bind(now_ms)
    .bind(reason)
    .bind(integration)
    .execute(conn)
    .await
    .map(drop)
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
