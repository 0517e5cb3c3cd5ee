//! Ad-account settings and the discovery button of `/traffic/admin`, and the spend a team
//! enters by hand until an ad account reports it.

use chrono::NaiveDate;

use super::attribution::attribute_account_spend;
use super::Services;
use crate::db::job::enqueue_jobs;
use crate::db::spend::{set_account_settings, set_manual_spend};
use crate::db::team::{attribution_rules, team_by_id};
use crate::domain::attribution::Attributor;
use crate::error::AppError;
use crate::jobs::DiscoverAdAccounts;
use crate::queue::Registered;
use crate::time::{day_number, now_ms};

/// Queues a discovery of the token's ad accounts (the «Обновить кабинеты» button).
///
/// Errors: `Validation` when no token is configured.
pub async fn queue_discovery(services: &Services) -> Result<(), AppError> {
    if services.facebook.is_none() {
        return Err(AppError::validation("facebook", "FACEBOOK_ACCESS_TOKEN не задан"));
    }
    let now = now_ms();
    let mut tx = services.db.begin_write().await?;
    let job = DiscoverAdAccounts::default().queued(None, format!("facebook-discover-{now}"), now);
    enqueue_jobs(&mut tx, &[job], now).await?;
    tx.commit().await?;
    services.waker.wake();
    Ok(())
}

/// Assigns an ad account to a team (or none) and turns its sync on or off; its stored
/// spend follows the new team at once (by the ads' names when it has none).
///
/// Errors: `NotFound`.
pub async fn save_account_settings(
    services: &Services,
    account_id: &str,
    team_id: Option<i64>,
    sync_enabled: bool,
) -> Result<(), AppError> {
    let mut tx = services.db.begin_write().await?;
    if !set_account_settings(&mut tx, account_id, team_id, sync_enabled, now_ms()).await? {
        return Err(AppError::NotFound);
    }
    let attributor = Attributor::new(&attribution_rules(&mut tx).await?);
    attribute_account_spend(&mut tx, &attributor, account_id, team_id).await?;
    tx.commit().await?;
    tracing::info!(team.id = team_id, sync_enabled, "ad account settings saved");
    Ok(())
}

/// Stores a team's spend of one Almaty day in tenge, replacing what was entered for that
/// day; 0 removes it.
///
/// Errors: `NotFound` (team).
pub async fn save_manual_spend(services: &Services, team_id: i64, day: NaiveDate, tenge: i64) -> Result<(), AppError> {
    let mut tx = services.db.begin_write().await?;
    if team_by_id(&mut tx, team_id).await?.is_none() {
        return Err(AppError::NotFound);
    }
    set_manual_spend(&mut tx, team_id, day_number(day), tenge, now_ms()).await?;
    tx.commit().await?;
    tracing::info!(team.id = team_id, "manual spend saved");
    Ok(())
}
