//! The health of the outbound integrations: configured or in test mode, working,
//! degraded or paused (with the reason and the next probe), last success, last error, the
//! queue of their jobs; for Facebook also how much of its request quota the last call
//! used, for AmoCRM when its OAuth token expires; and «Проверить сейчас», which probes one.

use super::Services;
use crate::db::crm_token::crm_token;
use crate::db::integration::{integration_status, queue_of_kinds};
use crate::domain::integration::{Integration, IntegrationState};
use crate::error::AppError;
use crate::jobs::JOBS;
use crate::models::IntegrationHealth;
use crate::queue::pauses::{probe_now, ProbeOutcome};
use crate::time::{format_almaty, now_ms};

/// Every integration, in the order the health view lists them.
pub async fn integration_health(services: &Services) -> Result<Vec<IntegrationHealth>, sqlx::Error> {
    let mut conn = services.db.pool().acquire().await?;
    let mut health = Vec::with_capacity(Integration::ALL.len());
    for integration in Integration::ALL {
        let configured = match integration {
            Integration::Resend => services.email.is_real(),
            Integration::Mobizon => services.sms.is_real(),
            Integration::AmoCrm => services.amocrm.is_some(),
            Integration::Facebook => services.facebook.is_some(),
            Integration::Telegram => services.telegram.is_some(),
            Integration::MetaConversions => services.conversions.is_some(),
        };
        let status = integration_status(&mut conn, integration.as_str()).await?;
        let (pending, failed) = queue_of_kinds(&mut conn, &JOBS.kinds_of(integration)).await?;
        let last_success_at = status.as_ref().and_then(|status| status.last_success_at);
        let token_expires_at = match integration {
            Integration::AmoCrm => crm_token(&mut conn).await?.map(|(_, _, expires_at)| expires_at),
            _ => None,
        };
        let last_error_at = status.as_ref().and_then(|status| status.last_error_at);
        let paused_at = status.as_ref().and_then(|status| status.paused_at);
        let next_probe_at = status.as_ref().and_then(|status| status.next_probe_at).filter(|_| paused_at.is_some());
        health.push(IntegrationHealth {
            state: IntegrationState::of(paused_at.is_some(), last_success_at, last_error_at).as_str().to_owned(),
            paused_at,
            paused_local: paused_at.map(format_almaty),
            pause_reason: status.as_ref().and_then(|status| status.pause_reason.clone()),
            next_probe_at,
            next_probe_local: next_probe_at.map(format_almaty),
            name: integration.as_str().to_owned(),
            title: integration.title().to_owned(),
            configured,
            last_success_at,
            last_success_local: last_success_at.map(format_almaty),
            last_error: status.as_ref().and_then(|status| status.last_error.clone()),
            last_error_at,
            last_error_local: last_error_at.map(format_almaty),
            pending,
            failed,
            usage_percent: match integration {
                Integration::Facebook => services.facebook.as_ref().map(|client| client.usage_percent()),
                _ => None,
            },
            token_expires_at,
            token_expires_local: token_expires_at.map(format_almaty),
        });
    }
    Ok(health)
}

/// «Проверить сейчас»: probes `integration` at once. A paused one that passes resumes and
/// its waiting jobs run; a working one that refuses is paused. Answers what the probe
/// found, in Russian.
///
/// Errors: `NotFound` for an unknown integration name.
pub async fn check_integration(services: &Services, name: &str) -> Result<String, AppError> {
    let integration = Integration::parse(name).ok_or(AppError::NotFound)?;
    let outcome = probe_now(services, integration, now_ms()).await?;
    services.waker.pauses_changed();
    tracing::info!(integration = name, passed = outcome == ProbeOutcome::Passed, "integration checked by an admin");
    Ok(match outcome {
        ProbeOutcome::Passed => format!("{}: проверка пройдена, интеграция работает", integration.title()),
        ProbeOutcome::Failed(why) => format!("{}: проверка не пройдена — {why}", integration.title()),
    })
}
