//! Everything shared by routes and server functions.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::intake::{IntakeQueue, IntakeSettings};
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
        };
        let intake = IntakeQueue::start(db.clone(), &intake_settings, waker, &supervisor);
        Self { leptos_options, db, config, intake, services, jobs, credential_lookups: Arc::default(), supervisor }
    }
}

/// The state, read from the server-function context.
pub fn app_state() -> Result<AppState, AppError> {
    leptos::prelude::use_context::<AppState>()
        .ok_or_else(|| AppError::internal("application state missing from context", anyhow::anyhow!("no AppState")))
}
