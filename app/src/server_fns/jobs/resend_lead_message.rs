use leptos::prelude::*;

use crate::error::AppError;

/// Admins only: sends the lead's email (`channel = "email"`) or SMS (`"sms"`) once more.
///
/// Errors: `Unauthorized`, `Forbidden`, `NotFound`, `Validation` (unknown channel).
#[server(endpoint = "jobs/resend")]
pub async fn resend_lead_message(lead_id: i64, channel: String) -> Result<(), AppError> {
    use crate::domain::delivery::Channel;

    crate::access::as_admin(|state, _| async move {
        let channel =
            Channel::parse(&channel).ok_or_else(|| AppError::validation("channel", "ожидается email или sms"))?;
        crate::services::queue_admin::resend_message(&state.services, lead_id, channel).await
    })
    .await
}
