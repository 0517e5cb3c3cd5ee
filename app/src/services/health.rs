//! The health of the outbound integrations: configured or in test mode, last success,
//! last error, the queue of their jobs; for Facebook also how much of its request quota
//! the last call used, for AmoCRM when its OAuth token expires.

use super::Services;
use crate::db::crm_token::crm_token;
use crate::db::integration::{integration_status, queue_of_kinds};
use crate::domain::integration::Integration;
use crate::jobs::JOBS;
use crate::models::IntegrationHealth;
use crate::time::format_almaty;

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
        };
        let status = integration_status(&mut conn, integration.as_str()).await?;
        let (pending, failed) = queue_of_kinds(&mut conn, &JOBS.kinds_of(integration)).await?;
        let last_success_at = status.as_ref().and_then(|status| status.last_success_at);
        let token_expires_at = match integration {
            Integration::AmoCrm => crm_token(&mut conn).await?.map(|(_, _, expires_at)| expires_at),
            _ => None,
        };
        let last_error_at = status.as_ref().and_then(|status| status.last_error_at);
        health.push(IntegrationHealth {
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
