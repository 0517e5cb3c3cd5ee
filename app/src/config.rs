//! Typed configuration read once from the environment at start-up.
//!
//! Every variable is documented on its field and in `.env.example`. Unset variables take
//! their default; set but invalid ones stop the start with the variable's name.

mod alerts;
pub mod check;
mod conversions;
mod crm;
mod edge;
mod email;
mod env;
mod facebook;
mod jobs;
mod metrics;
mod sms;
mod telegram;

use std::time::Duration;

pub use alerts::AlertsConfig;
pub use conversions::ConversionsConfig;
pub use crm::CrmConfig;
pub use edge::EdgeConfig;
pub use email::EmailConfig;
use env::{env_parse, env_string};
pub use facebook::FacebookConfig;
pub use jobs::JobsConfig;
pub use metrics::MetricsConfig;
pub use sms::SmsConfig;
pub use telegram::TelegramConfig;

/// Everything the application needs to know about its environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// `APP_ENV`: `development` (default) or `production`; production refuses unsafe settings.
    pub production: bool,
    /// `ALLOW_DEV_SENDERS`: production may keep messages in the development outbox when a
    /// provider key is missing (default false).
    pub allow_dev_senders: bool,
    /// Database connection settings.
    pub database: DatabaseConfig,
    /// Lead intake settings.
    pub intake: IntakeConfig,
    /// Sign-in and dashboard settings.
    pub web: WebConfig,
    /// Rate limits, trusted proxies and the HTTP server's limits.
    pub edge: EdgeConfig,
    /// Where `/metrics` is served.
    pub metrics: MetricsConfig,
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
    /// Leads and sales sent back to Meta.
    pub conversions: ConversionsConfig,
    /// Alerts about silent outages.
    pub alerts: AlertsConfig,
}

/// Where the data lives.
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// `DATABASE_URL`: `sqlite://path?mode=rwc` (default `sqlite://data/leadtrack.db?mode=rwc`)
    /// or `postgres://user@host/db`.
    pub url: String,
    /// `DATABASE_MAX_CONNECTIONS`: pool size (default 16 for PostgreSQL, 8 for SQLite).
    pub max_connections: Option<u32>,
    /// `DATABASE_ACQUIRE_TIMEOUT_MS`: how long a request waits for a connection before it
    /// fails (default 5000); a database that is down is noticed this fast.
    pub acquire_timeout: Duration,
}

/// How landing pages submit leads.
#[derive(Debug, Clone)]
pub struct IntakeConfig {
    /// `NOTIFY_DELAY_SECS`: delay from sign-up to the email and SMS (default 600).
    pub notify_delay: Duration,
    /// `NOTIFY_DEDUP_HOURS`: one recipient gets at most one email and one SMS in this many
    /// hours; later leads of theirs are stored and pushed, their messages skipped (default
    /// 24, 0 turns it off).
    pub notify_dedup: Duration,
    /// `CORS_ALLOWED_ORIGINS`: comma-separated origins of the landing pages (default none).
    pub cors_allowed_origins: Vec<String>,
    /// `INTAKE_MAX_BODY_BYTES`: the largest accepted submission (default 65536).
    pub max_body_bytes: usize,
    /// `INTAKE_SPOOL_AFTER_MS`: how long a submission waits for the database before it goes
    /// to the local spool and is answered 202 (default 500).
    pub spool_after: Duration,
    /// `INTAKE_SPOOL_DIR`: the folder of the spool files (default `data/spool`).
    pub spool_dir: std::path::PathBuf,
}

/// Sessions and dashboards.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// `SESSION_TTL_HOURS`: how long a sign-in lasts (default 336, two weeks).
    pub session_ttl: Duration,
    /// `SESSION_IDLE_HOURS`: a session unused this long ends (default 72: a weekend away
    /// keeps it).
    pub session_idle: Duration,
    /// `COOKIE_SECURE`: mark the session cookie `Secure` (default true in production).
    pub cookie_secure: bool,
    /// `LEADS_REFRESH_SECS`: how often `/target` refreshes itself (default 30).
    pub leads_refresh_secs: u32,
}

/// A variable that is set but cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("environment variable {name}: {message}")]
pub struct ConfigError {
    name: &'static str,
    message: String,
}

