use leptos::prelude::*;

use crate::error::AppError;

/// Anyone may call: checks the login and password, sets the session cookie and
/// redirects to `next` (a local path) or the user's start page (`/target` for admins,
/// the own funnel for targetologists).
///
/// Errors: `Unauthorized` for a wrong login or password, `Validation` for empty fields.
#[server(endpoint = "auth/sign_in")]
pub async fn sign_in(login: String, password: String, next: Option<String>) -> Result<(), AppError> {
    use http::header::SET_COOKIE;
    use http::HeaderValue;

    use crate::auth::{self, session_cookie};
    use crate::error::respond_with;
    use crate::state::app_state;

    respond_with(
        async {
            if login.trim().is_empty() {
                return Err(AppError::validation("login", "введите логин"));
            }
            if password.is_empty() {
                return Err(AppError::validation("password", "введите пароль"));
            }
            let state = app_state()?;
            let ttl = state.config.web.session_ttl;
            let (secret, user) =
                auth::sign_in(&state.db, &login, &password, ttl).await?.ok_or(AppError::Unauthorized)?;
            let cookie = session_cookie(&secret, ttl, state.config.web.cookie_secure);
            let response = expect_context::<leptos_axum::ResponseOptions>();
            response.insert_header(
                SET_COOKIE,
                HeaderValue::from_str(&cookie)
                    .map_err(|error| AppError::internal("building the session cookie", error))?,
            );
            tracing::info!(user.id = user.user_id, "signed in");
            // Only local paths: an open redirect would help phishing.
            let target = next
                .filter(|path| path.starts_with('/') && !path.starts_with("//"))
                .unwrap_or_else(|| user.role.start_page().into());
            leptos_axum::redirect(&target);
            Ok(())
        }
        .await,
    )
}
