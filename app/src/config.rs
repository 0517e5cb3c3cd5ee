//! Typed configuration read once from the environment at start-up.
//!
//! Every variable is documented on its field and in `.env.example`. Unset variables take
//! their default; set but invalid ones stop the start with the variable's name.

use std::str::FromStr;
use std::time::Duration;

use secrecy::SecretString;

/// Everything the application needs to know about its environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// `APP_ENV`: `development` (default) or `production`; production refuses unsafe settings.
    pub production: bool,
    /// Database connection settings.
    pub database: DatabaseConfig,
    /// Lead intake settings.
    pub intake: IntakeConfig,
    /// Sign-in and dashboard settings.
    pub web: WebConfig,
    /// The background job runner.
    pub jobs: JobsConfig,
    /// Email through Resend.
    pub email: EmailConfig,
    /// SMS through Mobizon.
    pub sms: SmsConfig,
    /// Ad spend from the Facebook Marketing API.
    pub facebook: FacebookConfig,
    /// AmoCRM's pipelines, fields and webhooks.
    pub crm: CrmConfig,
    /// Sale messages through a Telegram bot.
    pub telegram: TelegramConfig,
}

/// Where the data lives.
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// `DATABASE_URL`: `sqlite://path?mode=rwc` (default `sqlite://data/leadtrack.db?mode=rwc`)
    /// or `postgres://user@host/db`.
    pub url: String,
    /// `DATABASE_MAX_CONNECTIONS`: pool size (default 16 for PostgreSQL, 8 for SQLite).
    pub max_connections: Option<u32>,
}

/// How landing pages submit leads.
#[derive(Debug, Clone)]
pub struct IntakeConfig {
    /// `NOTIFY_DELAY_SECS`: delay from sign-up to the email and SMS (default 600).
    pub notify_delay: Duration,
    /// `CORS_ALLOWED_ORIGINS`: comma-separated origins of the landing pages (default none).
    pub cors_allowed_origins: Vec<String>,
    /// `INTAKE_MAX_BODY_BYTES`: the largest accepted submission (default 65536).
    pub max_body_bytes: usize,
}

/// Sessions and dashboards.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// `SESSION_TTL_HOURS`: how long a sign-in lasts (default 336, two weeks).
    pub session_ttl: Duration,
    /// `COOKIE_SECURE`: mark the session cookie `Secure` (default true in production).
    pub cookie_secure: bool,
    /// `LEADS_REFRESH_SECS`: how often `/target` refreshes itself (default 30).
    pub leads_refresh_secs: u32,
}

/// How the job runner works the queue.
#[derive(Debug, Clone)]
pub struct JobsConfig {
    /// `JOB_MAX_ATTEMPTS`: attempts before a job is parked as failed (default 8).
    pub max_attempts: u32,
    /// `JOB_RETRY_BASE_SECS`: the first retry delay, doubled on each attempt (default 5).
    pub retry_base: Duration,
    /// `JOB_RETRY_MAX_SECS`: the longest retry delay (default 3600).
    pub retry_max: Duration,
    /// `JOB_LEASE_SECS`: how long a claimed job is ours before another process may take it
    /// over, longer than any provider timeout (default 120).
    pub lease: Duration,
    /// `JOB_POLL_MS`: the fallback poll interval; enqueueing wakes the runner anyway (default 5000).
    pub poll_interval: Duration,
    /// `EMAIL_CONCURRENCY`: emails in flight at once (default 8).
    pub email_concurrency: usize,
    /// `SMS_CONCURRENCY`: SMS calls in flight at once (default 8).
    pub sms_concurrency: usize,
    /// `JOB_SHUTDOWN_GRACE_SECS`: how long shutdown waits for running jobs (default 20).
    pub shutdown_grace: Duration,
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            retry_base: Duration::from_secs(5),
            retry_max: Duration::from_secs(3600),
            lease: Duration::from_secs(120),
            poll_interval: Duration::from_secs(5),
            email_concurrency: 8,
            sms_concurrency: 8,
            shutdown_grace: Duration::from_secs(20),
        }
    }
}

