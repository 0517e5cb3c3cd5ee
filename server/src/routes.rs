//! Plain HTTP routes: the public intake API, JSON APIs, provider webhooks and health checks.

pub mod crm_sync;
pub mod crm_webhooks;
pub mod delivery;
pub mod health;
pub mod integrations;
pub mod jobs_api;
pub mod landing;
pub mod leads_api;
pub mod sales_api;
pub mod traffic_api;

use axum::http::HeaderMap;

use app::auth::authenticate;
use app::error::AppError;
use app::models::{CurrentUser, Role};
use app::state::AppState;

/// The JSON routes' sign-in check: the user of a session or bearer token, else 401.
pub(crate) async fn require_user(state: &AppState, headers: &HeaderMap) -> Result<CurrentUser, AppError> {
    authenticate(&state.db, headers).await?.ok_or(AppError::Unauthorized)
}

/// The JSON routes' admin check: a session or bearer token of an admin, else 401 / 403.
pub(crate) async fn require_admin(state: &AppState, headers: &HeaderMap) -> Result<(), AppError> {
    let user = require_user(state, headers).await?;
    if user.role == Role::Admin {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}
