//! The periodic sync with AmoCRM: one self-rescheduling job (its key is fixed).

use serde::{Deserialize, Serialize};

use super::lanes;
use crate::db::job::{enqueue_jobs, ClaimedJob};
use crate::db::Db;
use crate::queue::{Job, JobFailure, Lane, Registered, Step};
use crate::services::crm_sync::sync_recent_deals;
use crate::services::Services;
use crate::time::now_ms;

/// Sync with AmoCRM every `AMOCRM_SYNC_EVERY_SECS`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ScheduleCrmSync {}

impl ScheduleCrmSync {
    /// Queues the schedule; once only, whatever the restarts (its key is fixed).
    pub async fn start(db: &Db) -> Result<(), sqlx::Error> {
        let now = now_ms();
        let job = Self::default().queued(None, "amocrm-sync-schedule".into(), now);
        let mut tx = db.begin_write().await?;
        enqueue_jobs(&mut tx, &[job], now).await?;
        tx.commit().await
    }
}

impl Job for ScheduleCrmSync {
    type Context = Services;
    type Output = ();

    const KIND: &'static str = "schedule_crm_sync";
    const DESCRIPTION: &'static str = "Синхронизация AmoCRM";
    const LANE: Lane = lanes::AMOCRM;

    fn is_ready(services: &Services) -> bool {
        services.amocrm.is_some()
    }

    /// Runs the sync and comes back after `AMOCRM_SYNC_EVERY_SECS`; a failed or
    /// overlapping sync is logged and tried at the next turn.
    async fn run(self, _job: &ClaimedJob, services: &Services) -> Result<Step<Self>, JobFailure> {
        if let Err(error) = sync_recent_deals(services).await {
            tracing::warn!(error = %error, "scheduled AmoCRM sync did not run");
        }
        Ok(Step::Again { after: services.config.crm.sync_every, next: self })
    }
}
