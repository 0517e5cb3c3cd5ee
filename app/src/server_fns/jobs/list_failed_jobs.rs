use leptos::prelude::*;

use crate::error::AppError;
use crate::models::FailedJobs;

/// Admins only: the 20 newest failed jobs with their last error, and how many failed.
///
/// Errors: `Unauthorized`, `Forbidden`.
#[server(input = leptos::server_fn::codec::GetUrl, endpoint = "jobs/failed")]
pub async fn list_failed_jobs() -> Result<FailedJobs, AppError> {
    crate::access::as_admin(|state, _| async move {
        Ok(crate::services::queue_admin::failed_jobs(&state.services, 20).await?)
    })
    .await
}
