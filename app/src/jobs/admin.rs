//! What admins do to the queue: retry a failed job, send a lead's message again.

use crate::db::delivery::reset_status;
use crate::db::job::{enqueue_jobs, retry_failed_job};
use crate::db::Db;
use crate::domain::delivery::Channel;
use crate::error::AppError;
use crate::jobs::runner::JobWaker;
use crate::jobs::{channel_of_kind, Job, SendLeadEmail, SendLeadSms};
use crate::time::now_ms;

/// Puts a failed job back in the queue, due now, and sets its lead's status back to
/// `pending`. `Conflict` when the job is not failed (already retried), `NotFound` when
/// it does not exist.
pub async fn retry_job(db: &Db, waker: &JobWaker, job_id: i64) -> Result<(), AppError> {
    let now = now_ms();
    {
        let _permit = db.write_permit().await;
        let mut tx = db.pool().begin().await?;
        let Some((kind, lead_id)) = retry_failed_job(&mut tx, job_id, now).await? else {
            let exists: Option<i64> = sqlx::query_scalar("SELECT job_id FROM job WHERE job_id = $1")
                .bind(job_id)
                .fetch_optional(&mut *tx)
                .await?;
            return Err(match exists {
                Some(_) => AppError::Conflict("задача уже не в списке ошибок".to_owned()),
                None => AppError::NotFound,
            });
        };
        if let (Some(channel), Some(lead_id)) = (channel_of_kind(&kind), lead_id) {
            reset_status(&mut tx, lead_id, channel, now).await?;
        }
        tx.commit().await?;
    }
    tracing::info!(job.id = job_id, "failed job queued again by an admin");
    waker.wake();
    Ok(())
}

/// Sends the lead's email or SMS once more, as a new job due now (with a new
/// idempotency key, so the provider sends it again).
pub async fn resend_message(db: &Db, waker: &JobWaker, lead_id: i64, channel: Channel) -> Result<(), AppError> {
    let now = now_ms();
    let key = format!("lead-{lead_id}-{}-resend-{now}", channel.as_str());
    let job = match channel {
        Channel::Email => SendLeadEmail { lead_id }.to_new_job(Some(lead_id), key, now),
        Channel::Sms => SendLeadSms { lead_id }.to_new_job(Some(lead_id), key, now),
    };
    {
        let _permit = db.write_permit().await;
        let mut tx = db.pool().begin().await?;
        let exists: Option<i64> = sqlx::query_scalar("SELECT lead_id FROM lead WHERE lead_id = $1")
            .bind(lead_id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(AppError::NotFound);
        }
        reset_status(&mut tx, lead_id, channel, now).await?;
        enqueue_jobs(&mut tx, &[job], now).await?;
        tx.commit().await?;
    }
    tracing::info!(lead.id = lead_id, channel = channel.as_str(), "message resend queued by an admin");
    waker.wake();
    Ok(())
}
