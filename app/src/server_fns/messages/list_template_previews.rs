use leptos::prelude::*;

use crate::error::AppError;
use crate::models::TemplatePreview;

/// Admins only: every lead template (quiz result, checkout) rendered for a sample lead.
///
/// Errors: `Unauthorized`, `Forbidden`.
#[server(input = leptos::server_fn::codec::GetUrl, endpoint = "messages/previews")]
pub async fn list_template_previews() -> Result<Vec<TemplatePreview>, AppError> {
    crate::access::as_admin(|state, _| async move {
        Ok(crate::messages::template_previews(&state.config.email.product_url))
    })
    .await
}
