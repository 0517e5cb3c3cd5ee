use leptos::prelude::*;

use crate::error::AppError;
use crate::models::UncertainNotices;

/// Admins only: the sale announcements whose outcome is unknown.
///
/// Errors: `Unauthorized`, `Forbidden`.
#[server(input = leptos::server_fn::codec::GetUrl, endpoint = "jobs/uncertain-notices")]
pub async fn list_uncertain_notices() -> Result<UncertainNotices, AppError> {
    crate::access::as_admin(
        |state, _| async move { Ok(crate::services::sales::uncertain_notices(&state.services).await?) },
    )
    .await
}
