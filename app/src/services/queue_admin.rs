//! What admins do to the queue: list the failed jobs, retry one, send a lead's message again.

use super::Services;
use crate::db::delivery::reset_status;
use crate::db::job::{enqueue_jobs, failed_jobs as newest_failed_jobs, job_exists, retry_failed_job};
use crate::db::lead::lead_exists;
use crate::domain::delivery::Channel;
use crate::error::AppError;
use crate::jobs::{SendLeadEmail, SendLeadSms, JOBS};
use crate::models::{FailedJob, FailedJobs};
use crate::queue::Registered;
use crate::time::{format_almaty, now_ms};

/// The `limit` newest failed jobs with their last error, and how many failed in all.
pub async fn failed_jobs(services: &Services, limit: i64) -> Result<FailedJobs, sqlx::Error> {
    let mut conn = services.db.pool().acquire().await?;
    let (rows, total) = newest_failed_jobs(&mut conn, limit).await?;
    let jobs = rows
        .into_iter()
        .map(|row| FailedJob {
            job_id: row.job_id,
            what: JOBS.describe(&row.kind).to_owned(),
            kind: row.kind,
            lead_id: row.lead_id,
            lead_name: row.lead_name,
            attempts: row.attempts,
            last_error: row.last_error,
            failed_at: row.updated_at,
            failed_at_local: format_almaty(row.updated_at),
        })
        .collect();
    Ok(FailedJobs { total, jobs })
}

/// Puts a failed job back in the queue, due now with fresh attempts, and undoes what
/// parking it meant (a lead's message status goes back to `pending`).
///
/// Errors: `Conflict` when the job is not failed (already retried), `NotFound` when it
/// does not exist.
pub async fn retry_job(services: &Services, job_id: i64) -> Result<(), AppError> {
    let now = now_ms();
    let mut tx = services.db.begin_write().await?;
    let Some(job) = retry_failed_job(&mut tx, job_id, now).await? else {
        return Err(match job_exists(&mut tx, job_id).await? {
            true => AppError::Conflict("задача уже не в списке ошибок".to_owned()),
            false => AppError::NotFound,
        });
    };
    if let Some(kind) = JOBS.get(&job.kind) {
        kind.retried(&job, &mut tx, now).await?;
    }
    tx.commit().await?;
    tracing::info!(job.id = job_id, "failed job queued again by an admin");
    services.waker.wake();
    Ok(())
}

/// Sends the lead's email or SMS once more, as a new job due now (with a new
/// idempotency key, so the provider sends it again).
///
/// Errors: `NotFound` when the lead does not exist.
pub async fn resend_message(services: &Services, lead_id: i64, channel: Channel) -> Result<(), AppError> {
    let now = now_ms();
    let key = format!("lead-{lead_id}-{}-resend-{now}", channel.as_str());
    let job = match channel {
        Channel::Email => SendLeadEmail { lead_id }.queued(Some(lead_id), key, now),
        Channel::Sms => SendLeadSms { lead_id }.queued(Some(lead_id), key, now),
    };
    let mut tx = services.db.begin_write().await?;
    if !lead_exists(&mut tx, lead_id).await? {
        return Err(AppError::NotFound);
    }
    reset_status(&mut tx, lead_id, channel, now).await?;
    enqueue_jobs(&mut tx, &[job], now).await?;
    tx.commit().await?;
    tracing::info!(lead.id = lead_id, channel = channel.as_str(), "message resend queued by an admin");
    services.waker.wake();
    Ok(())
}
