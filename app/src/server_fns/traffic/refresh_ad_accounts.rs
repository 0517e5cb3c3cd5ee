use leptos::prelude::*;

use crate::error::AppError;

/// Admins only: queues a discovery of the token's ad accounts (*Обновить кабинеты*).
///
/// Errors: `Unauthorized`, `Forbidden`, `Validation` (no Facebook token configured).
#[server(endpoint = "traffic/refresh_ad_accounts")]
pub async fn refresh_ad_accounts() -> Result<(), AppError> {
    crate::access::as_admin(
        |state, _| async move { crate::services::ad_accounts::queue_discovery(&state.services).await },
    )
    .await
}
