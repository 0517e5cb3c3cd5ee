//! Building the router and serving it until shutdown.

use std::net::SocketAddr;

use anyhow::Context;
use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::routing::{get, post};
use axum::Router;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::TraceLayer;

use app::state::AppState;
use app::{shell, App};

use crate::page_guard::require_session;
use crate::routes::{
    crm_sync, crm_webhooks, delivery, health, integrations, jobs_api, landing, leads_api, sales_api, traffic_api,
};

/// A bound listener and the router it will serve.
pub struct Application {
    listener: TcpListener,
    router: Router,
}

impl Application {
    /// Binds `state.leptos_options.site_addr` (port 0 picks a free port) and builds the router.
    pub async fn build(state: AppState) -> anyhow::Result<Self> {
        let addr: SocketAddr = state.leptos_options.site_addr;
        let listener = TcpListener::bind(addr).await.with_context(|| format!("binding {addr}"))?;
        Ok(Self { listener, router: router(state) })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// Serves until `shutdown` is cancelled, then lets in-flight requests finish.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await
            .context("serving HTTP")
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
        .layer(DefaultBodyLimit::max(state.config.intake.max_body_bytes))
        .layer(cors(&state.config.intake.cors_allowed_origins));

    Router::new()
        .merge(intake)
        .route("/api/lead-tracking/leads", get(leads_api::list_leads))
        .route("/api/integrations/all", get(integrations::all_integrations))
        .route("/api/integrations/{name}", get(integrations::one_integration))
        .route("/api/integrations/{name}/check", post(integrations::check_integration))
        .route("/api/traffic-dashboard/funnel", get(traffic_api::funnel))
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
        .layer(axum::middleware::from_fn_with_state(state.clone(), require_session))
        // Spans carry the path only: query strings may hold searched emails or phones.
        .layer(TraceLayer::new_for_http().make_span_with(|request: &axum::extract::Request| {
            tracing::info_span!("http", method = %request.method(), path = %request.uri().path())
        }))
        .with_state(state)
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
