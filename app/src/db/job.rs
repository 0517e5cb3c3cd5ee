//! The durable job queue: rows are inserted in the same transaction as the change that
//! caused them, and worked by the job runner.

use sqlx::AnyConnection;

use super::{values_placeholders, Engine};

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

/// Rows per insert statement (6 parameters each): SQLite's binding cost grows with the
/// square of a statement's parameters (see `lead::insert_leads`).
const JOBS_PER_STATEMENT: usize = 64;

/// Inserts `jobs`, a statement per [`JOBS_PER_STATEMENT`]; keys that already exist are skipped.
pub async fn enqueue_jobs(conn: &mut AnyConnection, jobs: &[NewJob], now_ms: i64) -> Result<(), sqlx::Error> {
    for chunk in jobs.chunks(JOBS_PER_STATEMENT) {
        insert_job_rows(conn, chunk, now_ms).await?;
    }
    Ok(())
}

async fn insert_job_rows(conn: &mut AnyConnection, jobs: &[NewJob], now_ms: i64) -> Result<(), sqlx::Error> {
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

/// A job claimed by a worker, with its lease.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ClaimedJob {
    pub job_id: i64,
    pub kind: String,
    pub payload: String,
    pub lead_id: Option<i64>,
    pub idempotency_key: String,
    /// Attempts including this one (an admin's retry and a reschedule start afresh).
    pub attempts: i64,
    /// Claims ever, this one included; never reset. Above 1, an earlier run may have
    /// reached the provider.
    pub runs: i64,
    pub created_at: i64,
}

/// The columns of a [`ClaimedJob`], for `RETURNING`.
const CLAIMED_COLUMNS: &str = "job_id, kind, payload, lead_id, idempotency_key, attempts, runs, created_at";

/// ` AND (waiting_for IS NULL OR waiting_for NOT IN ($first, …))` for the paused
/// integrations, numbered from `first`; empty when none is paused.
fn not_waiting_for(paused: &[&str], first: usize) -> String {
    if paused.is_empty() {
        return String::new();
    }
    let placeholders: Vec<String> = (first..first + paused.len()).map(|n| format!("${n}")).collect();
    format!(" AND (waiting_for IS NULL OR waiting_for NOT IN ({}))", placeholders.join(", "))
}

/// Which jobs a claim takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claimable {
    /// Pending jobs that are due, oldest first: a range of `job_due_idx`.
    Due,
    /// Jobs whose worker's lease expired (it died or hung): few, looked for now and then.
    LeaseExpired,
}

/// Claims up to `limit` jobs of `kind` (`which` says whether due or orphaned) for `worker`
/// until `lease_until`, leaving those that wait for one of the `paused` integrations.
///
/// PostgreSQL skips rows other processes are claiming (`FOR UPDATE SKIP LOCKED`); on
/// SQLite the caller holds the write permit, so claims never overlap. The two kinds of
/// claim are separate statements so that each is a plain index range, even with a
/// backlog of many thousands of due jobs.
#[expect(clippy::too_many_arguments, reason = "one statement's parameters, named at the call site")]
pub async fn claim_jobs(
    conn: &mut AnyConnection,
    engine: Engine,
    which: Claimable,
    worker: &str,
    kind: &str,
    limit: usize,
    now_ms: i64,
    lease_until: i64,
    paused: &[&str],
) -> Result<Vec<ClaimedJob>, sqlx::Error> {
    let lock = match engine {
        Engine::Postgres => "FOR UPDATE SKIP LOCKED",
        Engine::Sqlite => "",
    };
    let (condition, order) = match which {
        Claimable::Due => ("status = 'queued' AND run_at <= $3", "run_at"),
        Claimable::LeaseExpired => ("status = 'running' AND lease_until < $3", "lease_until"),
    };
    let waiting = not_waiting_for(paused, 6);
    let sql = format!(
        "UPDATE job SET status = 'running', lease_owner = $1, lease_until = $2, attempts = attempts + 1, \
         runs = runs + 1, updated_at = $3 \
         WHERE job_id IN ( \
             SELECT job_id FROM job WHERE kind = $4 AND {condition}{waiting} ORDER BY {order} LIMIT $5 {lock}) \
         RETURNING {CLAIMED_COLUMNS}"
    );
    let mut query = sqlx::query_as(&sql)
        .bind(worker)
        .bind(lease_until)
        .bind(now_ms)
        .bind(kind)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX));
    for integration in paused {
        query = query.bind(*integration);
    }
    query.fetch_all(conn).await
}

