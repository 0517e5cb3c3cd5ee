//! The alert watcher: every `ALERT_CHECK_EVERY_SECS` it reads a snapshot of the system,
//! opens an incident for each new problem and closes those that are over, in one
//! transaction with the Telegram notices it queues — so each incident is announced once
//! and followed by one «решено», whichever process looks (an open incident's key is
//! unique).

use std::collections::HashSet;

use tokio_util::sync::CancellationToken;

use super::health::integration_health;
use super::Services;
use crate::db::alert::{
    clear_alert, failed_job_count, oldest_due_job, open_alerts, raise_alert, recent_alerts, source_activity,
    teams_spending_without_leads, AlertRow, Phase,
};
use crate::db::job::enqueue_jobs;
use crate::domain::alerts::{conditions, IntegrationActivity, Snapshot, LEARNING_DAYS};
use crate::domain::integration::IntegrationState;
use crate::jobs::{SendAlert, JOBS};
use crate::models::AlertView;
use crate::queue::Registered;
use crate::time::{almaty_day, format_almaty, now_ms};

/// What one look changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AlertCheck {
    pub raised: usize,
    pub cleared: usize,
}

/// Looks every `ALERT_CHECK_EVERY_SECS` until `shutdown`; a failed look is logged and
/// the next one tries again.
pub async fn watch(services: Services, shutdown: CancellationToken) {
    let mut every = tokio::time::interval(services.config.alerts.check_every);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = every.tick() => {}
        }
        if let Err(error) = check_alerts(&services, now_ms()).await {
            if !services.db.is_outage(&error) {
                tracing::error!(error = %error, "checking for alerts failed");
            }
        }
    }
}

/// Looks at the system as of `now` (UTC ms): raises what is newly wrong and clears what
/// is over.
pub async fn check_alerts(services: &Services, now: i64) -> Result<AlertCheck, sqlx::Error> {
    let snapshot = snapshot(services, now).await?;
    let found = conditions(&snapshot, &services.config.alerts.thresholds);
    let notice = if services.config.alerts.chat_id.is_some() { "pending" } else { "none" };
    let mut check = AlertCheck::default();
    let mut jobs = Vec::new();
    let mut tx = services.db.begin_write().await?;
    let open = open_alerts(&mut tx).await?;
    let open_keys: HashSet<&str> = open.iter().map(|alert| alert.alert_key.as_str()).collect();
    for condition in found.iter().filter(|condition| !open_keys.contains(condition.key.as_str())) {
        if let Some(alert_id) = raise_alert(&mut tx, condition, notice, now).await? {
            tracing::warn!(alert.id = alert_id, alert.key = %condition.key, "alert raised");
            check.raised += 1;
            jobs.push(notice_job(alert_id, Phase::Raised, notice, now));
        }
    }
    let found_keys: HashSet<&str> = found.iter().map(|condition| condition.key.as_str()).collect();
    for alert in open.iter().filter(|alert| !found_keys.contains(alert.alert_key.as_str())) {
        // «Решено» goes only where the alert went.
        let notice = if alert.raise_notice == "none" { "none" } else { notice };
        if clear_alert(&mut tx, alert.alert_id, notice, now).await? {
            tracing::info!(alert.id = alert.alert_id, alert.key = %alert.alert_key, "alert cleared");
            check.cleared += 1;
            jobs.push(notice_job(alert.alert_id, Phase::Cleared, notice, now));
        }
    }
    let jobs: Vec<_> = jobs.into_iter().flatten().collect();
    enqueue_jobs(&mut tx, &jobs, now).await?;
    tx.commit().await?;
    if !jobs.is_empty() {
        services.waker.wake();
    }
    Ok(check)
}

/// The notice job of an alert's `phase`, unless notices go nowhere.
fn notice_job(alert_id: i64, phase: Phase, notice: &str, now: i64) -> Option<crate::db::job::NewJob> {
    let key = match phase {
        Phase::Raised => format!("alert-{alert_id}-raised"),
        Phase::Cleared => format!("alert-{alert_id}-cleared"),
    };
    (notice == "pending").then(|| SendAlert { alert_id, phase }.queued(None, key, now))
}

/// What the rules look at, as of `now`.
async fn snapshot(services: &Services, now: i64) -> Result<Snapshot, sqlx::Error> {
    let health = integration_health(services).await?;
    let paused: HashSet<&str> =
        health.iter().filter(|health| health.paused_at.is_some()).map(|health| health.name.as_str()).collect();
    let integrations = health
        .iter()
        .map(|health| IntegrationActivity {
            name: health.name.clone(),
            title: health.title.clone(),
            paused_at: health.paused_at,
            degraded_since: (health.state == IntegrationState::Degraded.as_str())
                .then(|| health.last_success_at.or(health.last_error_at))
                .flatten(),
        })
        .collect();
    // Jobs that wait for a configuration or a paused integration are not the queue's delay.
    let runnable: Vec<&str> = JOBS
        .kinds()
        .iter()
        .filter(|kind| kind.is_ready(services))
        .filter(|kind| kind.integration.is_none_or(|integration| !paused.contains(integration.as_str())))
        .map(|kind| kind.kind)
        .collect();
    let mut conn = services.db.pool().acquire().await?;
    Ok(Snapshot {
        now,
        sources: source_activity(&mut conn, almaty_day(now - LEARNING_DAYS * 24 * 3_600_000)).await?,
        integrations,
        failed_jobs: failed_job_count(&mut conn).await?,
        oldest_due_at: oldest_due_job(&mut conn, &runnable, now).await?,
        spending_without_leads: teams_spending_without_leads(&mut conn, almaty_day(now)).await?,
    })
}

/// The open alerts, then the latest cleared ones, for `/traffic/admin`.
pub async fn list_alerts(services: &Services) -> Result<Vec<AlertView>, sqlx::Error> {
    let mut conn = services.db.pool().acquire().await?;
    Ok(recent_alerts(&mut conn, 20).await?.into_iter().map(alert_view).collect())
}

fn alert_view(alert: AlertRow) -> AlertView {
    let notice = |state: &str| match state {
        "pending" | "sending" => "отправляется",
        "sent" => "отправлено в Telegram",
        "uncertain" => "неизвестно, дошло ли",
        "failed" => "не отправлено",
        _ => "",
    };
    AlertView {
        alert_id: alert.alert_id,
        title: alert.title,
        detail: alert.detail,
        raised_local: format_almaty(alert.raised_at),
        cleared_local: alert.cleared_at.map(format_almaty),
        notice: notice(if alert.cleared_at.is_some() { &alert.clear_notice } else { &alert.raise_notice }).to_owned(),
    }
}