impl Config {
    /// Reads the whole configuration from the process environment; production refuses
    /// the development outbox (see [`Config::read_env`] for reading without that check).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::read_env()?.refuse_unsafe()
    }

    /// Reads the configuration as it is, unsafe or not (`server check-config` lists what
    /// is wrong with it instead of stopping at the first refusal).
    pub fn read_env() -> Result<Self, ConfigError> {
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
            allow_dev_senders: env_parse("ALLOW_DEV_SENDERS")?.unwrap_or(false),
            database: DatabaseConfig {
                url: env_string("DATABASE_URL")?.unwrap_or_else(|| "sqlite://data/leadtrack.db?mode=rwc".to_owned()),
                max_connections: env_parse("DATABASE_MAX_CONNECTIONS")?,
                acquire_timeout: Duration::from_millis(env_parse("DATABASE_ACQUIRE_TIMEOUT_MS")?.unwrap_or(5_000)),
            },
            intake: IntakeConfig {
                notify_delay: Duration::from_secs(env_parse("NOTIFY_DELAY_SECS")?.unwrap_or(600)),
                notify_dedup: Duration::from_secs(3600 * env_parse::<u64>("NOTIFY_DEDUP_HOURS")?.unwrap_or(24)),
                cors_allowed_origins: env_string("CORS_ALLOWED_ORIGINS")?
                    .map(|list| {
                        list.split(',')
                            .map(|origin| origin.trim().trim_end_matches('/').to_owned())
                            .filter(|origin| !origin.is_empty())
                            .collect()
                    })
                    .unwrap_or_default(),
                max_body_bytes: env_parse("INTAKE_MAX_BODY_BYTES")?.unwrap_or(64 * 1024),
                spool_after: Duration::from_millis(env_parse("INTAKE_SPOOL_AFTER_MS")?.unwrap_or(500)),
                spool_dir: env_string("INTAKE_SPOOL_DIR")?.unwrap_or_else(|| "data/spool".to_owned()).into(),
            },
            web: WebConfig {
                session_ttl: Duration::from_secs(3600 * env_parse::<u64>("SESSION_TTL_HOURS")?.unwrap_or(336)),
                session_idle: Duration::from_secs(3600 * env_parse::<u64>("SESSION_IDLE_HOURS")?.unwrap_or(72)),
                cookie_secure: env_parse("COOKIE_SECURE")?.unwrap_or(production),
                leads_refresh_secs: env_parse("LEADS_REFRESH_SECS")?.unwrap_or(30).max(1),
            },
            edge: EdgeConfig::from_env()?,
            metrics: MetricsConfig::from_env()?,
            jobs: JobsConfig::from_env()?,
            email: EmailConfig::from_env()?,
            sms: SmsConfig::from_env()?,
            facebook: FacebookConfig::from_env()?,
            crm: CrmConfig::from_env()?,
            telegram: TelegramConfig::from_env()?,
            conversions: ConversionsConfig::from_env()?,
            alerts: AlertsConfig::from_env()?,
        })
    }

    /// A development configuration for tests on the database at `url`: every provider in
    /// test mode, a small pool, a spool folder of its own, the defaults of each section.
    pub fn for_tests(url: &str) -> Self {
        Self {
            production: false,
            allow_dev_senders: false,
            database: DatabaseConfig {
                url: url.to_owned(),
                max_connections: Some(4),
                acquire_timeout: Duration::from_secs(5),
            },
            intake: IntakeConfig {
                notify_delay: Duration::from_secs(600),
                // Off: most tests post one synthetic person many times; the policy's own
                // tests switch it on.
                notify_dedup: Duration::ZERO,
                cors_allowed_origins: Vec::new(),
                max_body_bytes: 64 * 1024,
                // Long: a loaded test machine must not spool what a test expects stored.
                spool_after: Duration::from_secs(10),
                // Each test's own: a spool left behind is stored by whoever finds it.
                spool_dir: std::env::temp_dir().join(format!("leadtrack-spool-{:016x}", rand::random::<u64>())),
            },
            web: WebConfig {
                session_ttl: Duration::from_secs(3600),
                session_idle: Duration::from_secs(3600),
                cookie_secure: false,
                leads_refresh_secs: 30,
            },
            // No intake limit: tests post many leads from one address; the limit's own
            // tests set it.
            edge: EdgeConfig { intake_rate_per_minute: 0, ..EdgeConfig::default() },
            metrics: MetricsConfig::default(),
            jobs: JobsConfig::default(),
            email: EmailConfig::default(),
            sms: SmsConfig::default(),
            facebook: FacebookConfig::default(),
            crm: CrmConfig::default(),
            telegram: TelegramConfig::default(),
            conversions: ConversionsConfig::default(),
            alerts: AlertsConfig::default(),
        }
    }

    /// Production must not silently drop messages into the development outbox, unless
    /// `ALLOW_DEV_SENDERS` says so.
    fn refuse_unsafe(self) -> Result<Self, ConfigError> {
        if self.production && !self.allow_dev_senders {
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

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;

    fn config(production: bool, keys: bool) -> Config {
        let key = || keys.then(|| SecretString::from("key"));
        let mut config = Config::for_tests("sqlite://test.db");
        config.production = production;
        config.email.api_key = key();
        config.sms.api_key = key();
        config
    }

    #[test]
    fn production_refuses_the_development_outbox_unless_allowed() {
        let refused = config(true, false).refuse_unsafe().unwrap_err();
        assert_eq!(refused.name, "RESEND_API_KEY");
        let allowed = Config { allow_dev_senders: true, ..config(true, false) };
        assert!(allowed.refuse_unsafe().is_ok(), "explicitly allowed");
        assert!(config(true, true).refuse_unsafe().is_ok(), "real providers");
        assert!(config(false, false).refuse_unsafe().is_ok(), "development");
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let printed = format!("{:?}", config(true, true));
        assert!(!printed.contains("\"key\""), "{printed}");
    }
}
