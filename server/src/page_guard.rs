//! The request edge: every request's user is resolved here, once, and kept in its
//! extensions for pages, server functions and JSON routes (see `app::access`). Pages need
//! a session: a request for a page without one is redirected to `/login`. API routes and
//! server functions are not redirected; they answer 401 themselves.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use app::access::resolve_viewer;
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

/// Resolves the request's user and redirects page requests without a valid session to
/// `/login?next=<path>`.
pub async fn require_session(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let viewer = match resolve_viewer(&state, request.headers()).await {
        Ok(viewer) => viewer,
        Err(error) => return error.into_response(),
    };
    let signed_in = viewer.0.is_some();
    request.extensions_mut().insert(viewer);
    if signed_in || is_public(request.uri().path()) {
        return next.run(request).await;
    }
    let wanted = request.uri().path_and_query().map(|pq| pq.as_str()).unwrap_or("/");
    // `/` stays as it is: the parameter is a path.
    let next_param = app::format::url_encode(wanted).replace("%2F", "/");
    Redirect::to(&format!("/login?next={next_param}")).into_response()
}
