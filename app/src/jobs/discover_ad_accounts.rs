//! Find the Facebook token's ad accounts and store them (the «Обновить кабинеты» button).

use serde::{Deserialize, Serialize};

use super::lanes;
use crate::db::job::ClaimedJob;
use crate::domain::integration::Integration;
use crate::queue::{Job, JobFailure, Lane, Step};
use crate::services::ad_spend::discover;
use crate::services::Services;

/// Find the token's ad accounts and store them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DiscoverAdAccounts {}

impl Job for DiscoverAdAccounts {
    type Context = Services;
    type Output = ();

    const KIND: &'static str = "discover_ad_accounts";
    const DESCRIPTION: &'static str = "Кабинеты Facebook";
    const LANE: Lane = lanes::FACEBOOK;
    const INTEGRATION: Option<Integration> = Some(Integration::Facebook);

    async fn run(self, _job: &ClaimedJob, services: &Services) -> Result<Step<Self>, JobFailure> {
        let client =
            services.facebook.as_deref().ok_or_else(|| JobFailure::permanent("FACEBOOK_ACCESS_TOKEN is not set"))?;
        let found = discover(&services.db, client).await?;
        tracing::info!(accounts = found, "ad accounts discovered");
        Ok(Step::Done(()))
    }
}
