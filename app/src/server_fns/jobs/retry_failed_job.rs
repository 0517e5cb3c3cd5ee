use leptos::prelude::*;

use crate::error::AppError;

/// Admins only: queues a failed job again, due now, and sets its lead's status back to
/// pending.
///
/// Errors: `Unauthorized`, `Forbidden`, `NotFound`, `Conflict` (already retried).
#[server(endpoint = "jobs/retry")]
pub async fn retry_failed_job(job_id: i64) -> Result<(), AppError> {
    crate::access::as_admin(
        |state, _| async move { crate::services::queue_admin::retry_job(&state.services, job_id).await },
    )
    .await
}
