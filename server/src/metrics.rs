//! `/metrics` in Prometheus's text format (`docs/deploy.md`, "Metrics"): HTTP requests
//! by route and status with their latency ([`track_http`]), the application's own counters
//! (`app::metrics`), and gauges read at each scrape. Served on `METRICS_ADDR`, where
//! nothing else is, and — with `METRICS_TOKEN` — on the main address to that bearer token
//! only. With neither set no recorder is installed and nothing is counted.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use secrecy::SecretString;
use tokio::net::TcpListener;

use app::services::Services;

/// Seconds: from a quick health check to a slow page.
const LATENCY_BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// Leads per intake transaction, up to the writers' largest batch.
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

/// The process's recorder, installed by the first call: one per process, shared by every
/// router built in it (the tests build several).
pub fn recorder() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("leadtrack_http_request_duration_seconds".into()),
                    LATENCY_BUCKETS,
                )
                .and_then(|builder| {
                    builder.set_buckets_for_metric(Matcher::Full("leadtrack_intake_batch_size".into()), BATCH_BUCKETS)
                })
                .expect("the bucket lists are not empty")
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).expect("no other metrics recorder is installed");
            handle
        })
        .clone()
}

/// What the scrape handler needs.
#[derive(Clone)]
pub struct Scrape {
    pub handle: PrometheusHandle,
    pub services: Services,
    /// `None` on `METRICS_ADDR`; the bearer token on the main address.
    pub token: Option<Arc<SecretString>>,
}

/// Counts every request by its route pattern (never the raw path, so ids and junk paths
/// cannot multiply the series), method and status, and times it.
pub async fn track_http(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = if request.uri().path().starts_with("/pkg/") {
        "/pkg/*".to_owned()
    } else {
        request
            .extensions()
            .get::<MatchedPath>()
            .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned())
    };
    let method = request.method().as_str().to_owned();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::histogram!("leadtrack_http_request_duration_seconds", "route" => route.clone(), "method" => method.clone())
        .record(started.elapsed().as_secs_f64());
    metrics::counter!("leadtrack_http_requests_total", "route" => route, "method" => method, "status" => status)
        .increment(1);
    response
}

/// `GET /metrics`: the gauges read now, then everything in the text format. On the main
/// address only with the bearer token (404 otherwise, as if there were nothing).
pub async fn serve_metrics(State(scrape): State<Scrape>, headers: HeaderMap) -> Response {
    if let Some(token) = &scrape.token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !app::auth::secret_matches(token, given) {
            return StatusCode::NOT_FOUND.into_response();
        }
    }
    if let Err(error) = app::metrics::refresh_gauges(&scrape.services).await {
        // The counters are still worth having; the gauges keep their last values.
        tracing::warn!(error = %error, "reading the queue and integration gauges failed");
    }
    scrape.handle.run_upkeep();
    let content_type = HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8");
    ([(header::CONTENT_TYPE, content_type)], scrape.handle.render()).into_response()
}

/// Serves `/metrics` alone on `listener` (`METRICS_ADDR`) until the task is aborted.
pub async fn serve_metrics_address(listener: TcpListener, scrape: Scrape) {
    if let Ok(address) = listener.local_addr() {
        tracing::info!(%address, "serving metrics");
    }
    let router = Router::new().route("/metrics", get(serve_metrics)).with_state(scrape);
    if let Err(error) = axum::serve(listener, router).await {
        tracing::error!(%error, "serving metrics failed");
    }
}
