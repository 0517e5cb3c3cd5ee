//! Everything shared by routes and server functions.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::intake::IntakeQueue;

/// The application's shared state; cheap to clone.
#[derive(Debug, Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    pub config: Arc<Config>,
    pub intake: IntakeQueue,
}

impl AppState {
    /// The state for `db` and `config`, with the intake writers started.
    pub fn new(leptos_options: LeptosOptions, db: Db, config: Config) -> Self {
        let intake = IntakeQueue::start(db.clone(), config.intake.notify_delay);
        Self { leptos_options, db, config: Arc::new(config), intake }
    }
}

/// The state, read from the server-function context.
pub fn app_state() -> Result<AppState, AppError> {
    leptos::prelude::use_context::<AppState>()
        .ok_or_else(|| AppError::internal("application state missing from context", anyhow::anyhow!("no AppState")))
}
