//! Everything shared by routes and server functions.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use crate::config::Config;
use crate::db::Db;
use crate::domain::conversions::LeadEvents;
use crate::edge::intake_limit::IntakeLimit;
use crate::edge::sign_in_guard::SignInGuard;
use crate::edge::status_token::StatusTokens;
use crate::error::AppError;
use crate::intake::{IntakeQueue, IntakeSettings, NotifyRules};
use crate::jobs::JOBS;
use crate::queue::runner::JobRunner;
use crate::queue::JobWaker;
use crate::services::Services;
use crate::supervisor::Supervisor;

/// The application's shared state; cheap to clone.
#[derive(Debug, Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    pub config: Arc<Config>,
    pub intake: IntakeQueue,
    /// The database, provider clients and settings every operation works with.
    pub services: Services,
    /// The job runner; the server starts it, tests drive it with `run_due`.
    pub jobs: JobRunner<Services>,
    /// How many times a request's credentials were looked up (see the `access` module).
    pub credential_lookups: Arc<AtomicU64>,
    /// The intake writers and job recorders, restarted after a panic; `/readyz` asks it.
    pub supervisor: Supervisor,
    /// Submissions per client address (`INTAKE_RATE_PER_MINUTE`).
    pub intake_limit: Arc<IntakeLimit>,
    /// Failed sign-ins per address and login, and the password-check permits.
    pub sign_in_guard: Arc<SignInGuard>,
    /// The lead status tokens, once the database has given their key.
    status_tokens: Arc<tokio::sync::OnceCell<StatusTokens>>,
}

impl AppState {
    /// The state for `db` and `config`, with the intake writers started and the job
    /// runner ready (not started).
    pub fn new(leptos_options: LeptosOptions, db: Db, config: Config) -> Self {
        let config = Arc::new(config);
        let waker = JobWaker::default();
        let services = Services::new(db.clone(), config.clone(), waker.clone());
        let supervisor = Supervisor::default();
        let jobs = JobRunner::new(services.clone(), &JOBS, config.jobs.clone(), waker.clone(), &supervisor);
        let intake_settings = IntakeSettings {
            notify_delay: config.intake.notify_delay,
            spool_after: config.intake.spool_after,
            spool_dir: config.intake.spool_dir.clone(),
            notify: NotifyRules { dedup_window: config.intake.notify_dedup, sms_allowed: config.sms.allowed.clone() },
            lead_events: if config.conversions.enabled() { config.conversions.lead_events } else { LeadEvents::Off },
        };
        let intake = IntakeQueue::start(db.clone(), intake_settings, waker, &supervisor);
        let live = db.live().clone();
        supervisor.spawn("live changes listener", move || live.clone().listen());
        let (live, pool) = (db.live().clone(), db.pool().clone());
        supervisor.spawn("live changes notifier", move || live.clone().tell_others(pool.clone()));
        let intake_limit =
            Arc::new(IntakeLimit::new(config.edge.intake_rate_per_minute, config.edge.intake_rate_burst));
        // Half the cores at most hash passwords: a sign-in flood leaves the rest to intake.
        let password_checks = std::thread::available_parallelism().map_or(1, |cores| usize::from(cores) / 2);
        Self {
            leptos_options,
            db,
            config,
            intake,
            services,
            jobs,
            credential_lookups: Arc::default(),
            supervisor,
            intake_limit,
            sign_in_guard: Arc::new(SignInGuard::new(password_checks)),
            status_tokens: Arc::default(),
        }
    }

    /// The lead status tokens (their key is read from the database once).
    pub async fn status_tokens(&self) -> Result<&StatusTokens, AppError> {
        let tokens = self
            .status_tokens
            .get_or_try_init(|| async {
                let mut conn = self.db.pool().acquire().await?;
                StatusTokens::load(&mut conn).await
            })
            .await?;
        Ok(tokens)
    }
}

/// The state, read from the server-function context.
pub fn app_state() -> Result<AppState, AppError> {
    leptos::prelude::use_context::<AppState>()
        .ok_or_else(|| AppError::internal("application state missing from context", anyhow::anyhow!("no AppState")))
}
