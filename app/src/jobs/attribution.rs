//! Re-attribution: when a team's rules change, every stored lead is attributed again, a
//! chunk per run of the job, so the work survives restarts and shows its progress (the
//! cursor in the job's payload).

use serde::{Deserialize, Serialize};

use super::notify::JobContext;
use super::{Job, JobFailure, JobOutcome};
use crate::db::job::NewJob;
use crate::db::team::{attribution_rules, lead_tags_after, set_lead_attribution};
use crate::domain::attribution::{Attributor, UtmTags};
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
        let db = &context.db;
        let mut conn = db.pool().acquire().await?;
        let attributor = Attributor::new(&attribution_rules(&mut conn).await?);
        let leads = lead_tags_after(&mut conn, self.after_lead_id, CHUNK).await?;
        drop(conn);
        let Some(last) = leads.last().map(|lead| lead.lead_id) else {
            tracing::info!(leads.changed = self.changed, "re-attribution finished");
            return Ok(JobOutcome::Done);
        };
        let now = now_ms();
        let mut changed = 0;
        {
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
        }
        let next = Self { after_lead_id: last, changed: self.changed + changed };
        Ok(JobOutcome::Again {
            after: std::time::Duration::ZERO,
            payload: serde_json::to_string(&next).expect("job payloads serialise"),
        })
    }
}

/// Replaces a team's UTM patterns and queues the re-attribution of every lead, in one
/// transaction. Patterns are trimmed; empty ones are dropped.
pub async fn update_team_patterns(
    db: &crate::db::Db,
    waker: &super::runner::JobWaker,
    team_id: i64,
    patterns: &[String],
) -> Result<(), crate::error::AppError> {
    let patterns: Vec<String> =
        patterns.iter().map(|pattern| pattern.trim().to_owned()).filter(|pattern| !pattern.is_empty()).collect();
    let now = now_ms();
    {
        let _permit = db.write_permit().await;
        let mut tx = db.pool().begin().await?;
        if !crate::db::team::set_team_patterns(&mut tx, team_id, &patterns, now).await? {
            return Err(crate::error::AppError::NotFound);
        }
        crate::db::job::enqueue_jobs(&mut tx, &[ReattributeLeads::from_start(now)], now).await?;
        tx.commit().await?;
    }
    tracing::info!(team.id = team_id, patterns = patterns.len(), "team patterns changed; leads are attributed again");
    waker.wake();
    Ok(())
}
