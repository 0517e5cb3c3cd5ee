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

    use crate::auth::{self, session_cookie, SignInAttempt};
    use crate::edge::client_addr::ClientAddr;
    use crate::edge::local_path::local_redirect;
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
            let client = use_context::<http::request::Parts>()
                .and_then(|parts| parts.extensions.get::<ClientAddr>().copied())
                .ok_or_else(|| AppError::internal("signing in", anyhow::anyhow!("no client address")))?;
            let attempt = SignInAttempt { login: &login, password: &password, client: client.0 };
            let (secret, user) =
                auth::sign_in(&state.db, &state.sign_in_guard, attempt, ttl).await?.ok_or(AppError::Unauthorized)?;
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
                .as_deref()
                .and_then(local_redirect)
                .map_or_else(|| user.role.start_page().to_owned(), str::to_owned);
            leptos_axum::redirect(&target);
            Ok(())
        }
        .await,
    )
}
