//! Alerts: the incidents the watcher raised and cleared, their Telegram notices, and the
//! figures it watches.

use sqlx::{AnyConnection, FromRow};

use super::sale::NoticeStart;
use crate::domain::alerts::{Condition, SourceActivity};

/// An incident as stored.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct AlertRow {
    pub alert_id: i64,
    pub alert_key: String,
    pub title: String,
    pub detail: String,
    pub raised_at: i64,
    pub cleared_at: Option<i64>,
    pub raise_notice: String,
    pub clear_notice: String,
}

const ALERT_COLUMNS: &str = "alert_id, alert_key, title, detail, raised_at, cleared_at, raise_notice, clear_notice";

/// The incidents not cleared yet.
pub async fn open_alerts(conn: &mut AnyConnection) -> Result<Vec<AlertRow>, sqlx::Error> {
    let sql = format!("SELECT {ALERT_COLUMNS} FROM alert WHERE cleared_at IS NULL ORDER BY raised_at, alert_id");
    sqlx::query_as(&sql).fetch_all(conn).await
}

/// The open incidents, then the newest cleared ones, `limit` in all.
pub async fn recent_alerts(conn: &mut AnyConnection, limit: i64) -> Result<Vec<AlertRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {ALERT_COLUMNS} FROM alert ORDER BY CASE WHEN cleared_at IS NULL THEN 0 ELSE 1 END, \
         raised_at DESC, alert_id DESC LIMIT $1"
    );
    sqlx::query_as(&sql).bind(limit).fetch_all(conn).await
}

/// One incident.
pub async fn alert(conn: &mut AnyConnection, alert_id: i64) -> Result<Option<AlertRow>, sqlx::Error> {
    let sql = format!("SELECT {ALERT_COLUMNS} FROM alert WHERE alert_id = $1");
    sqlx::query_as(&sql).bind(alert_id).fetch_optional(conn).await
}

/// Opens an incident for `condition` unless one with its key is open (another process may
/// have opened it a moment ago); its id when this call opened it.
pub async fn raise_alert(
    conn: &mut AnyConnection,
    condition: &Condition,
    notice: &str,
    now_ms: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO alert (alert_key, title, detail, raised_at, raise_notice, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $4) ON CONFLICT (alert_key) WHERE cleared_at IS NULL DO NOTHING RETURNING alert_id",
    )
    .bind(&condition.key)
    .bind(&condition.title)
    .bind(&condition.detail)
    .bind(now_ms)
    .bind(notice)
    .fetch_optional(conn)
    .await
}

/// Closes an open incident; whether this call closed it.
pub async fn clear_alert(
    conn: &mut AnyConnection,
    alert_id: i64,
    notice: &str,
    now_ms: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE alert SET cleared_at = $2, clear_notice = $3, updated_at = $2 WHERE alert_id = $1 AND cleared_at IS NULL",
    )
    .bind(alert_id)
    .bind(now_ms)
    .bind(notice)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Which notice of an incident: its raising or its clearing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Raised,
    Cleared,
}

impl Phase {
    fn column(self) -> &'static str {
        match self {
            Self::Raised => "raise_notice",
            Self::Cleared => "clear_notice",
        }
    }
}

/// Marks the notice `sending` if it was pending, before it goes out.
pub async fn begin_alert_notice(
    conn: &mut AnyConnection,
    alert_id: i64,
    phase: Phase,
    now_ms: i64,
) -> Result<NoticeStart, sqlx::Error> {
    let column = phase.column();
    let started: Option<i64> = sqlx::query_scalar(&format!(
        "UPDATE alert SET {column} = 'sending', updated_at = $2 WHERE alert_id = $1 AND {column} = 'pending' \
         RETURNING alert_id"
    ))
    .bind(alert_id)
    .bind(now_ms)
    .fetch_optional(&mut *conn)
    .await?;
    if started.is_some() {
        return Ok(NoticeStart::Send);
    }
    let state: Option<String> = sqlx::query_scalar(&format!("SELECT {column} FROM alert WHERE alert_id = $1"))
        .bind(alert_id)
        .fetch_optional(conn)
        .await?;
    Ok(if state.as_deref() == Some("sending") { NoticeStart::InDoubt } else { NoticeStart::Settled })
}

/// Records what became of the notice: `sent`, `uncertain`, `failed`, or `pending` again
/// when it certainly did not go out.
pub async fn settle_alert_notice(
    conn: &mut AnyConnection,
    alert_id: i64,
    phase: Phase,
    state: &str,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    let column = phase.column();
    sqlx::query(&format!("UPDATE alert SET {column} = $2, updated_at = $3 WHERE alert_id = $1"))
        .bind(alert_id)
        .bind(state)
        .bind(now_ms)
        .execute(conn)
        .await
        .map(drop)
}

/// Each lead source with its leads since `since_day` (`yyyymmdd`, from the daily counters)
/// and the time of its newest lead.
pub async fn source_activity(conn: &mut AnyConnection, since_day: i64) -> Result<Vec<SourceActivity>, sqlx::Error> {
    let counts: Vec<(String, i64)> = sqlx::query_as(
        "SELECT source, CAST(SUM(total) AS BIGINT) FROM lead_stat_daily WHERE day >= $1 GROUP BY source ORDER BY source",
    )
    .bind(since_day)
    .fetch_all(&mut *conn)
    .await?;
    let mut activity = Vec::with_capacity(counts.len());
    for (source, leads_in_window) in counts {
        let last: Option<i64> =
            sqlx::query_scalar("SELECT created_at FROM lead WHERE source = $1 ORDER BY lead_id DESC LIMIT 1")
                .bind(&source)
                .fetch_optional(&mut *conn)
                .await?;
        if let Some(last_lead_at) = last {
            activity.push(SourceActivity { source, leads_in_window, last_lead_at });
        }
    }
    Ok(activity)
}

/// How many jobs are parked as failed.
pub async fn failed_job_count(conn: &mut AnyConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM job WHERE status = 'failed'").fetch_one(conn).await
}

/// The run time of the oldest job of `kinds` due by `now_ms` and not waiting for a paused
/// integration.
pub async fn oldest_due_job(conn: &mut AnyConnection, kinds: &[&str], now_ms: i64) -> Result<Option<i64>, sqlx::Error> {
    if kinds.is_empty() {
        return Ok(None);
    }
    let placeholders: Vec<String> = (0..kinds.len()).map(|n| format!("${}", n + 2)).collect();
    let sql = format!(
        "SELECT MIN(run_at) FROM job WHERE status = 'queued' AND waiting_for IS NULL AND run_at <= $1 \
         AND kind IN ({})",
        placeholders.join(", ")
    );
    let mut query = sqlx::query_scalar::<_, Option<i64>>(&sql).bind(now_ms);
    for kind in kinds {
        query = query.bind(*kind);
    }
    query.fetch_one(conn).await
}

/// The teams with ad spend on `day` and no lead on it.
pub async fn teams_spending_without_leads(conn: &mut AnyConnection, day: i64) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT team.name FROM team WHERE team.team_id IN \
         (SELECT team_id FROM ad_spend WHERE day = $1 AND spend_kzt_minor > 0 AND team_id IS NOT NULL) \
         AND NOT EXISTS (SELECT 1 FROM lead WHERE lead.team_id = team.team_id AND lead.created_day = $1) \
         ORDER BY team.sort_order, team.team_id",
    )
    .bind(day)
    .fetch_all(conn)
    .await
}
