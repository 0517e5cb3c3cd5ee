//! Plain HTTP routes: the public intake API, JSON APIs, provider webhooks and health checks.

pub mod delivery;
pub mod health;
pub mod integrations;
pub mod jobs_api;
pub mod landing;
pub mod leads_api;

use axum::http::HeaderMap;

use app::auth::authenticate;
use app::error::AppError;
use app::models::Role;
use app::state::AppState;

/// The JSON routes' admin check: a session or bearer token of an admin, else 401 / 403.
pub(crate) async fn require_admin(state: &AppState, headers: &HeaderMap) -> Result<(), AppError> {
    let user = authenticate(&state.db, headers).await?.ok_or(AppError::Unauthorized)?;
    if user.role == Role::Admin {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}
