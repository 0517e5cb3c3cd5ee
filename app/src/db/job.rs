//! The durable job queue: rows are inserted in the same transaction as the change that
//! caused them, and worked by the job runner.

use sqlx::AnyConnection;

use super::values_placeholders;

/// A job to enqueue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    /// The stable kind name of the job type.
    pub kind: &'static str,
    /// The job's arguments as JSON.
    pub payload: String,
    /// The lead the job works on, if any (for the dashboard).
    pub lead_id: Option<i64>,
    /// Unique per unit of work; a second job with the same key is not enqueued.
    pub idempotency_key: String,
    /// When the job becomes due, UTC milliseconds.
    pub run_at: i64,
}

/// Inserts `jobs` in one statement; keys that already exist are skipped.
pub async fn enqueue_jobs(conn: &mut AnyConnection, jobs: &[NewJob], now_ms: i64) -> Result<(), sqlx::Error> {
    if jobs.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO job (kind, payload, lead_id, idempotency_key, run_at, created_at, updated_at) VALUES {} \
         ON CONFLICT (idempotency_key) DO NOTHING",
        values_placeholders(jobs.len(), 7, |column| (column == 6).then_some(5))
    );
    let mut query = sqlx::query(&sql);
    for job in jobs {
        query = query
            .bind(job.kind)
            .bind(job.payload.as_str())
            .bind(job.lead_id)
            .bind(job.idempotency_key.as_str())
            .bind(job.run_at)
            .bind(now_ms);
    }
    query.execute(conn).await.map(drop)
}

/// A stored job, as the dashboard and tests see it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct JobRow {
    pub job_id: i64,
    pub kind: String,
    pub payload: String,
    pub lead_id: Option<i64>,
    pub idempotency_key: String,
    pub status: String,
    pub run_at: i64,
    pub attempts: i64,
}

/// The jobs of one lead, oldest first.
pub async fn jobs_of_lead(conn: &mut AnyConnection, lead_id: i64) -> Result<Vec<JobRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT job_id, kind, payload, lead_id, idempotency_key, status, run_at, attempts \
         FROM job WHERE lead_id = $1 ORDER BY job_id",
    )
    .bind(lead_id)
    .fetch_all(conn)
    .await
}
