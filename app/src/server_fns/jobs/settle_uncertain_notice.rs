use leptos::prelude::*;

use crate::error::AppError;

/// Admins only: settles a sale announcement whose outcome is unknown — `send_again` queues
/// it once more, otherwise it is marked as in the chat.
///
/// Errors: `Unauthorized`, `Forbidden`, `Conflict` (settled already).
#[server(endpoint = "jobs/settle-notice")]
pub async fn settle_uncertain_notice(sale_id: i64, send_again: bool) -> Result<(), AppError> {
    crate::access::as_admin(|state, _| async move {
        crate::services::sales::settle_uncertain_notice(&state.services, sale_id, send_again).await
    })
    .await
}
