//! The failed-jobs JSON API for admins and scripts: list, retry.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Value};

use app::db::job::failed_jobs;
use app::error::AppError;
use app::jobs::admin::retry_job;
use app::state::AppState;

use super::require_admin;

/// `GET /api/lead-tracking/jobs/failed`: the newest 100 failed jobs and their total.
pub async fn list_failed_jobs(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<Value>, AppError> {
    require_admin(&state, &headers).await?;
    let mut conn = state.db.pool().acquire().await?;
    let (jobs, total) = failed_jobs(&mut conn, 100).await?;
    let jobs: Vec<Value> = jobs
        .into_iter()
        .map(|job| {
            json!({ "jobId": job.job_id, "kind": job.kind, "leadId": job.lead_id, "attempts": job.attempts,
                    "lastError": job.last_error, "failedAt": job.updated_at })
        })
        .collect();
    Ok(Json(json!({ "success": true, "total": total, "jobs": jobs })))
}

/// `POST /api/lead-tracking/jobs/:id/retry`: queue a failed job again (409 if it is not failed).
pub async fn retry_failed_job(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(job_id): Path<i64>,
) -> Result<Json<Value>, AppError> {
    require_admin(&state, &headers).await?;
    retry_job(&state.db, &state.jobs.waker(), job_id).await?;
    Ok(Json(json!({ "success": true, "jobId": job_id })))
}
