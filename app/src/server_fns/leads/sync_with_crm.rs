use leptos::prelude::*;

use crate::error::AppError;
use crate::models::CrmSyncCounts;

/// Admins only: pulls the last day's deals of the express pipeline from AmoCRM and
/// matches them to leads (the *Синхронизировать с AmoCRM* button).
///
/// Errors: `Unauthorized`, `Forbidden`, `Validation` (AmoCRM not configured), `Conflict`
/// (a sync is running, or AmoCRM refused).
#[server(endpoint = "leads/sync_with_crm")]
pub async fn sync_with_crm() -> Result<CrmSyncCounts, AppError> {
    crate::access::as_admin(
        |state, _| async move { crate::services::crm_sync::sync_recent_deals(&state.services).await },
    )
    .await
}
