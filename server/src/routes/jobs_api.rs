//! The failed-jobs JSON API for admins and scripts: list, retry one, retry all of a kind
//! or an integration.

use axum::extract::{Path, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use app::error::AppError;
use app::models::FailedJob;
use app::services::queue_admin::{failed_jobs, retry_job, retry_jobs};
use app::state::AppState;

use app::access::Admin;

/// The answer of `GET /api/lead-tracking/jobs/failed`.
#[derive(Debug, Serialize)]
pub struct FailedJobsResponse {
    success: bool,
    total: i64,
    jobs: Vec<FailedJobItem>,
}

/// One failed job as scripts see it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FailedJobItem {
    job_id: i64,
    kind: String,
    lead_id: Option<i64>,
    attempts: i64,
    last_error: Option<String>,
    /// UTC milliseconds.
    failed_at: i64,
}

impl From<FailedJob> for FailedJobItem {
    fn from(job: FailedJob) -> Self {
        Self {
            job_id: job.job_id,
            kind: job.kind,
            lead_id: job.lead_id,
            attempts: job.attempts,
            last_error: job.last_error,
            failed_at: job.failed_at,
        }
    }
}

/// `GET /api/lead-tracking/jobs/failed`: the newest 100 failed jobs and their total.
pub async fn list_failed_jobs(
    State(state): State<AppState>,
    _admin: Admin,
) -> Result<Json<FailedJobsResponse>, AppError> {
    let failed = failed_jobs(&state.services, 100).await?;
    let jobs = failed.jobs.into_iter().map(FailedJobItem::from).collect();
    Ok(Json(FailedJobsResponse { success: true, total: failed.total, jobs }))
}

/// `POST /api/lead-tracking/jobs/:id/retry`: queue a failed job again (409 if it is not failed).
pub async fn retry_failed_job(
    State(state): State<AppState>,
    _admin: Admin,
    Path(job_id): Path<i64>,
) -> Result<Json<Value>, AppError> {
    retry_job(&state.services, job_id).await?;
    Ok(Json(json!({ "success": true, "jobId": job_id })))
}

/// The body of `POST /api/lead-tracking/jobs/retry`: which failed jobs to queue again.
#[derive(Debug, Default, Deserialize)]
pub struct RetrySelection {
    /// One kind (`send_lead_sms`, …).
    kind: Option<String>,
    /// Every kind of one integration (`amocrm`, `resend`, `mobizon`, `telegram`, `facebook`).
    integration: Option<String>,
}

/// `POST /api/lead-tracking/jobs/retry` with `{"kind": …}` or `{"integration": …}` (or `{}`
/// for every failed job): queue them again; answers how many.
pub async fn retry_failed_jobs(
    State(state): State<AppState>,
    _admin: Admin,
    Json(selection): Json<RetrySelection>,
) -> Result<Json<Value>, AppError> {
    let retried = retry_jobs(&state.services, selection.kind.as_deref(), selection.integration.as_deref()).await?;
    Ok(Json(json!({ "success": true, "retried": retried })))
}
