//! Pages need a session: a request for a page without one is redirected to `/login`.
//!
//! API routes and server functions are not redirected; they answer 401 themselves.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use app::auth::authenticate;
use app::error::AppError;
use app::state::AppState;

/// Paths anyone may open: sign-in, assets, health, the API and the provider webhooks
/// (which check credentials themselves; AmoCRM's are under `/webhook/` and `/api/`).
fn is_public(path: &str) -> bool {
    path == "/login"
        || path == "/healthz"
        || path == "/readyz"
        || path == "/favicon.svg"
        || path.starts_with("/api/")
        || path.starts_with("/webhooks/")
        || path.starts_with("/webhook/")
        || path.starts_with("/pkg/")
}

/// Redirects page requests without a valid session to `/login?next=<path>`.
pub async fn require_session(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if is_public(request.uri().path()) {
        return next.run(request).await;
    }
    match authenticate(&state.db, request.headers()).await {
        Ok(Some(_)) => next.run(request).await,
        Ok(None) => {
            let wanted = request.uri().path_and_query().map(|pq| pq.as_str()).unwrap_or("/");
            let next_param: String = wanted
                .bytes()
                .map(|byte| match byte {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                        (byte as char).to_string()
                    }
                    _ => format!("%{byte:02X}"),
                })
                .collect();
            Redirect::to(&format!("/login?next={next_param}")).into_response()
        }
        Err(error) => AppError::from(error).into_response(),
    }
}