/// The quiz-result email (`docs/product.md`, "Email and SMS").
#[derive(Debug, Clone)]
pub struct EmailConfig {
    /// `RESEND_API_URL`: the Resend API (default `https://api.resend.com`).
    pub api_url: String,
    /// `RESEND_API_KEY`: without it emails go to the development outbox.
    pub api_key: Option<SecretString>,
    /// `EMAIL_FROM`: the sender, e.g. `Академия <noreply@academy.kz>`.
    pub from: String,
    /// `RESEND_WEBHOOK_SECRET`: the `whsec_…` signing secret of the Resend webhook.
    pub webhook_secret: Option<SecretString>,
    /// `RESEND_TIMEOUT_SECS`: the whole-request timeout (default 15).
    pub timeout: Duration,
    /// `PRODUCT_URL`: where the email's button leads.
    pub product_url: String,
}

impl Default for EmailConfig {
    fn default() -> Self {
        Self {
            api_url: "https://api.resend.com".to_owned(),
            api_key: None,
            from: "Академия <noreply@example.kz>".to_owned(),
            webhook_secret: None,
            timeout: Duration::from_secs(15),
            product_url: "https://example.kz/express".to_owned(),
        }
    }
}

/// The follow-up SMS (`docs/product.md`, "Email and SMS").
#[derive(Debug, Clone)]
pub struct SmsConfig {
    /// `MOBIZON_API_URL`: the Mobizon API of the account's region (default `https://api.mobizon.kz`).
    pub api_url: String,
    /// `MOBIZON_API_KEY`: without it SMS go to the development outbox.
    pub api_key: Option<SecretString>,
    /// `MOBIZON_SENDER`: the registered alphaname; unset uses the account's default.
    pub sender: Option<String>,
    /// `MOBIZON_WEBHOOK_SECRET`: the secret of the delivery-report webhook.
    pub webhook_secret: Option<SecretString>,
    /// `MOBIZON_TIMEOUT_SECS`: the whole-request timeout (default 15).
    pub timeout: Duration,
    /// `MOBIZON_STATUS_POLL_SECS`: the first delay before asking for a sent SMS's status,
    /// doubled each time until it is final (default 60).
    pub status_poll: Duration,
}

impl Default for SmsConfig {
    fn default() -> Self {
        Self {
            api_url: "https://api.mobizon.kz".to_owned(),
            api_key: None,
            sender: None,
            webhook_secret: None,
            timeout: Duration::from_secs(15),
            status_poll: Duration::from_secs(60),
        }
    }
}

/// Ad accounts and daily spend from the Facebook Marketing API (`docs/product.md`, "Facebook spend").
#[derive(Debug, Clone)]
pub struct FacebookConfig {
    /// `FACEBOOK_GRAPH_URL`: the Graph API with its version (default
    /// `https://graph.facebook.com/v25.0`).
    pub graph_url: String,
    /// `FACEBOOK_ACCESS_TOKEN`: a system-user token with `ads_read` and
    /// `business_management`; without it nothing is synced.
    pub access_token: Option<SecretString>,
    /// `FACEBOOK_TIMEOUT_SECS`: the whole-request timeout (default 60).
    pub timeout: Duration,
    /// `FACEBOOK_SYNC_EVERY_SECS`: how often spend is synced (default 3600).
    pub sync_every: Duration,
    /// `FACEBOOK_RESYNC_DAYS`: recent days synced again on every run, since Facebook
    /// revises them (default 3).
    pub resync_days: u32,
    /// `FACEBOOK_REPORT_POLL_SECS`: how often an asynchronous report run is polled (default 10).
    pub report_poll: Duration,
    /// `FX_RATES_KZT`: tenge per unit of other currencies, e.g. `USD=505.2,EUR=548` — the
    /// rate for days without a dated rate in the `currency_rate` table.
    pub fallback_rates: Vec<(String, f64)>,
}

