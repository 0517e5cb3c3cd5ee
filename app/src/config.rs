//! Typed configuration read once from the environment at start-up.
//!
//! Every variable is documented on its field and in `.env.example`. Unset variables take
//! their default; set but invalid ones stop the start with the variable's name.

use std::str::FromStr;
use std::time::Duration;

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
    /// `AMOCRM_BASE_URL`: the account address (`https://<subdomain>.amocrm.ru`), for deal links.
    pub crm_base_url: Option<String>,
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
                crm_base_url: env_string("AMOCRM_BASE_URL")?.map(|url| url.trim_end_matches('/').to_owned()),
            },
        })
    }
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
