//! Facebook ad accounts and their spend (SPEC §7): discovery of the token's accounts, the
//! daily ad-level spend sync of each enabled account (the last `FACEBOOK_RESYNC_DAYS`
//! days again on every run, replacing them, since Facebook revises recent numbers), the
//! hourly schedule that queues those syncs, and the attribution of spend to teams.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

use super::notify::JobContext;
use super::{Job, JobFailure, JobOutcome};
use crate::db::job::{enqueue_jobs, NewJob};
use crate::db::spend::{
    account_ad_names, accounts_to_sync, ad_account, rate_on, record_account_sync, replace_spend,
    save_discovered_accounts, set_account_settings, set_ad_team, unassigned_accounts, AdAccountRow, DiscoveredAccount,
    SpendRow,
};
use crate::db::team::attribution_rules;
use crate::db::Db;
use crate::domain::attribution::{Attributor, UtmTags};
use crate::domain::lead_filter::day_number;
use crate::error::AppError;
use crate::providers::facebook::{parse_count, parse_minor, FacebookClient, GraphError};
use crate::time::now_ms;

/// The health view's name of Facebook.
pub const FACEBOOK: &str = "facebook";

/// Find the token's ad accounts and store them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DiscoverAdAccounts {}

impl Job for DiscoverAdAccounts {
    const KIND: &'static str = "discover_ad_accounts";
}

/// Sync one account's daily spend for `since..=until` (the account's days).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SyncAdSpend {
    pub account_id: String,
    pub since: NaiveDate,
    pub until: NaiveDate,
}

impl Job for SyncAdSpend {
    const KIND: &'static str = "sync_ad_spend";
}

/// Queue the spend sync of every enabled account, then run again after
/// `FACEBOOK_SYNC_EVERY_SECS`. One such job exists (its key is fixed).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ScheduleAdSpendSync {}

impl Job for ScheduleAdSpendSync {
    const KIND: &'static str = "schedule_ad_spend_sync";
}

impl ScheduleAdSpendSync {
    /// The schedule's queue row, due now; enqueueing it again changes nothing.
    pub fn job(now: i64) -> NewJob {
        Self::default().to_new_job(None, "facebook-spend-schedule".into(), now)
    }
}

/// Queues the hourly spend schedule (once: its key is fixed) when Facebook is configured.
pub async fn start_schedule(db: &Db) -> Result<(), sqlx::Error> {
    let now = now_ms();
    let _permit = db.write_permit().await;
    let mut tx = db.pool().begin().await?;
    enqueue_jobs(&mut tx, &[ScheduleAdSpendSync::job(now)], now).await?;
    tx.commit().await
}

/// Queues a discovery of the token's ad accounts (the *Обновить кабинеты* button).
///
/// Errors: `Validation` when no token is configured.
pub async fn queue_discovery(context: &JobContext, waker: &super::runner::JobWaker) -> Result<(), AppError> {
    if context.facebook.is_none() {
        return Err(AppError::validation("facebook", "FACEBOOK_ACCESS_TOKEN не задан"));
    }
    let now = now_ms();
    {
        let _permit = context.db.write_permit().await;
        let mut tx = context.db.pool().begin().await?;
        let job = DiscoverAdAccounts::default().to_new_job(None, format!("facebook-discover-{now}"), now);
        enqueue_jobs(&mut tx, &[job], now).await?;
        tx.commit().await?;
    }
    waker.wake();
    Ok(())
}

impl From<GraphError> for JobFailure {
    fn from(error: GraphError) -> Self {
        match error {
            GraphError::RateLimited { message, retry_after } => Self::Retry { message, retry_after: Some(retry_after) },
            GraphError::Transient { message } | GraphError::TooMuchData { message } => {
                Self::Retry { message, retry_after: None }
            }
            GraphError::Token { message } | GraphError::Refused { message } => Self::Permanent { message },
        }
    }
}

impl JobContext {
    fn facebook(&self) -> Result<&FacebookClient, JobFailure> {
        self.facebook
            .as_deref()
            .ok_or_else(|| JobFailure::Permanent { message: "FACEBOOK_ACCESS_TOKEN is not set".into() })
    }

