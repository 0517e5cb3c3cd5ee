//! Building the router and serving it until shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request};
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use leptos::config::LeptosOptions;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use app::config::EdgeConfig;
use app::edge::intake_limit::IntakeLimit;
use app::state::AppState;
use app::{shell, App};

use crate::edge;
use crate::metrics;
use crate::page_guard::require_session;
use crate::routes::{
    crm_sync, crm_webhooks, delivery, health, integrations, jobs_api, landing, leads_api, live, sales_api, traffic_api,
};

/// A bound listener and the router it will serve.
pub struct Application {
    listener: TcpListener,
    router: Router,
    limits: EdgeConfig,
    intake_limit: Arc<IntakeLimit>,
    /// `METRICS_ADDR`, bound, and what its `/metrics` reads.
    metrics: Option<(TcpListener, metrics::Scrape)>,
    /// Closed at shutdown: open live streams end instead of holding it up.
    live: app::live::LiveFeed,
}

impl Application {
    /// Binds `state.leptos_options.site_addr` (port 0 picks a free port) and, when set,
    /// `METRICS_ADDR`, and builds the router.
    pub async fn build(state: AppState) -> anyhow::Result<Self> {
        let addr: SocketAddr = state.leptos_options.site_addr;
        let listener = TcpListener::bind(addr).await.with_context(|| format!("binding {addr}"))?;
        let (limits, intake_limit) = (state.config.edge.clone(), state.intake_limit.clone());
        let metrics = match state.config.metrics.addr {
            Some(addr) => {
                let listener = TcpListener::bind(addr).await.with_context(|| format!("binding METRICS_ADDR {addr}"))?;
                let scrape =
                    metrics::Scrape { handle: metrics::recorder(), services: state.services.clone(), token: None };
                Some((listener, scrape))
            }
            None => None,
        };
        let live = state.db.live().clone();
        Ok(Self { listener, router: router(state), limits, intake_limit, metrics, live })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// Serves until `shutdown` is cancelled, then lets in-flight requests finish for up
    /// to `SHUTDOWN_GRACE_SECS` before closing what is left.
    ///
    /// At most `HTTP_MAX_CONNECTIONS` connections are open at once (more wait in the
    /// listen queue), and a client gets `HTTP_HEADER_TIMEOUT_SECS` to send its headers.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let Self { listener, router, limits, intake_limit, metrics, live } = self;
        let metrics = metrics.map(|(listener, scrape)| tokio::spawn(metrics::serve_metrics_address(listener, scrape)));
        let mut server = auto::Builder::new(TokioExecutor::new());
        server.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
        server.http2().timer(TokioTimer::new());
        let graceful = GracefulShutdown::new();
        let connections = Arc::new(Semaphore::new(limits.max_connections));
        let forget_idle = tokio::spawn(forget_idle_clients(intake_limit, shutdown.clone()));
        let mut open = JoinSet::new();
        loop {
            while open.try_join_next().is_some() {}
            let permit = tokio::select! {
                () = shutdown.cancelled() => break,
                permit = connections.clone().acquire_owned() => permit.context("the connection limit closed")?,
            };
            let (stream, peer) = tokio::select! {
                () = shutdown.cancelled() => break,
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Out of file descriptors and the like: wait instead of spinning.
                        tracing::warn!(%error, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
            };
            let _ = stream.set_nodelay(true);
            let service = router.clone().map_request(move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            });
            let connection =
                server.serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service));
            let connection = graceful.watch(connection.into_owned());
            open.spawn(async move {
                // A client that goes away mid-request is its own business.
                let _ = connection.await;
                drop(permit);
            });
        }
        drop(listener);
        forget_idle.abort();
        live.close();
        if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown()).await.is_err() {
            tracing::warn!(
                grace_secs = limits.shutdown_grace.as_secs(),
                "requests still running at the shutdown deadline were cut off"
            );
        }
        // Whatever is left is closed now, not when the process exits.
        open.shutdown().await;
        if let Some(metrics) = metrics {
            metrics.abort();
        }
        Ok(())
    }
}

/// Once a minute, the intake limit forgets clients whose allowance is full again.
async fn forget_idle_clients(limit: Arc<IntakeLimit>, shutdown: CancellationToken) {
    let mut every_minute = tokio::time::interval(Duration::from_secs(60));
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = every_minute.tick() => limit.forget_idle(),
        }
    }
}

