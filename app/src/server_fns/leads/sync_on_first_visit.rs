use leptos::prelude::*;

use crate::error::AppError;
use crate::models::CrmSyncCounts;

/// Admins only: the sync with AmoCRM that `/target` starts on the first visit of a browser
/// session (`docs/product.md`, "Dashboards"). Quiet by design: `None` when AmoCRM is not configured, a sync is
/// already running or AmoCRM fails (logged); the button reports such failures instead.
///
/// Errors: `Unauthorized`, `Forbidden`.
#[server(endpoint = "leads/sync_on_first_visit")]
pub async fn sync_on_first_visit() -> Result<Option<CrmSyncCounts>, AppError> {
    crate::access::as_admin(|state, _| async move {
        let services = &state.services;
        if services.amocrm.is_none() {
            return Ok(None);
        }
        match crate::services::crm_sync::sync_recent_deals(services).await {
            Ok(counts) => Ok(Some(counts)),
            Err(error) => {
                tracing::warn!(error = %error, "the first-visit AmoCRM sync did not run");
                Ok(None)
            }
        }
    })
    .await
}
