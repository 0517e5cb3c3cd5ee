use leptos::prelude::*;

use crate::error::AppError;

/// Admins only: «Проверить сейчас» — probes the integration named `name` at once; a paused
/// one that passes resumes and its waiting jobs run. Returns what the probe found.
///
/// Errors: `Unauthorized`, `Forbidden`, `NotFound` (unknown integration).
#[server(endpoint = "integrations/check")]
pub async fn check_integration(name: String) -> Result<String, AppError> {
    crate::access::as_admin(|state, _| async move {
        crate::services::health::check_integration(&state.services, &name).await
    })
    .await
}
