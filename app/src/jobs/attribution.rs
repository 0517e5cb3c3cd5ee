//! Re-attribution: when a team's rules change, every stored lead and then every sale is
//! attributed again, a chunk per run of the job, so the work survives restarts and shows
//! its progress (the cursors in the job's payload); last, the spend of ad accounts
//! without a team, which goes by the ads' names.

use serde::{Deserialize, Serialize};

use super::notify::JobContext;
use super::runner::JobWaker;
use super::{Job, JobFailure, JobOutcome};
use crate::db::job::enqueue_jobs;
use crate::db::job::NewJob;
use crate::db::team::{
    attribution_rules, insert_team, set_attribution, set_team_archived, tags_after, update_team, Attributed,
};
use crate::db::Db;
use crate::domain::attribution::{Attributor, UtmTags};
use crate::domain::team_input::TeamFields;
use crate::error::AppError;
use crate::time::now_ms;

/// Leads or sales attributed again per run of the job.
const CHUNK: i64 = 2_000;

/// Attribute every lead, then every sale, again with the current rules.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ReattributeLeads {
    /// The last lead already done.
    pub after_lead_id: i64,
    /// Every lead is done; sales are next.
    #[serde(default)]
    pub leads_done: bool,
    /// The last sale already done.
    #[serde(default)]
    pub after_sale_id: i64,
    /// Leads and sales changed so far.
    pub changed: i64,
}

impl Job for ReattributeLeads {
    const KIND: &'static str = "reattribute_leads";
}

impl ReattributeLeads {
    /// A run from the first lead, unique per rules change (`changed_at`, UTC ms).
    pub fn from_start(changed_at: i64) -> NewJob {
        Self::default().to_new_job(None, format!("reattribute-leads-{changed_at}"), changed_at)
    }

    /// Attributes the next chunk; runs again at once until every lead and sale is done.
    pub async fn run(self, context: &JobContext) -> Result<JobOutcome, JobFailure> {
        let (what, after) = if self.leads_done {
            (Attributed::Sale, self.after_sale_id)
        } else {
            (Attributed::Lead, self.after_lead_id)
        };
        let next = match reattribute_chunk(&context.db, what, after).await? {
            Some((last, changed)) => match what {
                Attributed::Lead => Self { after_lead_id: last, changed: self.changed + changed, ..self },
                Attributed::Sale => Self { after_sale_id: last, changed: self.changed + changed, ..self },
            },
            None if what == Attributed::Lead => Self { leads_done: true, ..self },
            None => {
                super::ad_spend::reattribute_unassigned_spend(&context.db).await?;
                tracing::info!(changed = self.changed, "re-attribution finished");
                return Ok(JobOutcome::Done);
            }
        };
        Ok(JobOutcome::Again {
            after: std::time::Duration::ZERO,
            payload: serde_json::to_string(&next).expect("job payloads serialise"),
        })
    }
}

/// Attributes up to 2,000 leads or sales after id `after` again with the current rules, in
/// one transaction; returns the last id done and how many changed, or `None` when none is
/// left.
pub async fn reattribute_chunk(db: &Db, what: Attributed, after: i64) -> Result<Option<(i64, i64)>, sqlx::Error> {
    let mut conn = db.pool().acquire().await?;
    let attributor = Attributor::new(&attribution_rules(&mut conn).await?);
    let rows = tags_after(&mut conn, what, after, CHUNK).await?;
    drop(conn);
    let Some(last) = rows.last().map(|row| row.id) else { return Ok(None) };
    let now = now_ms();
    let mut changed = 0;
    let _permit = db.write_permit().await;
    let mut tx = db.pool().begin().await?;
    for row in &rows {
        let attribution = attributor.attribute(UtmTags {
            source: row.utm_source.as_deref(),
            medium: row.utm_medium.as_deref(),
            campaign: row.utm_campaign.as_deref(),
        });
        let same = row.team_id == attribution.team_id
            && row.attribution_confidence.as_deref() == Some(attribution.confidence.as_str())
            && row.attribution_rule.as_deref() == Some(attribution.rule.as_str());
        if !same {
            set_attribution(&mut tx, what, row.id, &attribution, now).await?;
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
    let job = serde_json::from_str::<ReattributeLeads>(&payload).unwrap_or_default();
    if job.leads_done {
        return Ok(Some(99));
    }
    let last = crate::db::team::max_lead_id(conn).await?;
    Ok(Some(if last == 0 { 99 } else { (job.after_lead_id * 100 / last).clamp(0, 99) }))
}