/// A claimed job to mark done.
#[derive(Debug, Clone, Copy)]
pub struct FinishedJob<'a> {
    pub job_id: i64,
    /// The provider's id of what the job sent, if any.
    pub reference: Option<&'a str>,
    /// When it finished, UTC milliseconds.
    pub at: i64,
}

/// The most jobs one [`finish_jobs`] statement closes (three parameters each).
const FINISH_CHUNK: usize = 256;

/// Marks claimed jobs done, one statement per [`FINISH_CHUNK`]; returns the ids of those
/// whose lease `worker` still held (the others belong to another worker now).
pub async fn finish_jobs(
    conn: &mut AnyConnection,
    jobs: &[FinishedJob<'_>],
    worker: &str,
) -> Result<Vec<i64>, sqlx::Error> {
    let mut held = Vec::with_capacity(jobs.len());
    for chunk in jobs.chunks(FINISH_CHUNK) {
        // `columnN` names the VALUES list's columns on both engines.
        let sql = format!(
            "UPDATE job SET status = 'done', provider_message_id = finished.column2, last_error = NULL, \
             lease_owner = NULL, lease_until = NULL, finished_at = finished.column3, updated_at = finished.column3 \
             FROM (VALUES {}) AS finished \
             WHERE job.job_id = finished.column1 AND job.status = 'running' AND job.lease_owner = ${} \
             RETURNING job.job_id",
            values_placeholders(chunk.len(), 3, |_| None),
            chunk.len() * 3 + 1
        );
        let mut query = sqlx::query_scalar::<_, i64>(&sql);
        for job in chunk {
            query = query.bind(job.job_id).bind(job.reference).bind(job.at);
        }
        held.extend(query.bind(worker).fetch_all(&mut *conn).await?);
    }
    Ok(held)
}

/// Releases a claimed job to run again at `run_at` with `payload`; `error` explains why.
/// A reschedule (`reset_attempts`) starts the attempt count afresh.
#[expect(clippy::too_many_arguments, reason = "one statement's parameters, named at the call site")]
pub async fn release_job(
    conn: &mut AnyConnection,
    job_id: i64,
    worker: &str,
    run_at: i64,
    payload: Option<&str>,
    error: Option<&str>,
    reset_attempts: bool,
    now_ms: i64,
) -> Result<bool, sqlx::Error> {
    let released = sqlx::query(
        "UPDATE job SET status = 'queued', run_at = $1, payload = COALESCE($2, payload), last_error = $3, \
         attempts = CASE WHEN $4 = 1 THEN 0 ELSE attempts END, lease_owner = NULL, lease_until = NULL, updated_at = $5 \
         WHERE job_id = $6 AND status = 'running' AND lease_owner = $7",
    )
    .bind(run_at)
    .bind(payload)
    .bind(error)
    .bind(i64::from(reset_attempts))
    .bind(now_ms)
    .bind(job_id)
    .bind(worker)
    .execute(conn)
    .await?;
    Ok(released.rows_affected() == 1)
}

/// Parks a claimed job as `failed` with its last error, for an admin to inspect and retry.
pub async fn park_job(
    conn: &mut AnyConnection,
    job_id: i64,
    worker: &str,
    error: &str,
    now_ms: i64,
) -> Result<bool, sqlx::Error> {
    let parked = sqlx::query(
        "UPDATE job SET status = 'failed', last_error = $1, lease_owner = NULL, lease_until = NULL, \
         finished_at = $2, updated_at = $2 WHERE job_id = $3 AND status = 'running' AND lease_owner = $4",
    )
    .bind(error)
    .bind(now_ms)
    .bind(job_id)
    .bind(worker)
    .execute(conn)
    .await?;
    Ok(parked.rows_affected() == 1)
}

/// The most jobs one [`renew_leases`] statement renews.
const RENEW_CHUNK: usize = 500;

/// Extends `worker`'s leases on `job_ids` to `lease_until`; returns the ids it still held
/// (the others' leases passed to another worker).
pub async fn renew_leases(
    conn: &mut AnyConnection,
    job_ids: &[i64],
    worker: &str,
    lease_until: i64,
    now_ms: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    let mut held = Vec::with_capacity(job_ids.len());
    for chunk in job_ids.chunks(RENEW_CHUNK) {
        let placeholders: Vec<String> = (4..4 + chunk.len()).map(|n| format!("${n}")).collect();
        let sql = format!(
            "UPDATE job SET lease_until = $1, updated_at = $2 \
             WHERE status = 'running' AND lease_owner = $3 AND job_id IN ({}) RETURNING job_id",
            placeholders.join(", ")
        );
        let mut query = sqlx::query_scalar::<_, i64>(&sql).bind(lease_until).bind(now_ms).bind(worker);
        for job_id in chunk {
            query = query.bind(*job_id);
        }
        held.extend(query.fetch_all(&mut *conn).await?);
    }
    Ok(held)
}

/// Gives a job whose call an integration refused back to the queue: it waits for that
/// integration (`waiting_for`) without spending the attempt; false when the lease is no
/// longer `worker`'s.
pub async fn requeue_refused(
    conn: &mut AnyConnection,
    job_id: i64,
    worker: &str,
    waiting_for: &str,
    error: &str,
    now_ms: i64,
) -> Result<bool, sqlx::Error> {
    let requeued = sqlx::query(
        "UPDATE job SET status = 'queued', run_at = $1, attempts = attempts - 1, refusals = refusals + 1, \
         waiting_for = $2, last_error = $3, lease_owner = NULL, lease_until = NULL, updated_at = $1 \
         WHERE job_id = $4 AND status = 'running' AND lease_owner = $5",
    )
    .bind(now_ms)
    .bind(waiting_for)
    .bind(error)
    .bind(job_id)
    .bind(worker)
    .execute(conn)
    .await?;
    Ok(requeued.rows_affected() == 1)
}

/// How often the job was refused by its integration so far.
pub async fn refusals_of(conn: &mut AnyConnection, job_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT refusals FROM job WHERE job_id = $1").bind(job_id).fetch_one(conn).await
}

/// Gives a job that `worker` claimed but never started back to the queue, as if it had
/// not been claimed (the attempt it counted is taken back).
pub async fn unclaim_job(
    conn: &mut AnyConnection,
    job_id: i64,
    worker: &str,
    now_ms: i64,
) -> Result<bool, sqlx::Error> {
    let unclaimed = sqlx::query(
        "UPDATE job SET status = 'queued', attempts = attempts - 1, runs = runs - 1, lease_owner = NULL, \
         lease_until = NULL, updated_at = $1 WHERE job_id = $2 AND status = 'running' AND lease_owner = $3",
    )
    .bind(now_ms)
    .bind(job_id)
    .bind(worker)
    .execute(conn)
    .await?;
    Ok(unclaimed.rows_affected() == 1)
}

/// The earliest time a queued job of `kind` becomes due, leaving those that wait for one of
/// the `paused` integrations.
pub async fn next_due(conn: &mut AnyConnection, kind: &str, paused: &[&str]) -> Result<Option<i64>, sqlx::Error> {
    let sql =
        format!("SELECT MIN(run_at) FROM job WHERE status = 'queued' AND kind = $1{}", not_waiting_for(paused, 2));
    let mut query = sqlx::query_scalar(&sql).bind(kind);
    for integration in paused {
        query = query.bind(*integration);
    }
    query.fetch_one(conn).await
}

/// The queue of one kind, for monitoring.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct QueueDepthRow {
    pub kind: String,
    /// Queued jobs, due or not.
    pub queued: i64,
    /// Queued jobs due by `now`.
    pub due: i64,
    /// When the oldest due job fell due.
    pub oldest_due_at: Option<i64>,
}

