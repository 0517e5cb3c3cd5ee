//! Sale messages through a Telegram bot.

use std::time::Duration;

use secrecy::SecretString;

use super::env::{env_secret, env_secs, env_string, env_url};
use super::ConfigError;

/// The Telegram bot that announces sales (`docs/product.md`, "Attribution").
#[derive(Debug, Clone)]
pub struct TelegramConfig {
    /// `TELEGRAM_API_URL` (default `https://api.telegram.org`).
    pub api_url: String,
    /// `TELEGRAM_BOT_TOKEN`: without it the Telegram integration is paused and sale
    /// announcements wait; a process started with one sends them.
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
    pub(super) fn from_env() -> Result<Self, ConfigError> {
        let default = Self::default();
        Ok(Self {
            api_url: env_url("TELEGRAM_API_URL")?.unwrap_or(default.api_url),
            bot_token: env_secret("TELEGRAM_BOT_TOKEN")?,
            default_chat_id: env_string("TELEGRAM_DEFAULT_CHAT_ID")?,
            timeout: env_secs("TELEGRAM_TIMEOUT_SECS")?.unwrap_or(default.timeout),
        })
    }
}