impl Default for FacebookConfig {
    fn default() -> Self {
        Self {
            graph_url: "https://graph.facebook.com/v25.0".to_owned(),
            access_token: None,
            timeout: Duration::from_secs(60),
            sync_every: Duration::from_secs(3600),
            resync_days: 3,
            report_poll: Duration::from_secs(10),
            fallback_rates: Vec::new(),
        }
    }
}

impl FacebookConfig {
    fn from_env() -> Result<Self, ConfigError> {
        let default = Self::default();
        let fallback_rates = match env_string("FX_RATES_KZT")? {
            Some(text) => parse_rates(&text).ok_or_else(|| ConfigError {
                name: "FX_RATES_KZT",
                message: "expected CUR=rate pairs separated by commas, e.g. USD=505.2".to_owned(),
            })?,
            None => default.fallback_rates,
        };
        Ok(Self {
            graph_url: env_url("FACEBOOK_GRAPH_URL")?.unwrap_or(default.graph_url),
            access_token: env_secret("FACEBOOK_ACCESS_TOKEN")?,
            timeout: env_secs("FACEBOOK_TIMEOUT_SECS")?.unwrap_or(default.timeout),
            sync_every: env_secs("FACEBOOK_SYNC_EVERY_SECS")?.unwrap_or(default.sync_every),
            resync_days: env_parse("FACEBOOK_RESYNC_DAYS")?.unwrap_or(default.resync_days).max(1),
            report_poll: env_secs("FACEBOOK_REPORT_POLL_SECS")?.unwrap_or(default.report_poll),
            fallback_rates,
        })
    }
}

/// `kaspi=82174958,prodamus=81854578` → lower-cased names and ids; `None` if malformed.
fn parse_pairs(text: &str) -> Option<Vec<(String, i64)>> {
    text.split(',')
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, id) = pair.split_once('=')?;
            Some((name.trim().to_lowercase(), id.trim().parse().ok()?))
        })
        .collect()
}

/// `USD=505.2,EUR=548` → `[("USD", 505.2), ("EUR", 548.0)]`; `None` if malformed.
fn parse_rates(text: &str) -> Option<Vec<(String, f64)>> {
    text.split(',')
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (currency, rate) = pair.split_once('=')?;
            let rate: f64 = rate.trim().parse().ok().filter(|rate: &f64| *rate > 0.0)?;
            Some((currency.trim().to_uppercase(), rate))
        })
        .collect()
}

