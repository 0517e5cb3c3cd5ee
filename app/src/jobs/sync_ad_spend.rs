//! Sync one ad account's daily spend for a range of its days; the recent days are synced
//! again on every run, replacing them, since Facebook revises recent numbers.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::lanes;
use crate::db::job::ClaimedJob;
use crate::db::spend::record_account_sync;
use crate::domain::integration::Integration;
use crate::queue::{Job, JobFailure, Lane, Step};
use crate::services::ad_spend::sync_account;
use crate::services::Services;
use crate::time::now_ms;

/// Sync one account's daily spend for `since..=until` (the account's days).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SyncAdSpend {
    pub account_id: String,
    pub since: NaiveDate,
    pub until: NaiveDate,
}

impl Job for SyncAdSpend {
    type Context = Services;
    type Output = ();

    const KIND: &'static str = "sync_ad_spend";
    const DESCRIPTION: &'static str = "Расходы Facebook";
    const LANE: Lane = lanes::FACEBOOK;
    const INTEGRATION: Option<Integration> = Some(Integration::Facebook);

    async fn run(self, _job: &ClaimedJob, services: &Services) -> Result<Step<Self>, JobFailure> {
        let client =
            services.facebook.as_deref().ok_or_else(|| JobFailure::permanent("FACEBOOK_ACCESS_TOKEN is not set"))?;
        let rates = &services.config.facebook.fallback_rates;
        match sync_account(&services.db, client, rates, &self.account_id, (self.since, self.until)).await {
            Ok(rows) => {
                tracing::info!(rows, "ad spend synced");
                Ok(Step::Done(()))
            }
            Err(failure) => {
                let mut conn = services.db.pool().acquire().await?;
                record_account_sync(&mut conn, &self.account_id, Some(&failure.to_string()), now_ms()).await?;
                Err(failure)
            }
        }
    }
}
