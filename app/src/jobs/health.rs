//! The health of the outbound integrations the runner talks to.

use super::ad_spend::{SyncAdSpend, FACEBOOK};
use super::notify::JobContext;
use super::sales::{NotifySale, TELEGRAM};
use super::{Job, PushLeadToCrm, SendLeadEmail, SendLeadSms, AMOCRM, MOBIZON, RESEND};
use crate::db::integration::{integration_status, queue_of_kind};
use crate::models::IntegrationHealth;
use crate::time::format_almaty;

/// Resend, Mobizon, AmoCRM, Facebook and Telegram: configured or in test mode, last success, last error,
/// queue depth; for Facebook also how much of its request quota the last call used, for
/// AmoCRM when its OAuth token expires.
pub async fn integration_health(context: &JobContext) -> Result<Vec<IntegrationHealth>, sqlx::Error> {
    let providers = [
        (RESEND, "Resend (email)", context.email.is_real(), SendLeadEmail::KIND),
        (MOBIZON, "Mobizon (SMS)", context.sms.is_real(), SendLeadSms::KIND),
        (AMOCRM, "AmoCRM (сделки)", context.amocrm.is_some(), PushLeadToCrm::KIND),
        (FACEBOOK, "Facebook (расходы)", context.facebook.is_some(), SyncAdSpend::KIND),
        (TELEGRAM, "Telegram (продажи)", context.telegram.is_some(), NotifySale::KIND),
    ];
    let mut conn = context.db.pool().acquire().await?;
    let mut health = Vec::with_capacity(providers.len());
    for (name, title, configured, kind) in providers {
        let status = integration_status(&mut conn, name).await?;
        let (pending, failed) = queue_of_kind(&mut conn, kind).await?;
        let last_success_at = status.as_ref().and_then(|status| status.last_success_at);
        let token_expires_at = match name {
            AMOCRM => crate::db::crm_token::crm_token(&mut conn).await?.map(|(_, _, expires_at)| expires_at),
            _ => None,
        };
        let last_error_at = status.as_ref().and_then(|status| status.last_error_at);
        health.push(IntegrationHealth {
            name: name.to_owned(),
            title: title.to_owned(),
            configured,
            last_success_at,
            last_success_local: last_success_at.map(format_almaty),
            last_error: status.as_ref().and_then(|status| status.last_error.clone()),
            last_error_at,
            last_error_local: last_error_at.map(format_almaty),
            pending,
            failed,
            usage_percent: match name {
                FACEBOOK => context.facebook.as_ref().map(|client| client.usage_percent()),
                _ => None,
            },
            token_expires_at,
            token_expires_local: token_expires_at.map(format_almaty),
        });
    }
    Ok(health)
}