/// AmoCRM (`docs/product.md`, "AmoCRM"): the ids are the business's, overridable per variable.
#[derive(Debug, Clone)]
pub struct CrmConfig {
    /// `AMOCRM_BASE_URL` (`https://<subdomain>.amocrm.ru`): the API host and deal links.
    pub base_url: Option<String>,
    /// `AMOCRM_ACCESS_TOKEN`: a long-lived token of the private integration; with the base
    /// URL it turns on pushing leads to AmoCRM (until then their jobs wait).
    pub access_token: Option<SecretString>,
    /// OAuth 2.0 instead of a long-lived token: `AMOCRM_CLIENT_ID`, `AMOCRM_CLIENT_SECRET`,
    /// `AMOCRM_REDIRECT_URI` (exactly as registered) and, for the first start,
    /// `AMOCRM_REFRESH_TOKEN`; after that the pair lives in the database (refresh tokens
    /// are single-use).
    pub client_id: Option<String>,
    pub client_secret: Option<SecretString>,
    pub redirect_uri: Option<String>,
    pub refresh_token: Option<SecretString>,
    /// `AMOCRM_TIMEOUT_SECS`: the whole-request timeout (default 30).
    pub timeout: Duration,
    /// `AMOCRM_MAX_RPS`: requests per second the client allows itself (default 6, under
    /// AmoCRM's 7 per integration).
    pub max_rps: u32,
    /// `AMOCRM_SYNC_EVERY_SECS`: how often the recent deals are synced (default 21600, 6 h).
    pub sync_every: Duration,
    /// `AMOCRM_QUIZ_STATUS_ID`: the express pipeline's stage for a quiz submission
    /// (default 81856842).
    pub quiz_status_id: i64,
    /// `AMOCRM_CHECKOUT_STATUS_ID`: the stage for a checkout with an unmapped payment
    /// method (default 81854574, unsorted).
    pub checkout_status_id: i64,
    /// `AMOCRM_PAYMENT_STAGES`: payment method → stage, e.g. `kaspi=82174958,prodamus=81854578`
    /// (the default).
    pub payment_stages: Vec<(String, i64)>,
    /// `AMOCRM_WEBHOOK_SECRET`: the `token` query parameter of the webhook URLs entered in
    /// AmoCRM; without it the webhook routes answer 404.
    pub webhook_secret: Option<SecretString>,
    /// `AMOCRM_EXPRESS_PIPELINE_ID` (default 10350882).
    pub express_pipeline_id: i64,
    /// `AMOCRM_FLAGSHIP_PIPELINE_ID` (default 10418746).
    pub flagship_pipeline_id: i64,
    /// `AMOCRM_WON_STATUS_ID` (default 142).
    pub won_status_id: i64,
    /// `EXPRESS_PRICE_KZT` (default 5000): an express sale without a deal price.
    pub express_price: i64,
    /// `FLAGSHIP_PRICE_KZT` (default 490000): a flagship sale without a deal price.
    pub flagship_price: i64,
    /// Deal custom fields holding UTM tags: `AMOCRM_FIELD_UTM_SOURCE` (434731),
    /// `AMOCRM_FIELD_UTM_MEDIUM` (434727), `AMOCRM_FIELD_UTM_CAMPAIGN` (434729).
    pub utm_source_field: i64,
    pub utm_medium_field: i64,
    pub utm_campaign_field: i64,
}

impl Default for CrmConfig {
    fn default() -> Self {
        Self {
            base_url: None,
            access_token: None,
            client_id: None,
            client_secret: None,
            redirect_uri: None,
            refresh_token: None,
            timeout: Duration::from_secs(30),
            max_rps: 6,
            sync_every: Duration::from_secs(6 * 3600),
            quiz_status_id: 81_856_842,
            checkout_status_id: 81_854_574,
            payment_stages: vec![("kaspi".to_owned(), 82_174_958), ("prodamus".to_owned(), 81_854_578)],
            webhook_secret: None,
            express_pipeline_id: 10_350_882,
            flagship_pipeline_id: 10_418_746,
            won_status_id: 142,
            express_price: 5_000,
            flagship_price: 490_000,
            utm_source_field: 434_731,
            utm_medium_field: 434_727,
            utm_campaign_field: 434_729,
        }
    }
}

