use leptos::prelude::*;

use crate::error::AppError;
use crate::models::FailedJobs;

/// Admins only: the 20 newest failed jobs with their last error, and how many failed.
///
/// Errors: `Unauthorized`, `Forbidden`.
#[server(input = leptos::server_fn::codec::GetUrl, endpoint = "jobs/failed")]
pub async fn list_failed_jobs() -> Result<FailedJobs, AppError> {
    use crate::models::FailedJob;
    use crate::time::format_almaty;

    crate::error::respond_with(
        async {
            crate::auth::require_admin().await?;
            let state = crate::state::app_state()?;
            let mut conn = state.db.pool().acquire().await?;
            let (rows, total) = crate::db::job::failed_jobs(&mut conn, 20).await?;
            let jobs = rows
                .into_iter()
                .map(|row| FailedJob {
                    job_id: row.job_id,
                    what: crate::jobs::describe_kind(&row.kind).to_owned(),
                    lead_id: row.lead_id,
                    lead_name: row.lead_name,
                    attempts: row.attempts,
                    last_error: row.last_error,
                    failed_at_local: format_almaty(row.updated_at),
                })
                .collect();
            Ok(FailedJobs { total, jobs })
        }
        .await,
    )
}