    /// Runs a discovery job.
    pub async fn discover_ad_accounts(&self) -> Result<JobOutcome, JobFailure> {
        let found = discover(&self.db, self.facebook()?).await?;
        tracing::info!(accounts = found, "ad accounts discovered");
        Ok(JobOutcome::Done)
    }

    /// Runs a spend sync job.
    pub async fn sync_ad_spend(&self, job: SyncAdSpend) -> Result<JobOutcome, JobFailure> {
        let client = self.facebook()?;
        match sync_account(&self.db, client, &self.facebook_config.fallback_rates, &job).await {
            Ok(rows) => {
                tracing::info!(rows, "ad spend synced");
                Ok(JobOutcome::Done)
            }
            Err(failure) => {
                let mut conn = self.db.pool().acquire().await?;
                record_account_sync(&mut conn, &job.account_id, Some(&failure.to_string()), now_ms()).await?;
                Err(failure)
            }
        }
    }

    /// Runs the schedule: queues a sync of the recent days of every enabled account.
    pub async fn schedule_ad_spend_sync(&self) -> Result<JobOutcome, JobFailure> {
        let every = self.facebook_config.sync_every;
        if self.facebook.is_some() {
            let now = now_ms();
            let mut conn = self.db.pool().acquire().await?;
            let accounts = accounts_to_sync(&mut conn).await?;
            drop(conn);
            let jobs: Vec<NewJob> = accounts
                .iter()
                .map(|account| recent_days_sync(account, self.facebook_config.resync_days, now, every))
                .collect();
            let _permit = self.db.write_permit().await;
            let mut tx = self.db.pool().begin().await?;
            enqueue_jobs(&mut tx, &jobs, now).await?;
            tx.commit().await?;
        }
        Ok(JobOutcome::Again { after: every, payload: "{}".into() })
    }
}

/// The sync of an account's last `days` days (its own calendar), unique per schedule slot.
fn recent_days_sync(account: &AdAccountRow, days: u32, now: i64, every: Duration) -> NewJob {
    let until = today_in(account.timezone.as_deref(), now);
    let since = until - Days::new(u64::from(days.max(1)) - 1);
    let slot = now / i64::try_from(every.as_millis().max(1)).unwrap_or(i64::MAX);
    SyncAdSpend { account_id: account.account_id.clone(), since, until }.to_new_job(
        None,
        format!("facebook-spend-{}-{slot}", account.account_id),
        now,
    )
}

/// Today in an account's time zone (Almaty when unknown).
fn today_in(timezone: Option<&str>, now: i64) -> NaiveDate {
    let zone: chrono_tz::Tz = timezone.and_then(|name| name.parse().ok()).unwrap_or(chrono_tz::Asia::Almaty);
    chrono::DateTime::from_timestamp_millis(now).unwrap_or_default().with_timezone(&zone).date_naive()
}

/// Stores every ad account of the token's Business Managers (owned and shared with them)
/// and those the token sees directly; returns how many there are. Running it again
/// updates them, never duplicates.
pub async fn discover(db: &Db, client: &FacebookClient) -> Result<usize, GraphError> {
    let mut found: BTreeMap<String, DiscoveredAccount> = BTreeMap::new();
    let businesses = match client.businesses().await {
        Ok(businesses) => businesses,
        // Without `business_management` the token still sees its own accounts.
        Err(GraphError::Refused { message }) => {
            tracing::warn!(error = %message, "Business Managers are not readable; using the token's own ad accounts");
            Vec::new()
        }
        Err(other) => return Err(other),
    };
    for business in &businesses {
        for owned in [true, false] {
            for account in client.business_ad_accounts(&business.id, owned).await? {
                found.entry(account.id.clone()).or_insert_with(|| DiscoveredAccount {
                    business_id: Some(business.id.clone()),
                    business_name: Some(business.name.clone()),
                    ..discovered(&account)
                });
            }
        }
    }
    for account in client.my_ad_accounts().await? {
        found.entry(account.id.clone()).or_insert_with(|| discovered(&account));
    }
    let accounts: Vec<DiscoveredAccount> = found.into_values().collect();
    let db_error = |error: sqlx::Error| GraphError::Transient { message: format!("database: {error}") };
    let _permit = db.write_permit().await;
    let mut tx = db.pool().begin().await.map_err(db_error)?;
    save_discovered_accounts(&mut tx, &accounts, now_ms()).await.map_err(db_error)?;
    tx.commit().await.map_err(db_error)?;
    Ok(accounts.len())
}