impl CrmConfig {
    fn from_env() -> Result<Self, ConfigError> {
        let default = Self::default();
        let payment_stages = match env_string("AMOCRM_PAYMENT_STAGES")? {
            Some(text) => parse_pairs(&text).ok_or_else(|| ConfigError {
                name: "AMOCRM_PAYMENT_STAGES",
                message: "expected method=stage pairs separated by commas".to_owned(),
            })?,
            None => default.payment_stages,
        };
        Ok(Self {
            base_url: env_url("AMOCRM_BASE_URL")?,
            access_token: env_secret("AMOCRM_ACCESS_TOKEN")?,
            client_id: env_string("AMOCRM_CLIENT_ID")?,
            client_secret: env_secret("AMOCRM_CLIENT_SECRET")?,
            redirect_uri: env_string("AMOCRM_REDIRECT_URI")?,
            refresh_token: env_secret("AMOCRM_REFRESH_TOKEN")?,
            timeout: env_secs("AMOCRM_TIMEOUT_SECS")?.unwrap_or(default.timeout),
            max_rps: env_parse("AMOCRM_MAX_RPS")?.unwrap_or(default.max_rps).max(1),
            sync_every: env_secs("AMOCRM_SYNC_EVERY_SECS")?.unwrap_or(default.sync_every),
            quiz_status_id: env_parse("AMOCRM_QUIZ_STATUS_ID")?.unwrap_or(default.quiz_status_id),
            checkout_status_id: env_parse("AMOCRM_CHECKOUT_STATUS_ID")?.unwrap_or(default.checkout_status_id),
            payment_stages,
            webhook_secret: env_secret("AMOCRM_WEBHOOK_SECRET")?,
            express_pipeline_id: env_parse("AMOCRM_EXPRESS_PIPELINE_ID")?.unwrap_or(default.express_pipeline_id),
            flagship_pipeline_id: env_parse("AMOCRM_FLAGSHIP_PIPELINE_ID")?.unwrap_or(default.flagship_pipeline_id),
            won_status_id: env_parse("AMOCRM_WON_STATUS_ID")?.unwrap_or(default.won_status_id),
            express_price: env_parse("EXPRESS_PRICE_KZT")?.unwrap_or(default.express_price),
            flagship_price: env_parse("FLAGSHIP_PRICE_KZT")?.unwrap_or(default.flagship_price),
            utm_source_field: env_parse("AMOCRM_FIELD_UTM_SOURCE")?.unwrap_or(default.utm_source_field),
            utm_medium_field: env_parse("AMOCRM_FIELD_UTM_MEDIUM")?.unwrap_or(default.utm_medium_field),
            utm_campaign_field: env_parse("AMOCRM_FIELD_UTM_CAMPAIGN")?.unwrap_or(default.utm_campaign_field),
        })
    }
}

/// The Telegram bot that announces sales (`docs/product.md`, "Attribution").
#[derive(Debug, Clone)]
pub struct TelegramConfig {
    /// `TELEGRAM_API_URL` (default `https://api.telegram.org`).
    pub api_url: String,
    /// `TELEGRAM_BOT_TOKEN`: without it sale messages are not sent (the job says so).
    pub bot_token: Option<SecretString>,
    /// `TELEGRAM_DEFAULT_CHAT_ID`: where sales of teams without a chat go.
    pub default_chat_id: Option<String>,
    /// `TELEGRAM_TIMEOUT_SECS` (default 15).
    pub timeout: Duration,
}

impl Default for TelegramConfig {
    fn default() -> Self {
        Self {
            api_url: "https://api.telegram.org".to_owned(),
            bot_token: None,
            default_chat_id: None,
            timeout: Duration::from_secs(15),
        }
    }
}

impl TelegramConfig {
    fn from_env() -> Result<Self, ConfigError> {
        let default = Self::default();
        Ok(Self {
            api_url: env_url("TELEGRAM_API_URL")?.unwrap_or(default.api_url),
            bot_token: env_secret("TELEGRAM_BOT_TOKEN")?,
            default_chat_id: env_string("TELEGRAM_DEFAULT_CHAT_ID")?,
            timeout: env_secs("TELEGRAM_TIMEOUT_SECS")?.unwrap_or(default.timeout),
        })
    }
}

/// A variable that is set but cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("environment variable {name}: {message}")]
pub struct ConfigError {
    name: &'static str,
    message: String,
}

