use leptos::prelude::*;

use crate::error::AppError;
use crate::models::AlertView;

/// Admins only: the open alerts, then the latest cleared ones.
///
/// Errors: `Unauthorized`, `Forbidden`.
#[server(input = leptos::server_fn::codec::GetUrl, endpoint = "jobs/alerts")]
pub async fn list_alerts() -> Result<Vec<AlertView>, AppError> {
    crate::access::as_admin(|state, _| async move { Ok(crate::services::alerts::list_alerts(&state.services).await?) })
        .await
}
