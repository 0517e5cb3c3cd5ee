//! SMS through Mobizon.

use std::time::Duration;

use secrecy::SecretString;

use super::env::{env_list, env_secret, env_secs, env_string, env_url};
use super::ConfigError;
use crate::domain::notify_policy::{SmsAllowance, SmsPolicy};

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
    /// `SMS_ALLOWED_NUMBERS`: comma-separated countries whose mobile numbers get an SMS
    /// (`KZ`, `KG`) and number prefixes (`+99655`); default `KZ`. Other leads are stored
    /// and pushed to AmoCRM, their SMS is skipped.
    pub allowed: SmsPolicy,
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
            allowed: SmsPolicy::default(),
        }
    }
}

impl SmsConfig {
    pub(super) fn from_env() -> Result<Self, ConfigError> {
        let default = Self::default();
        Ok(Self {
            api_url: env_url("MOBIZON_API_URL")?.unwrap_or(default.api_url),
            api_key: env_secret("MOBIZON_API_KEY")?,
            sender: env_string("MOBIZON_SENDER")?,
            webhook_secret: env_secret("MOBIZON_WEBHOOK_SECRET")?,
            timeout: env_secs("MOBIZON_TIMEOUT_SECS")?.unwrap_or(default.timeout),
            status_poll: env_secs("MOBIZON_STATUS_POLL_SECS")?.unwrap_or(default.status_poll),
            allowed: env_list(
                "SMS_ALLOWED_NUMBERS",
                "country codes (KZ) or number prefixes (+99655)",
                SmsAllowance::parse,
            )?
            .map(SmsPolicy::new)
            .unwrap_or(default.allowed),
        })
    }
}