impl Config {
    /// Reads the whole configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        let production = match env_string("APP_ENV")?.as_deref() {
            None | Some("development") => false,
            Some("production") => true,
            Some(other) => {
                return Err(ConfigError {
                    name: "APP_ENV",
                    message: format!("expected development or production, got {other:?}"),
                })
            }
        };
        Ok(Self {
            production,
            database: DatabaseConfig {
                url: env_string("DATABASE_URL")?.unwrap_or_else(|| "sqlite://data/leadtrack.db?mode=rwc".to_owned()),
                max_connections: env_parse("DATABASE_MAX_CONNECTIONS")?,
            },
            intake: IntakeConfig {
                notify_delay: Duration::from_secs(env_parse("NOTIFY_DELAY_SECS")?.unwrap_or(600)),
                cors_allowed_origins: env_string("CORS_ALLOWED_ORIGINS")?
                    .map(|list| {
                        list.split(',')
                            .map(|origin| origin.trim().trim_end_matches('/').to_owned())
                            .filter(|origin| !origin.is_empty())
                            .collect()
                    })
                    .unwrap_or_default(),
                max_body_bytes: env_parse("INTAKE_MAX_BODY_BYTES")?.unwrap_or(64 * 1024),
            },
            web: WebConfig {
                session_ttl: Duration::from_secs(3600 * env_parse::<u64>("SESSION_TTL_HOURS")?.unwrap_or(336)),
                cookie_secure: env_parse("COOKIE_SECURE")?.unwrap_or(production),
                leads_refresh_secs: env_parse("LEADS_REFRESH_SECS")?.unwrap_or(30).max(1),
            },
            jobs: JobsConfig::from_env()?,
            email: EmailConfig::from_env()?,
            sms: SmsConfig::from_env()?,
            facebook: FacebookConfig::from_env()?,
            crm: CrmConfig::from_env()?,
            telegram: TelegramConfig::from_env()?,
        })
        .and_then(|config| config.refuse_unsafe(env_parse("ALLOW_DEV_SENDERS")?.unwrap_or(false)))
    }

    /// Production must not silently drop messages into the development outbox, unless
    /// `ALLOW_DEV_SENDERS` says so.
    fn refuse_unsafe(self, allow_outbox: bool) -> Result<Self, ConfigError> {
        if self.production && !allow_outbox {
            if self.email.api_key.is_none() {
                return Err(ConfigError {
                    name: "RESEND_API_KEY",
                    message: "required in production (or set ALLOW_DEV_SENDERS=true)".to_owned(),
                });
            }
            if self.sms.api_key.is_none() {
                return Err(ConfigError {
                    name: "MOBIZON_API_KEY",
                    message: "required in production (or set ALLOW_DEV_SENDERS=true)".to_owned(),
                });
            }
        }
        Ok(self)
    }
}

impl JobsConfig {
    fn from_env() -> Result<Self, ConfigError> {
        let default = Self::default();
        Ok(Self {
            max_attempts: env_parse("JOB_MAX_ATTEMPTS")?.unwrap_or(default.max_attempts).max(1),
            retry_base: env_secs("JOB_RETRY_BASE_SECS")?.unwrap_or(default.retry_base),
            retry_max: env_secs("JOB_RETRY_MAX_SECS")?.unwrap_or(default.retry_max),
            lease: env_secs("JOB_LEASE_SECS")?.unwrap_or(default.lease),
            poll_interval: env_parse("JOB_POLL_MS")?.map(Duration::from_millis).unwrap_or(default.poll_interval),
            email_concurrency: env_parse("EMAIL_CONCURRENCY")?.unwrap_or(default.email_concurrency).max(1),
            sms_concurrency: env_parse("SMS_CONCURRENCY")?.unwrap_or(default.sms_concurrency).max(1),
            shutdown_grace: env_secs("JOB_SHUTDOWN_GRACE_SECS")?.unwrap_or(default.shutdown_grace),
        })
    }
}

impl EmailConfig {
    fn from_env() -> Result<Self, ConfigError> {
        let default = Self::default();
        Ok(Self {
            api_url: env_url("RESEND_API_URL")?.unwrap_or(default.api_url),
            api_key: env_secret("RESEND_API_KEY")?,
            from: env_string("EMAIL_FROM")?.unwrap_or(default.from),
            webhook_secret: env_secret("RESEND_WEBHOOK_SECRET")?,
            timeout: env_secs("RESEND_TIMEOUT_SECS")?.unwrap_or(default.timeout),
            product_url: env_string("PRODUCT_URL")?.unwrap_or(default.product_url),
        })
    }
}

