use leptos::prelude::*;

use crate::error::AppError;

/// Anyone may call: ends the current session, clears the cookie and redirects to `/login`.
///
/// Errors: `Internal` when the database fails.
#[server(endpoint = "auth/sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    use http::header::SET_COOKIE;
    use http::HeaderValue;

    use crate::auth::{self, expired_session_cookie};
    use crate::error::respond_with;
    use crate::state::app_state;

    respond_with(
        async {
            let state = app_state()?;
            if let Some(parts) = use_context::<http::request::Parts>() {
                auth::sign_out(&state.db, &parts.headers).await?;
            }
            let response = expect_context::<leptos_axum::ResponseOptions>();
            response.insert_header(
                SET_COOKIE,
                HeaderValue::from_str(&expired_session_cookie()).expect("a static cookie is valid"),
            );
            leptos_axum::redirect("/login");
            Ok(())
        }
        .await,
    )
}
