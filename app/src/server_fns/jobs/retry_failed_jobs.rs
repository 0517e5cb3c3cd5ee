use leptos::prelude::*;

use crate::error::AppError;

/// Admins only: «Повторить все» — queues every failed job of `kind`, or of every kind of
/// `integration`, again, with the same duplicate guards as a single retry; returns how many.
///
/// Errors: `Unauthorized`, `Forbidden`, `Validation` (unknown kind or integration).
#[server(endpoint = "jobs/retry-all")]
pub async fn retry_failed_jobs(kind: Option<String>, integration: Option<String>) -> Result<usize, AppError> {
    crate::access::as_admin(|state, _| async move {
        crate::services::queue_admin::retry_jobs(&state.services, kind.as_deref(), integration.as_deref()).await
    })
    .await
}