impl SmsConfig {
    fn from_env() -> Result<Self, ConfigError> {
        let default = Self::default();
        Ok(Self {
            api_url: env_url("MOBIZON_API_URL")?.unwrap_or(default.api_url),
            api_key: env_secret("MOBIZON_API_KEY")?,
            sender: env_string("MOBIZON_SENDER")?,
            webhook_secret: env_secret("MOBIZON_WEBHOOK_SECRET")?,
            timeout: env_secs("MOBIZON_TIMEOUT_SECS")?.unwrap_or(default.timeout),
            status_poll: env_secs("MOBIZON_STATUS_POLL_SECS")?.unwrap_or(default.status_poll),
        })
    }
}

/// A secret; never printed.
fn env_secret(name: &'static str) -> Result<Option<SecretString>, ConfigError> {
    Ok(env_string(name)?.map(SecretString::from))
}

/// A base URL without its trailing slash.
fn env_url(name: &'static str) -> Result<Option<String>, ConfigError> {
    match env_string(name)? {
        Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
            Ok(Some(url.trim_end_matches('/').to_owned()))
        }
        Some(url) => Err(ConfigError { name, message: format!("expected an http(s) URL, got {url:?}") }),
        None => Ok(None),
    }
}

/// Whole seconds as a duration.
fn env_secs(name: &'static str) -> Result<Option<Duration>, ConfigError> {
    Ok(env_parse::<u64>(name)?.map(Duration::from_secs))
}

/// The variable's value, `None` when unset or empty, an error when not Unicode.
fn env_string(name: &'static str) -> Result<Option<String>, ConfigError> {
    match std::env::var(name) {
        Ok(value) if value.trim().is_empty() => Ok(None),
        Ok(value) => Ok(Some(value.trim().to_owned())),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(ConfigError { name, message: "not valid UTF-8".to_owned() }),
    }
}

/// The variable parsed as `T`, `None` when unset.
fn env_parse<T: FromStr>(name: &'static str) -> Result<Option<T>, ConfigError>
where
    T::Err: std::fmt::Display,
{
    env_string(name)?
        .map(|value| {
            value.parse().map_err(|error| ConfigError { name, message: format!("cannot parse {value:?}: {error}") })
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(production: bool, keys: bool) -> Config {
        let key = || keys.then(|| SecretString::from("key"));
        Config {
            production,
            database: DatabaseConfig { url: "sqlite://test.db".to_owned(), max_connections: None },
            intake: IntakeConfig {
                notify_delay: Duration::from_secs(600),
                cors_allowed_origins: Vec::new(),
                max_body_bytes: 1024,
            },
            web: WebConfig { session_ttl: Duration::from_secs(60), cookie_secure: true, leads_refresh_secs: 30 },
            jobs: JobsConfig::default(),
            email: EmailConfig { api_key: key(), ..EmailConfig::default() },
            sms: SmsConfig { api_key: key(), ..SmsConfig::default() },
            facebook: FacebookConfig::default(),
            crm: CrmConfig::default(),
            telegram: TelegramConfig::default(),
        }
    }

    #[test]
    fn currency_rates_parse_from_pairs() {
        assert_eq!(parse_rates("usd=505.2, EUR=548"), Some(vec![("USD".into(), 505.2), ("EUR".into(), 548.0)]));
        assert_eq!(parse_rates("USD"), None);
        assert_eq!(parse_rates("USD=-1"), None);
    }

    #[test]
    fn production_refuses_the_development_outbox_unless_allowed() {
        let refused = config(true, false).refuse_unsafe(false).unwrap_err();
        assert_eq!(refused.name, "RESEND_API_KEY");
        assert!(config(true, false).refuse_unsafe(true).is_ok(), "explicitly allowed");
        assert!(config(true, true).refuse_unsafe(false).is_ok(), "real providers");
        assert!(config(false, false).refuse_unsafe(false).is_ok(), "development");
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let printed = format!("{:?}", config(true, true));
        assert!(!printed.contains("\"key\""), "{printed}");
    }
}
