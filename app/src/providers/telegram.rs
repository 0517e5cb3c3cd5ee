//! The Telegram Bot API's `sendMessage` (`docs/providers.md`, Telegram), HTML parse mode. The token is
//! part of the URL, so request errors are reported without it.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

use super::{http_client, SendError};
use crate::config::TelegramConfig;

/// The bot client.
#[derive(Debug)]
pub struct TelegramClient {
    http: reqwest::Client,
    base: String,
    token: SecretString,
}

impl TelegramClient {
    /// A client for `config.api_url` with `token`.
    pub fn new(config: &TelegramConfig, token: SecretString) -> Self {
        Self { http: http_client(config.timeout), base: config.api_url.trim_end_matches('/').to_owned(), token }
    }

    /// Sends `html` to `chat_id`; returns Telegram's message id.
    pub async fn send_html(&self, chat_id: &str, html: &str) -> Result<i64, SendError> {
        let url = format!("{}/bot{}/sendMessage", self.base, self.token.expose_secret());
        let body = json!({
            "chat_id": chat_id,
            "text": html,
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": true},
        });
        let response =
            self.http.post(url).json(&body).send().await.map_err(|error| SendError::transport("Telegram", error))?;
        let status = response.status().as_u16();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        if answer["ok"] == true {
            return Ok(answer["result"]["message_id"].as_i64().unwrap_or_default());
        }
        let description = answer["description"].as_str().unwrap_or("no description").to_owned();
        let message = format!("Telegram {status}: {description}");
        match status {
            429 => {
                let seconds = answer["parameters"]["retry_after"]
                    .as_u64()
                    .or_else(|| description.rsplit(' ').next().and_then(|last| last.parse().ok()))
                    .unwrap_or(30);
                Err(SendError::Retryable { message, retry_after: Some(Duration::from_secs(seconds)) })
            }
            500.. => Err(SendError::retryable(message)),
            _ => Err(SendError::Rejected { message }),
        }
    }
}
