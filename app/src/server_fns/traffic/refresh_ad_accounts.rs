use leptos::prelude::*;

use crate::error::AppError;

/// Admins only: queues a discovery of the token's ad accounts (*Обновить кабинеты*).
///
/// Errors: `Unauthorized`, `Forbidden`, `Validation` (no Facebook token configured).
#[server(endpoint = "traffic/refresh_ad_accounts")]
pub async fn refresh_ad_accounts() -> Result<(), AppError> {
    crate::error::respond_with(
        async {
            crate::auth::require_admin().await?;
            let state = crate::state::app_state()?;
            crate::services::ad_accounts::queue_discovery(&state.services).await
        }
        .await,
    )
}
