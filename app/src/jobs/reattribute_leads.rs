//! Re-attribution: when a team's rules change, every stored lead and then every sale is
//! attributed again, a chunk per run, so the work survives restarts and shows its progress
//! (the cursors in the payload); last, the spend of ad accounts without a team, which goes
//! by the ads' names.

use serde::{Deserialize, Serialize};

use super::lanes;
use crate::db::job::{ClaimedJob, NewJob};
use crate::db::team::Attributed;
use crate::queue::{Job, JobFailure, Lane, Registered, Step};
use crate::services::attribution::{reattribute_chunk, reattribute_unassigned_spend};
use crate::services::Services;

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

impl ReattributeLeads {
    /// A run from the first lead, unique per rules change (`changed_at`, UTC ms).
    pub fn from_start(changed_at: i64) -> NewJob {
        Self::default().queued(None, format!("reattribute-leads-{changed_at}"), changed_at)
    }
}

impl Job for ReattributeLeads {
    type Context = Services;
    type Output = ();

    const KIND: &'static str = "reattribute_leads";
    const DESCRIPTION: &'static str = "Атрибуция";
    const LANE: Lane = lanes::BULK;

    /// Attributes the next chunk; runs again at once until every lead and sale is done.
    async fn run(self, _job: &ClaimedJob, services: &Services) -> Result<Step<Self>, JobFailure> {
        let db = &services.db;
        let (what, after) = if self.leads_done {
            (Attributed::Sale, self.after_sale_id)
        } else {
            (Attributed::Lead, self.after_lead_id)
        };
        let next = match reattribute_chunk(db, what, after).await? {
            Some((last, changed)) => match what {
                Attributed::Lead => Self { after_lead_id: last, changed: self.changed + changed, ..self },
                Attributed::Sale => Self { after_sale_id: last, changed: self.changed + changed, ..self },
            },
            None if what == Attributed::Lead => Self { leads_done: true, ..self },
            None => {
                reattribute_unassigned_spend(db).await?;
                tracing::info!(changed = self.changed, "re-attribution finished");
                return Ok(Step::Done(()));
            }
        };
        Ok(Step::Again { after: std::time::Duration::ZERO, next })
    }
}
