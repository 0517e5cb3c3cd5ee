use leptos::prelude::*;

use crate::error::AppError;
use crate::models::CurrentUser;

/// Any signed-in user: who they are.
///
/// Errors: `Unauthorized` without a valid session or token.
#[server(input = leptos::server_fn::codec::GetUrl, endpoint = "auth/current_user")]
pub async fn get_current_user() -> Result<CurrentUser, AppError> {
    crate::access::as_user(|_, user| async move { Ok(user) }).await
}
