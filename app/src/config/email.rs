//! Email through Resend.

use std::time::Duration;

use secrecy::SecretString;

use super::env::{env_secret, env_secs, env_string, env_url};
use super::ConfigError;

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

impl EmailConfig {
    pub(super) fn from_env() -> Result<Self, ConfigError> {
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
