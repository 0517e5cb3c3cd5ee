//! The hourly schedule of the spend sync: one self-rescheduling job (its key is fixed)
//! that queues a sync of the recent days of every enabled ad account.

use std::time::Duration;

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

use super::{lanes, SyncAdSpend};
use crate::db::job::{enqueue_jobs, ClaimedJob, NewJob};
use crate::db::spend::{accounts_to_sync, AdAccountRow};
use crate::db::Db;
use crate::queue::{Job, JobFailure, Lane, Registered, Step};
use crate::services::Services;
use crate::time::now_ms;

/// Queue the spend sync of every enabled account, then run again after
/// `FACEBOOK_SYNC_EVERY_SECS`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ScheduleAdSpendSync {}

impl ScheduleAdSpendSync {
    /// The schedule's queue row, due now; enqueueing it again changes nothing.
    pub fn job(now: i64) -> NewJob {
        Self::default().queued(None, "facebook-spend-schedule".into(), now)
    }

    /// Queues the schedule (once: its key is fixed).
    pub async fn start(db: &Db) -> Result<(), sqlx::Error> {
        let now = now_ms();
        let mut tx = db.begin_write().await?;
        enqueue_jobs(&mut tx, &[Self::job(now)], now).await?;
        tx.commit().await
    }
}

impl Job for ScheduleAdSpendSync {
    type Context = Services;
    type Output = ();

    const KIND: &'static str = "schedule_ad_spend_sync";
    const DESCRIPTION: &'static str = "Расходы Facebook";
    const LANE: Lane = lanes::FACEBOOK;

    async fn run(self, _job: &ClaimedJob, services: &Services) -> Result<Step<Self>, JobFailure> {
        let settings = &services.config.facebook;
        if services.facebook.is_some() {
            let now = now_ms();
            let mut conn = services.db.pool().acquire().await?;
            let accounts = accounts_to_sync(&mut conn).await?;
            drop(conn);
            let jobs: Vec<NewJob> = accounts
                .iter()
                .map(|account| recent_days_sync(account, settings.resync_days, now, settings.sync_every))
                .collect();
            let mut tx = services.db.begin_write().await?;
            enqueue_jobs(&mut tx, &jobs, now).await?;
            tx.commit().await?;
        }
        Ok(Step::Again { after: settings.sync_every, next: self })
    }
}

/// The sync of an account's last `days` days (its own calendar), unique per schedule slot.
fn recent_days_sync(account: &AdAccountRow, days: u32, now: i64, every: Duration) -> NewJob {
    let until = today_in(account.timezone.as_deref(), now);
    let since = until - Days::new(u64::from(days.max(1)) - 1);
    let slot = now / i64::try_from(every.as_millis().max(1)).unwrap_or(i64::MAX);
    SyncAdSpend { account_id: account.account_id.clone(), since, until }.queued(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_accounts_today_is_in_its_own_time_zone() {
        // 2026-11-21 20:00 UTC: already the 22nd in Almaty, still the 21st in Los Angeles.
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-21T20:00:00Z").unwrap().timestamp_millis();
        assert_eq!(today_in(Some("Asia/Almaty"), now).to_string(), "2026-11-22");
        assert_eq!(today_in(Some("America/Los_Angeles"), now).to_string(), "2026-11-21");
        assert_eq!(today_in(None, now).to_string(), "2026-11-22");
    }
}