fn discovered(account: &crate::providers::facebook::AdAccount) -> DiscoveredAccount {
    DiscoveredAccount {
        account_id: account.id.clone(),
        business_id: None,
        business_name: None,
        name: account.name.clone(),
        currency: account.currency.to_uppercase(),
        timezone: account.timezone_name.clone(),
        status: account.status().to_owned(),
    }
}

/// Fetches an account's daily ad-level insights for the job's days, converts them to
/// tenge, attributes them and replaces those days' rows in one transaction. Returns the
/// rows stored.
pub async fn sync_account(
    db: &Db,
    client: &FacebookClient,
    fallback_rates: &[(String, f64)],
    job: &SyncAdSpend,
) -> Result<usize, JobFailure> {
    let mut conn = db.pool().acquire().await?;
    let account = ad_account(&mut conn, &job.account_id)
        .await?
        .ok_or_else(|| JobFailure::Permanent { message: format!("unknown ad account {}", job.account_id) })?;
    let attributor = Attributor::new(&attribution_rules(&mut conn).await?);
    drop(conn);
    let insights = client.daily_ad_insights(&account.account_id, job.since, job.until).await?;

    let mut conn = db.pool().acquire().await?;
    let mut rates: BTreeMap<(String, i64), i64> = BTreeMap::new();
    let mut rows = Vec::with_capacity(insights.len());
    for insight in insights {
        let day = NaiveDate::parse_from_str(&insight.date_start, "%Y-%m-%d").map(day_number).map_err(|_| {
            JobFailure::Retry { message: format!("Facebook: bad date {}", insight.date_start), retry_after: None }
        })?;
        let currency = insight.account_currency.clone().unwrap_or_else(|| account.currency.clone()).to_uppercase();
        let spend_minor = insight.spend.as_deref().and_then(parse_minor).unwrap_or(0);
        let kzt_micro = match currency.as_str() {
            "KZT" => 1_000_000,
            _ => match rates.get(&(currency.clone(), day)) {
                Some(rate) => *rate,
                None => {
                    let rate = rate_on(&mut conn, &currency, day)
                        .await?
                        .or_else(|| fallback_rate(fallback_rates, &currency))
                        .ok_or_else(|| JobFailure::Permanent {
                            message: format!("нет курса {currency} → KZT на {}", insight.date_start),
                        })?;
                    rates.insert((currency.clone(), day), rate);
                    rate
                }
            },
        };
        let (team_id, rule) = match account.team_id {
            Some(team_id) => (Some(team_id), "account".to_owned()),
            None => {
                let attribution =
                    attribute_ad(&attributor, insight.campaign_name.as_deref(), insight.ad_name.as_deref());
                (attribution.team_id, attribution.rule)
            }
        };
        rows.push(SpendRow {
            account_id: account.account_id.clone(),
            day,
            ad_id: insight.ad_id,
            ad_name: insight.ad_name,
            adset_id: insight.adset_id,
            adset_name: insight.adset_name,
            campaign_id: insight.campaign_id,
            campaign_name: insight.campaign_name,
            impressions: parse_count(insight.impressions.as_deref()),
            clicks: parse_count(insight.clicks.as_deref()),
            spend_kzt_minor: to_tenge_minor(spend_minor, kzt_micro),
            currency,
            spend_minor,
            team_id,
            attribution_rule: Some(rule),
        });
    }
    drop(conn);
    let now = now_ms();
    let _permit = db.write_permit().await;
    let mut tx = db.pool().begin().await?;
    replace_spend(&mut tx, &account.account_id, day_number(job.since), day_number(job.until), &rows, now).await?;
    record_account_sync(&mut tx, &account.account_id, None, now).await?;
    tx.commit().await?;
    Ok(rows.len())
}

