//! Accepting a lead: the lead, its counters and its three jobs commit together or not at all.

use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Asia::Almaty;

use crate::db::job::enqueue_jobs;
use crate::db::lead::{bump_lead_stat, find_lead_by_submission_key, insert_lead, remember_source};
use crate::db::Db;
use crate::domain::lead_filter::day_number;
use crate::domain::lead_input::NewLead;
use crate::jobs::{Job, PushLeadToCrm, SendLeadEmail, SendLeadSms};
use crate::models::LeadStats;

/// The outcome of an accepted submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcceptedLead {
    pub lead_id: i64,
    /// False when the submission repeated an earlier idempotency key.
    pub created: bool,
}

/// Stores `lead` with its email and SMS jobs (due after `notify_delay`) and its CRM push
/// (due now) in one transaction. Returns after the commit.
///
/// A `submission_key` already used returns the earlier lead and stores nothing.
pub async fn accept_lead(
    db: &Db,
    lead: &NewLead,
    submission_key: Option<&str>,
    notify_delay: Duration,
    now_ms: i64,
) -> Result<AcceptedLead, sqlx::Error> {
    let day = DateTime::<Utc>::from_timestamp_millis(now_ms)
        .map(|at| day_number(at.with_timezone(&Almaty).date_naive()))
        .unwrap_or_default();
    let mut tx = db.pool().begin().await?;
    let Some(lead_id) = insert_lead(&mut tx, lead, submission_key, now_ms, day).await? else {
        let key = submission_key.unwrap_or_default();
        let lead_id = find_lead_by_submission_key(&mut tx, key).await?.ok_or(sqlx::Error::RowNotFound)?;
        return Ok(AcceptedLead { lead_id, created: false });
    };
    let notify_at = now_ms + i64::try_from(notify_delay.as_millis()).unwrap_or(i64::MAX / 2);
    let jobs = [
        SendLeadEmail { lead_id }.to_new_job(Some(lead_id), format!("lead-{lead_id}-email"), notify_at),
        SendLeadSms { lead_id }.to_new_job(Some(lead_id), format!("lead-{lead_id}-sms"), notify_at),
        PushLeadToCrm { lead_id }.to_new_job(Some(lead_id), format!("lead-{lead_id}-crm"), now_ms),
    ];
    enqueue_jobs(&mut tx, &jobs, now_ms).await?;
    bump_lead_stat(&mut tx, lead_id, day, &lead.source, LeadStats { total: 1, ..LeadStats::default() }).await?;
    remember_source(&mut tx, &lead.source, now_ms).await?;
    tx.commit().await?;
    Ok(AcceptedLead { lead_id, created: true })
}
