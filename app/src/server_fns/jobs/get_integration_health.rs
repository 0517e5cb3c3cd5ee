use leptos::prelude::*;

use crate::error::AppError;
use crate::models::IntegrationHealth;

/// Admins only: each outbound integration's mode, last success, last error and queue.
///
/// Errors: `Unauthorized`, `Forbidden`.
#[server(input = leptos::server_fn::codec::GetUrl, endpoint = "jobs/health")]
pub async fn get_integration_health() -> Result<Vec<IntegrationHealth>, AppError> {
    crate::access::as_admin(|state, _| async move {
        Ok(crate::services::health::integration_health(&state.services).await?)
    })
    .await
}