/// The queue of every kind that has queued jobs.
pub async fn queue_depths(conn: &mut AnyConnection, now_ms: i64) -> Result<Vec<QueueDepthRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT kind, COUNT(*) AS queued, COALESCE(SUM(CASE WHEN run_at <= $1 THEN 1 ELSE 0 END), 0) AS due, \
         MIN(CASE WHEN run_at <= $1 THEN run_at END) AS oldest_due_at \
         FROM job WHERE status = 'queued' GROUP BY kind ORDER BY kind",
    )
    .bind(now_ms)
    .fetch_all(conn)
    .await
}

/// A job parked as failed, for the dashboard.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FailedJobRow {
    pub job_id: i64,
    pub kind: String,
    pub lead_id: Option<i64>,
    pub lead_name: Option<String>,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub updated_at: i64,
}

/// The newest failed jobs and how many there are in all.
pub async fn failed_jobs(conn: &mut AnyConnection, limit: i64) -> Result<(Vec<FailedJobRow>, i64), sqlx::Error> {
    let rows = sqlx::query_as(
        "SELECT job.job_id, job.kind, job.lead_id, lead.name AS lead_name, job.attempts, job.last_error, job.updated_at \
         FROM job LEFT JOIN lead ON lead.lead_id = job.lead_id \
         WHERE job.status = 'failed' ORDER BY job.updated_at DESC, job.job_id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let total = sqlx::query_scalar("SELECT COUNT(*) FROM job WHERE status = 'failed'").fetch_one(conn).await?;
    Ok((rows, total))
}

/// Puts a failed job back in the queue, due at once with fresh attempts (its count of runs
/// stays, so guards against a second send still look); returns it, or `None` when the job
/// is not failed (already retried, or unknown).
pub async fn retry_failed_job(
    conn: &mut AnyConnection,
    job_id: i64,
    now_ms: i64,
) -> Result<Option<ClaimedJob>, sqlx::Error> {
    let sql = format!(
        "UPDATE job SET status = 'queued', run_at = $1, attempts = 0, refusals = 0, finished_at = NULL, \
         updated_at = $1 WHERE job_id = $2 AND status = 'failed' RETURNING {CLAIMED_COLUMNS}"
    );
    sqlx::query_as(&sql).bind(now_ms).bind(job_id).fetch_optional(conn).await
}

/// The most failed jobs one [`retry_failed_jobs`] call puts back.
pub const BULK_RETRY_LIMIT: i64 = 5_000;

/// Puts every failed job of `kinds` back in the queue as [`retry_failed_job`] does, at
/// most [`BULK_RETRY_LIMIT`] at once (oldest first); returns them.
pub async fn retry_failed_jobs(
    conn: &mut AnyConnection,
    kinds: &[&str],
    now_ms: i64,
) -> Result<Vec<ClaimedJob>, sqlx::Error> {
    if kinds.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (3..3 + kinds.len()).map(|n| format!("${n}")).collect();
    let sql = format!(
        "UPDATE job SET status = 'queued', run_at = $1, attempts = 0, refusals = 0, finished_at = NULL, \
         updated_at = $1 WHERE job_id IN ( \
             SELECT job_id FROM job WHERE status = 'failed' AND kind IN ({}) ORDER BY job_id LIMIT $2) \
         RETURNING {CLAIMED_COLUMNS}",
        placeholders.join(", ")
    );
    let mut query = sqlx::query_as(&sql).bind(now_ms).bind(BULK_RETRY_LIMIT);
    for kind in kinds {
        query = query.bind(*kind);
    }
    query.fetch_all(conn).await
}

/// How many failed jobs of each kind there are.
pub async fn failed_counts(conn: &mut AnyConnection) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT kind, COUNT(*) FROM job WHERE status = 'failed' GROUP BY kind ORDER BY kind")
        .fetch_all(conn)
        .await
}

/// Whether a job with this id exists.
pub async fn job_exists(conn: &mut AnyConnection, job_id: i64) -> Result<bool, sqlx::Error> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT job_id FROM job WHERE job_id = $1").bind(job_id).fetch_optional(conn).await?;
    Ok(found.is_some())
}

/// The payload of the newest job of `kind` still waiting or running.
pub async fn open_job_payload(conn: &mut AnyConnection, kind: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT payload FROM job WHERE kind = $1 AND status IN ('queued', 'running') ORDER BY job_id DESC LIMIT 1",
    )
    .bind(kind)
    .fetch_optional(conn)
    .await
}