/// Every route of the application.
pub fn router(state: AppState) -> Router {
    let leptos_options = state.leptos_options.clone();
    let routes = generate_route_list(App);
    let intake = Router::new()
        .route("/api/landing/proftest", post(landing::submit_proftest))
        .route("/api/landing/submit", post(landing::submit_express))
        .route("/api/landing/leads/{lead_id}/status", get(delivery::lead_status))
        .layer(axum::middleware::from_fn_with_state(state.intake_limit.clone(), edge::limit_intake))
        .layer(DefaultBodyLimit::max(state.config.intake.max_body_bytes))
        .layer(cors(&state.config.intake.cors_allowed_origins));

    let metrics_route = state.config.metrics.token.clone().map(|token| {
        let scrape = metrics::Scrape {
            handle: metrics::recorder(),
            services: state.services.clone(),
            token: Some(Arc::new(token)),
        };
        Router::new().route("/metrics", get(metrics::serve_metrics)).with_state(scrape)
    });
    let track_http = state.config.metrics.enabled();

    let router = Router::new()
        .nest_service("/pkg", site_assets(&leptos_options))
        .merge(intake)
        .merge(metrics_route.unwrap_or_default())
        .route("/api/lead-tracking/leads", get(leads_api::list_leads))
        .route("/api/live", get(live::live_events))
        .route("/api/integrations/all", get(integrations::all_integrations))
        .route("/api/integrations/{name}", get(integrations::one_integration))
        .route("/api/integrations/{name}/check", post(integrations::check_integration))
        .route("/api/traffic-dashboard/funnel", get(traffic_api::funnel))
        .route("/api/traffic-dashboard/ads", get(traffic_api::ads))
        .route("/api/lead-tracking/sync", post(crm_sync::sync))
        .route("/api/admin/landing/sync-amocrm", post(crm_sync::sync))
        .route("/api/amocrm/sales-history", get(sales_api::sales_history))
        .route("/api/amocrm/sales-stats", get(sales_api::sales_stats))
        .route("/api/amocrm/test-sale-notification", post(sales_api::test_sale_notification))
        .route("/api/lead-tracking/jobs/failed", get(jobs_api::list_failed_jobs))
        .route("/api/lead-tracking/jobs/retry", post(jobs_api::retry_failed_jobs))
        .route("/api/lead-tracking/jobs/{job_id}/retry", post(jobs_api::retry_failed_job))
        .route("/api/lead-tracking/update-email-status", post(delivery::update_email_status))
        .route("/api/lead-tracking/update-sms-status", post(delivery::update_sms_status))
        .route("/webhooks/resend", post(delivery::resend_webhook))
        .route("/api/amocrm/funnel-sale", post(crm_webhooks::crm_webhook))
        .route("/webhook/amocrm/traffic", post(crm_webhooks::crm_webhook))
        .route("/api/amocrm/sales-webhook", post(crm_webhooks::crm_webhook))
        .route("/webhooks/mobizon", post(delivery::mobizon_webhook))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .leptos_routes(&state, routes, {
            let leptos_options = leptos_options.clone();
            move || shell(leptos_options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        // Layers run outside in: the last added runs first.
        .layer(axum::middleware::from_fn_with_state(state.clone(), require_session))
        .layer(axum::middleware::from_fn(edge::same_origin))
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(state.config.edge.trusted_proxies.clone()),
            edge::client_addr,
        ))
        .layer(compress_dynamic())
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, state.config.edge.request_timeout))
        .layer(axum::middleware::from_fn_with_state(edge::Production(state.config.production), edge::security_headers))
        // Spans carry the path only: query strings may hold searched emails or phones.
        .layer(TraceLayer::new_for_http().make_span_with(|request: &axum::extract::Request| {
            tracing::info_span!("http", method = %request.method(), path = %request.uri().path())
        }));
    // Outermost: the refusals of every other layer are counted too.
    let router = if track_http { router.layer(axum::middleware::from_fn(metrics::track_http)) } else { router };
    router.with_state(state)
}

/// Compresses what is made per request — pages and JSON of 1 KB or more (the first page
/// of `/target` is ~120 KB of HTML) — at a fast level (brotli or gzip, as the browser
/// accepts). The static assets are left alone: they are compressed once, at build time.
fn compress_dynamic() -> CompressionLayer<impl Predicate> {
    let predicate = SizeAbove::new(1024)
        .and(NotForContentType::IMAGES)
        .and(NotForContentType::const_new("application/wasm"))
        .and(NotForContentType::const_new("text/javascript"))
        .and(NotForContentType::const_new("text/css"))
        .and(NotForContentType::SSE);
    CompressionLayer::new().quality(CompressionLevel::Precise(4)).compress_when(predicate)
}

/// `/pkg/`: the WASM, JS and CSS, precompressed (a release build writes `.br` and `.gz`
/// beside each file; the client's `Accept-Encoding` picks one), with a year-long
/// immutable cache when their names carry content hashes, and revalidated otherwise.
fn site_assets(options: &LeptosOptions) -> Router {
    let folder = std::path::Path::new(options.site_root.as_ref()).join(options.site_pkg_dir.as_ref());
    let files = ServeDir::new(folder).precompressed_br().precompressed_gzip();
    let cache = if options.hash_files { "public, max-age=31536000, immutable" } else { "no-cache" };
    Router::new().fallback_service(
        tower::ServiceBuilder::new()
            .layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static(cache)))
            .layer(SetResponseHeaderLayer::if_not_present(header::VARY, HeaderValue::from_static("accept-encoding")))
            .service(files),
    )
}

/// Whether the build left its `hash.txt` (the hashed asset names) beside this binary,
/// where Leptos reads it. Without it — a plain `cargo build` — `hash-files` must be off,
/// or rendering a page fails.
pub fn hash_file_beside_binary(options: &LeptosOptions) -> bool {
    let exe = std::env::current_exe().ok();
    exe.and_then(|exe| exe.parent().map(|dir| dir.join(options.hash_file.as_ref()))).is_some_and(|path| path.exists())
}

/// CORS for the landing pages' origins; without configured origins, cross-origin
/// browsers are refused.
fn cors(origins: &[String]) -> CorsLayer {
    let allowed: Vec<HeaderValue> = origins.iter().filter_map(|origin| HeaderValue::from_str(origin).ok()).collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(allowed))
        .allow_methods([Method::POST, Method::GET, Method::OPTIONS])
        .allow_headers([header::CONTENT_TYPE, HeaderName::from_static("idempotency-key")])
        .max_age(std::time::Duration::from_secs(3600))
}
