//! Middleware of the public edge: the client's address, the intake rate limit, the
//! same-origin rule for cookie-authenticated changes and the security headers.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use app::auth::{has_bearer_token, has_session_cookie};
use app::edge::client_addr::{ClientAddr, TrustedProxies};
use app::edge::intake_limit::IntakeLimit;
use app::edge::retry_after_secs;
use app::error::AppError;

// Each middleware takes only what it needs as its state: cloning the whole `AppState`
// for every layer of every request cost a tenth of the intake's throughput (measured).

/// Resolves the client's address (see `TRUSTED_PROXIES`) into the request's extensions.
pub async fn client_addr(State(trusted): State<Arc<TrustedProxies>>, mut request: Request, next: Next) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(SocketAddr::from(([127, 0, 0, 1], 0)), |info| info.0);
    let client = trusted.client_of(peer, request.headers());
    request.extensions_mut().insert(client);
    next.run(request).await
}

/// Refuses a submission over the client's allowance with 429, before anything is read
/// or stored.
pub async fn limit_intake(State(limit): State<Arc<IntakeLimit>>, request: Request, next: Next) -> Response {
    if request.method() == Method::POST {
        if let Some(ClientAddr(addr)) = request.extensions().get::<ClientAddr>().copied() {
            if let Err(wait) = limit.check(addr) {
                let retry_after_secs = retry_after_secs(wait);
                tracing::warn!(retry_after_secs, "intake rate limit reached");
                app::metrics::lead_refused("rate_limited");
                return intake_refusal(retry_after_secs);
            }
        }
    }
    next.run(request).await
}

/// The answer to a landing page over its limit: the intake's JSON shape, in Russian.
fn intake_refusal(retry_after_secs: u64) -> Response {
    let body = serde_json::json!({
        "success": false,
        "error": format!("Слишком много заявок с вашего адреса. Повторите через {retry_after_secs} с."),
        "retryAfter": retry_after_secs,
    });
    let mut response = (axum::http::StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
    response.headers_mut().insert(header::RETRY_AFTER, retry_after_secs.into());
    response
}

/// Routes that do not act on a signed-in user's behalf: the public intake and the
/// provider webhooks (each checks its own secret). Cross-site calls are their purpose.
fn is_cross_site_by_design(path: &str) -> bool {
    path.starts_with("/api/landing/")
        || path.starts_with("/webhooks/")
        || path.starts_with("/webhook/")
        || path == "/api/amocrm/funnel-sale"
        || path == "/api/amocrm/sales-webhook"
}

/// A state change made with the session cookie must come from our own pages: the
/// browser's `Sec-Fetch-Site` or `Origin` must say so (403 otherwise). Calls with a
/// bearer token are not sent by browsers on their own and pass; so do safe methods.
pub async fn same_origin(request: Request, next: Next) -> Response {
    let method = request.method();
    let unsafe_method = !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    let headers = request.headers();
    let path = request.uri().path();
    let needs_check = unsafe_method
        && !is_cross_site_by_design(path)
        && !has_bearer_token(headers)
        && (has_session_cookie(headers) || path == "/api/auth/sign_in");
    if needs_check && !comes_from_this_site(headers) {
        tracing::warn!(path, "a cross-site change with the session cookie was refused");
        return AppError::Forbidden.into_response();
    }
    next.run(request).await
}

/// `Sec-Fetch-Site: same-origin` (or `none`: typed by the user), else an `Origin` equal
/// to this host. Browsers send one of them with every POST; a request with neither is a
/// script's, which passes only without a session cookie (a sign-in by a script).
fn comes_from_this_site(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return site == "same-origin" || site == "none";
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|value| value.to_str().ok()) else {
        return !has_session_cookie(headers);
    };
    let host = headers.get(header::HOST).and_then(|value| value.to_str().ok());
    let origin_host = origin.split_once("://").map(|(_, rest)| rest);
    origin != "null" && origin_host.is_some() && origin_host == host
}

/// Whether the server runs with `APP_ENV=production` (HSTS is sent then).
#[derive(Debug, Clone, Copy)]
pub struct Production(pub bool);

/// Headers every answer carries; HTML pages get their Content-Security-Policy from the
/// shell (with the page's nonce), other HTML a policy that runs no script at all.
pub async fn security_headers(State(production): State<Production>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    headers.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    if production.0 {
        headers.insert("strict-transport-security", HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
    let is_html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/html"));
    if is_html && !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
        );
    }
    response
}
