//! Everything shared by routes and server functions.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::intake::IntakeQueue;
use crate::jobs::notify::JobContext;
use crate::jobs::runner::JobRunner;
use crate::providers::amocrm::{AmoCrmClient, CrmAuth, OAuth};
use crate::providers::facebook::FacebookClient;
use crate::providers::telegram::TelegramClient;
use crate::providers::{EmailSender, SmsSender};

/// The application's shared state; cheap to clone.
#[derive(Debug, Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    pub config: Arc<Config>,
    pub intake: IntakeQueue,
    /// The job runner; the server starts it, tests drive it with `run_due`.
    pub jobs: JobRunner,
}

impl AppState {
    /// The state for `db` and `config`, with the intake writers started and the job
    /// runner ready (not started).
    pub fn new(leptos_options: LeptosOptions, db: Db, config: Config) -> Self {
        let context = JobContext {
            db: db.clone(),
            email: EmailSender::from_config(&config.email, &db),
            sms: SmsSender::from_config(&config.sms, &db),
            email_config: Arc::new(config.email.clone()),
            sms_config: Arc::new(config.sms.clone()),
            facebook: config
                .facebook
                .access_token
                .clone()
                .map(|token| Arc::new(FacebookClient::new(&config.facebook, token))),
            facebook_config: Arc::new(config.facebook.clone()),
            crm_config: Arc::new(config.crm.clone()),
            amocrm: config
                .crm
                .base_url
                .as_deref()
                .zip(crm_auth(&config.crm, &db))
                .map(|(base_url, auth)| Arc::new(AmoCrmClient::new(&config.crm, base_url, auth))),
            crm_sync_running: Arc::default(),
            telegram: config
                .telegram
                .bot_token
                .clone()
                .map(|token| Arc::new(TelegramClient::new(&config.telegram, token))),
            telegram_default_chat: config.telegram.default_chat_id.clone(),
        };
        let jobs = JobRunner::new(context, config.jobs.clone());
        let intake = IntakeQueue::start(db.clone(), config.intake.notify_delay, jobs.waker());
        Self { leptos_options, db, config: Arc::new(config), intake, jobs }
    }
}

/// How to sign in to AmoCRM: a long-lived token, else OAuth 2.0 when its settings are complete.
fn crm_auth(config: &crate::config::CrmConfig, db: &Db) -> Option<CrmAuth> {
    if let Some(token) = &config.access_token {
        return Some(CrmAuth::LongLived(token.clone()));
    }
    let (client_id, client_secret, redirect_uri) =
        (config.client_id.clone()?, config.client_secret.clone()?, config.redirect_uri.clone()?);
    Some(CrmAuth::OAuth(OAuth {
        db: db.clone(),
        client_id,
        client_secret,
        redirect_uri,
        first_refresh_token: config.refresh_token.clone(),
        current: tokio::sync::Mutex::new(None),
    }))
}

/// The state, read from the server-function context.
pub fn app_state() -> Result<AppState, AppError> {
    leptos::prelude::use_context::<AppState>()
        .ok_or_else(|| AppError::internal("application state missing from context", anyhow::anyhow!("no AppState")))
}
