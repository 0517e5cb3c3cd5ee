//! Re-attribution: when a team's rules change, every stored lead is attributed again, a
//! chunk per run of the job, so the work survives restarts and shows its progress (the
//! cursor in the job's payload).

use serde::{Deserialize, Serialize};

use super::notify::JobContext;
use super::runner::JobWaker;
use super::{Job, JobFailure, JobOutcome};
use crate::db::job::enqueue_jobs;
use crate::db::job::NewJob;
use crate::db::team::{
    attribution_rules, insert_team, lead_tags_after, set_lead_attribution, set_team_archived, update_team,
};
use crate::db::Db;
use crate::domain::attribution::{Attributor, UtmTags};
use crate::domain::team_input::TeamFields;
use crate::error::AppError;
use crate::time::now_ms;

/// Leads attributed again per run of the job.
const CHUNK: i64 = 2_000;

/// Attribute every lead again with the current rules, from `after_lead_id` on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReattributeLeads {
    /// The last lead already done.
    pub after_lead_id: i64,
    /// Leads changed so far.
    pub changed: i64,
}

impl Job for ReattributeLeads {
    const KIND: &'static str = "reattribute_leads";
}

impl ReattributeLeads {
    /// A run from the first lead, unique per rules change (`changed_at`, UTC ms).
    pub fn from_start(changed_at: i64) -> NewJob {
        Self { after_lead_id: 0, changed: 0 }.to_new_job(None, format!("reattribute-leads-{changed_at}"), changed_at)
    }

    /// Attributes the next chunk; runs again at once until every lead is done.
    pub async fn run(self, context: &JobContext) -> Result<JobOutcome, JobFailure> {
        let Some((last, changed)) = reattribute_chunk(&context.db, self.after_lead_id).await? else {
            tracing::info!(leads.changed = self.changed, "re-attribution finished");
            return Ok(JobOutcome::Done);
        };
        let next = Self { after_lead_id: last, changed: self.changed + changed };
        Ok(JobOutcome::Again {
            after: std::time::Duration::ZERO,
            payload: serde_json::to_string(&next).expect("job payloads serialise"),
        })
    }
}

/// Attributes up to 2,000 leads after `after_lead_id` again with the current rules, in one
/// transaction; returns the last lead done and how many changed, or `None` when no lead
/// is left.
pub async fn reattribute_chunk(db: &Db, after_lead_id: i64) -> Result<Option<(i64, i64)>, sqlx::Error> {
    let mut conn = db.pool().acquire().await?;
    let attributor = Attributor::new(&attribution_rules(&mut conn).await?);
    let leads = lead_tags_after(&mut conn, after_lead_id, CHUNK).await?;
    drop(conn);
    let Some(last) = leads.last().map(|lead| lead.lead_id) else { return Ok(None) };
    let now = now_ms();
    let mut changed = 0;
    let _permit = db.write_permit().await;
    let mut tx = db.pool().begin().await?;
    for lead in &leads {
        let attribution = attributor.attribute(UtmTags {
            source: lead.utm_source.as_deref(),
            medium: lead.utm_medium.as_deref(),
            campaign: lead.utm_campaign.as_deref(),
        });
        let same = lead.team_id == attribution.team_id
            && lead.attribution_confidence.as_deref() == Some(attribution.confidence.as_str())
            && lead.attribution_rule.as_deref() == Some(attribution.rule.as_str());
        if !same {
            set_lead_attribution(&mut tx, lead.lead_id, &attribution, now).await?;
            changed += 1;
        }
    }
    tx.commit().await?;
    Ok(Some((last, changed)))
}

/// Creates (`team_id: None`) or updates a team and, when its rules changed, queues the
/// re-attribution of every lead, in one transaction. Returns the team's id.
///
/// Errors: `NotFound`, `Conflict` (the name is taken).
pub async fn save_team(db: &Db, waker: &JobWaker, team_id: Option<i64>, fields: &TeamFields) -> Result<i64, AppError> {
    let now = now_ms();
    let team_id = {
        let _permit = db.write_permit().await;
        let mut tx = db.pool().begin().await?;
        let before = attribution_rules(&mut tx).await?;
        let saved = match team_id {
            Some(team_id) => update_team(&mut tx, team_id, fields, now).await.map(|found| found.then_some(team_id)),
            None => insert_team(&mut tx, fields, now).await.map(Some),
        };
        let team_id = match saved {
            Ok(Some(team_id)) => team_id,
            Ok(None) => return Err(AppError::NotFound),
            Err(error) if is_unique_violation(&error) => {
                return Err(AppError::Conflict(format!("команда «{}» уже есть", fields.name)))
            }
            Err(error) => return Err(error.into()),
        };
        if attribution_rules(&mut tx).await? != before {
            enqueue_jobs(&mut tx, &[ReattributeLeads::from_start(now)], now).await?;
        }
        tx.commit().await?;
        team_id
    };
    tracing::info!(team.id = team_id, "team saved");
    waker.wake();
    Ok(team_id)
}

/// Archives a team (its leads go to whatever rule matches next) or brings it back, and
/// queues the re-attribution of every lead.
///
/// Errors: `NotFound`.
pub async fn archive_team(db: &Db, waker: &JobWaker, team_id: i64, archived: bool) -> Result<(), AppError> {
    let now = now_ms();
    {
        let _permit = db.write_permit().await;
        let mut tx = db.pool().begin().await?;
        if !set_team_archived(&mut tx, team_id, archived, now).await? {
            return Err(AppError::NotFound);
        }
        enqueue_jobs(&mut tx, &[ReattributeLeads::from_start(now)], now).await?;
        tx.commit().await?;
    }
    tracing::info!(team.id = team_id, archived, "team archive state changed");
    waker.wake();
    Ok(())
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(error) if error.is_unique_violation())
}

/// How far a running re-attribution got, in percent of the lead table; `None` when none runs.
pub async fn reattribution_percent(conn: &mut sqlx::AnyConnection) -> Result<Option<i64>, sqlx::Error> {
    let Some(payload) = crate::db::job::open_job_payload(conn, ReattributeLeads::KIND).await? else {
        return Ok(None);
    };
    let cursor = serde_json::from_str::<ReattributeLeads>(&payload).map(|job| job.after_lead_id).unwrap_or(0);
    let last = crate::db::team::max_lead_id(conn).await?;
    Ok(Some(if last == 0 { 100 } else { (cursor * 100 / last).clamp(0, 99) }))
}
