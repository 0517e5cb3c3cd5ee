//! The request edge: every request's user is resolved here, once, and kept in its
//! extensions for pages, server functions and JSON routes (see `app::access`). Pages need
//! a session: a request for a page without one is redirected to `/login`. API routes and
//! server functions are not redirected; they answer 401 themselves.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};

use app::access::resolve_viewer;
use app::error::AppError;
use app::state::AppState;

/// Paths anyone may open: sign-in, assets, health, the API, metrics and the provider
/// webhooks (which check credentials themselves; AmoCRM's are under `/webhook/` and `/api/`).
fn is_public(path: &str) -> bool {
    path == "/login"
        || path == "/healthz"
        || path == "/readyz"
        || path == "/metrics"
        || path == "/favicon.svg"
        || path.starts_with("/api/")
        || path.starts_with("/webhooks/")
        || path.starts_with("/webhook/")
        || path.starts_with("/pkg/")
}

/// Resolves the request's user and redirects page requests without a valid session to
/// `/login?next=<path>`. While the database does not answer, a page says so at once
/// (503) instead of waiting for it; the intake API and health stay as they are.
pub async fn require_session(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let is_page = {
        let path = request.uri().path();
        !is_public(path) || path == "/login"
    };
    if is_page && state.db.is_unreachable() {
        return database_unavailable_page();
    }
    let viewer = match resolve_viewer(&state, request.headers()).await {
        Ok(viewer) => viewer,
        Err(AppError::Unavailable) if is_page => {
            state.db.mark_unreachable();
            return database_unavailable_page();
        }
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

/// The page shown while the database does not answer.
fn database_unavailable_page() -> Response {
    let html =
        "<!DOCTYPE html><html lang=\"ru\"><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"15\">\
        <title>База данных недоступна</title></head><body>\
        <h1>База данных временно недоступна</h1>\
        <p>Страница откроется, как только база снова ответит (она обновится сама через 15 секунд).</p>\
        <p>Заявки с лендингов не теряются: сервер сохраняет их на диск и запишет в базу, когда она вернётся.</p>\
        </body></html>";
    (StatusCode::SERVICE_UNAVAILABLE, [("retry-after", "15")], Html(html)).into_response()
}
