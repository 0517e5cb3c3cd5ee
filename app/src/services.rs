//! Request-time operations and the handle they share with the jobs.
//!
//! [`Services`] is built once, in `AppState`: the database, the
//! provider clients, the configuration and the job runner's waker. Server functions, JSON
//! routes and jobs all call the functions of this module's children with it, so each
//! operation (save a team, retry a job, sync with AmoCRM) exists once whoever asks for it.

pub mod ad_accounts;
pub mod ad_spend;
pub mod alerts;
pub mod attribution;
pub mod crm_deals;
pub mod crm_sync;
pub mod delivery;
pub mod health;
pub mod leads;
pub mod queue_admin;
pub mod sales;
pub mod teams;
pub mod webhooks;

use std::sync::Arc;

use crate::config::{Config, CrmConfig};
use crate::db::Db;
use crate::locks::KeyedLocks;
use crate::providers::amocrm::{AmoCrmClient, CrmAuth, OAuth};
use crate::providers::conversions::ConversionsClient;
use crate::providers::facebook::FacebookClient;
use crate::providers::telegram::TelegramClient;
use crate::providers::{EmailSender, SmsSender};
use crate::queue::JobWaker;

/// The database, provider clients and settings; cheap to clone.
#[derive(Debug, Clone)]
pub struct Services {
    pub db: Db,
    pub config: Arc<Config>,
    pub email: EmailSender,
    pub sms: SmsSender,
    /// The Marketing API client; `None` without `FACEBOOK_ACCESS_TOKEN`.
    pub facebook: Option<Arc<FacebookClient>>,
    /// The AmoCRM client; `None` without `AMOCRM_BASE_URL` and credentials (the push jobs
    /// then wait in the queue).
    pub amocrm: Option<Arc<AmoCrmClient>>,
    /// The bot that announces sales; `None` without `TELEGRAM_BOT_TOKEN`.
    pub telegram: Option<Arc<TelegramClient>>,
    /// Meta's Conversions API; `None` without `FB_PIXEL_ID` and `FB_CAPI_TOKEN`.
    pub conversions: Option<Arc<ConversionsClient>>,
    /// Wakes the job runner after something was enqueued.
    pub waker: JobWaker,
    /// Held while a sync with AmoCRM runs: a second click is told so instead of starting another.
    crm_sync_running: Arc<tokio::sync::Mutex<()>>,
    /// One push to AmoCRM per person at a time (keyed by phone), so that two submissions
    /// of one person never open two contacts.
    pub crm_people: KeyedLocks,
}

impl Services {
    /// The clients `config` asks for, over `db`.
    pub fn new(db: Db, config: Arc<Config>, waker: JobWaker) -> Self {
        Self {
            email: EmailSender::from_config(&config.email, &db),
            sms: SmsSender::from_config(&config.sms, &db),
            facebook: config
                .facebook
                .access_token
                .clone()
                .map(|token| Arc::new(FacebookClient::new(&config.facebook, token))),
            amocrm: config
                .crm
                .base_url
                .as_deref()
                .zip(crm_auth(&config.crm, &db))
                .map(|(base_url, auth)| Arc::new(AmoCrmClient::new(&config.crm, base_url, auth))),
            telegram: config
                .telegram
                .bot_token
                .clone()
                .map(|token| Arc::new(TelegramClient::new(&config.telegram, token))),
            conversions: ConversionsClient::from_config(&config.conversions, &config.facebook).map(Arc::new),
            crm_sync_running: Arc::default(),
            crm_people: KeyedLocks::default(),
            db,
            config,
            waker,
        }
    }

    /// Whether messages go to the development outbox instead of real providers.
    pub fn is_test_mode(&self) -> bool {
        !self.email.is_real() || !self.sms.is_real()
    }
}

/// How to sign in to AmoCRM: a long-lived token, else OAuth 2.0 when its settings are complete.
fn crm_auth(config: &CrmConfig, db: &Db) -> Option<CrmAuth> {
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
