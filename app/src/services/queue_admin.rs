//! What admins do to the queue: list the failed jobs, retry one or all of a kind or an
//! integration, send a lead's message again.

use super::Services;
use crate::db::delivery::reset_status;
use crate::db::job::{
    enqueue_jobs, failed_counts, failed_jobs as newest_failed_jobs, job_exists, retry_failed_job, retry_failed_jobs,
};
use crate::db::lead::lead_exists;
use crate::domain::delivery::Channel;
use crate::domain::integration::Integration;
use crate::error::AppError;
use crate::jobs::{SendLeadEmail, SendLeadSms, JOBS};
use crate::models::{FailedJob, FailedJobs, FailedKind};
use crate::queue::Registered;
use crate::time::{format_almaty, now_ms};

/// The `limit` newest failed jobs with their last error, how many failed in all, and how
/// many of each kind.
pub async fn failed_jobs(services: &Services, limit: i64) -> Result<FailedJobs, sqlx::Error> {
    let mut conn = services.db.pool().acquire().await?;
    let (rows, total) = newest_failed_jobs(&mut conn, limit).await?;
    let by_kind = failed_counts(&mut conn)
        .await?
        .into_iter()
        .map(|(kind, count)| FailedKind {
            what: JOBS.describe(&kind).to_owned(),
            integration: JOBS
                .get(&kind)
                .and_then(|entry| entry.integration)
                .map(|integration| integration.as_str().to_owned()),
            kind,
            count,
        })
        .collect();
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
    Ok(FailedJobs { total, jobs, by_kind })
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

/// Puts every failed job of `kind`, or of every kind of `integration`, or (neither given)
/// every failed job back in the queue, as [`retry_job`] does for one — the same hooks, the
/// same duplicate guards (a job keeps its count of runs, so an SMS looks for an earlier
/// send first). At most 5,000 at once; returns how many.
///
/// Errors: `Validation` for an unknown kind or integration.
pub async fn retry_jobs(services: &Services, kind: Option<&str>, integration: Option<&str>) -> Result<usize, AppError> {
    let kinds: Vec<&str> = match (kind.filter(|kind| !kind.is_empty()), integration.filter(|name| !name.is_empty())) {
        (Some(kind), _) => {
            let entry = JOBS.get(kind).ok_or_else(|| AppError::validation("kind", "неизвестный вид задачи"))?;
            vec![entry.kind]
        }
        (None, Some(name)) => {
            let integration = Integration::parse(name)
                .ok_or_else(|| AppError::validation("integration", "неизвестная интеграция"))?;
            JOBS.kinds_of(integration)
        }
        (None, None) => JOBS.kinds().iter().map(|entry| entry.kind).collect(),
    };
    let now = now_ms();
    let mut tx = services.db.begin_write().await?;
    let jobs = retry_failed_jobs(&mut tx, &kinds, now).await?;
    for job in &jobs {
        if let Some(kind) = JOBS.get(&job.kind) {
            kind.retried(job, &mut tx, now).await?;
        }
    }
    tx.commit().await?;
    tracing::info!(jobs = jobs.len(), kind, integration, "failed jobs queued again by an admin");
    services.waker.wake();
    Ok(jobs.len())
}

/// Sends the lead's email or SMS once more, as a new job due now (with a new
/// idempotency key, so the provider sends it again).
///
/// Errors: `NotFound` when the lead does not exist.
pub async fn resend_message(services: &Services, lead_id: i64, channel: Channel) -> Result<(), AppError> {
    let now = now_ms();
    let key = format!("lead-{lead_id}-{}-resend-{now}", channel.as_str());
    let job = match channel {
        Channel::Email => SendLeadEmail { lead_id, resend: true }.queued(Some(lead_id), key, now),
        Channel::Sms => SendLeadSms { lead_id, resend: true }.queued(Some(lead_id), key, now),
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