fn fallback_rate(rates: &[(String, f64)], currency: &str) -> Option<i64> {
    rates.iter().find(|(name, _)| name == currency).map(|(_, rate)| (rate * 1_000_000.0).round() as i64)
}

/// Hundredths of a currency at `kzt_micro` millionths of tenge per unit, as tiyn.
fn to_tenge_minor(minor: i64, kzt_micro: i64) -> i64 {
    let product = i128::from(minor) * i128::from(kzt_micro);
    i64::try_from((product + 500_000) / 1_000_000).unwrap_or(i64::MAX)
}

/// The team an ad of an account without a team belongs to, by the teams' UTM patterns in
/// its campaign name, else its ad name (the same engine as leads).
fn attribute_ad(
    attributor: &Attributor,
    campaign_name: Option<&str>,
    ad_name: Option<&str>,
) -> crate::domain::attribution::Attribution {
    attributor.attribute(UtmTags { source: None, medium: ad_name, campaign: campaign_name })
}

/// Assigns an ad account to a team (or none) and turns its sync on or off; its stored
/// spend follows the new team at once (by the ads' names when it has none).
///
/// Errors: `NotFound`.
pub async fn save_account_settings(
    db: &Db,
    account_id: &str,
    team_id: Option<i64>,
    sync_enabled: bool,
) -> Result<(), AppError> {
    let _permit = db.write_permit().await;
    let mut tx = db.pool().begin().await?;
    if !set_account_settings(&mut tx, account_id, team_id, sync_enabled, now_ms()).await? {
        return Err(AppError::NotFound);
    }
    let attributor = Attributor::new(&attribution_rules(&mut tx).await?);
    attribute_account_spend(&mut tx, &attributor, account_id, team_id).await?;
    tx.commit().await?;
    tracing::info!(team.id = team_id, sync_enabled, "ad account settings saved");
    Ok(())
}

/// Sets the team of every stored ad of an account: the account's team, or by the ads'
/// names when it has none.
async fn attribute_account_spend(
    conn: &mut sqlx::AnyConnection,
    attributor: &Attributor,
    account_id: &str,
    team_id: Option<i64>,
) -> Result<(), sqlx::Error> {
    for (ad_id, ad_name, campaign_name) in account_ad_names(conn, account_id).await? {
        let (team, rule) = match team_id {
            Some(team_id) => (Some(team_id), "account".to_owned()),
            None => {
                let attribution = attribute_ad(attributor, campaign_name.as_deref(), ad_name.as_deref());
                (attribution.team_id, attribution.rule)
            }
        };
        set_ad_team(conn, account_id, &ad_id, team, &rule).await?;
    }
    Ok(())
}

/// Attributes the spend of every account without a team again by its ads' names, after
/// the teams' patterns changed.
pub async fn reattribute_unassigned_spend(db: &Db) -> Result<(), sqlx::Error> {
    let _permit = db.write_permit().await;
    let mut tx = db.pool().begin().await?;
    let attributor = Attributor::new(&attribution_rules(&mut tx).await?);
    for account_id in unassigned_accounts(&mut tx).await? {
        attribute_account_spend(&mut tx, &attributor, &account_id, None).await?;
    }
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn foreign_spend_converts_to_tiyn() {
        // 12.34 USD at 505.2 ₸ = 6 234.168 ₸.
        assert_eq!(to_tenge_minor(1_234, 505_200_000), 623_417);
        assert_eq!(to_tenge_minor(1_234, 1_000_000), 1_234);
        assert_eq!(fallback_rate(&[("USD".into(), 505.2)], "USD"), Some(505_200_000));
        assert_eq!(fallback_rate(&[("USD".into(), 505.2)], "EUR"), None);
    }

    #[test]
    fn an_accounts_today_is_in_its_own_time_zone() {
        // 2026-11-21 20:00 UTC: already the 22nd in Almaty, still the 21st in Los Angeles.
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-21T20:00:00Z").unwrap().timestamp_millis();
        assert_eq!(today_in(Some("Asia/Almaty"), now).to_string(), "2026-11-22");
        assert_eq!(today_in(Some("America/Los_Angeles"), now).to_string(), "2026-11-21");
        assert_eq!(today_in(None, now).to_string(), "2026-11-22");
    }
}
