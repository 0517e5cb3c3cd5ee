//! The Telegram Bot API's `sendMessage` (`docs/providers.md`, Telegram), HTML parse mode,
//! and `getMe`/`getChat` to check a paused bot. The token is part of the URL, so request
//! errors are reported without it.
//!
//! Telegram cannot deduplicate a message: a send is tried again only when it certainly
//! did not arrive (no connection, a 429, an error answer). A request that went out and got
//! no answer is [`SendError::Uncertain`].

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

use super::{http_client, SendError};
use crate::config::TelegramConfig;
use crate::domain::integration::{Integration, Refusal};

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
        let body = json!({
            "chat_id": chat_id,
            "text": html,
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": true},
        });
        let answer = self.call("sendMessage", &body, Some(chat_id)).await.map_err(|failure| match failure {
            // The request may have reached Telegram: the message may be in the chat.
            Failure::NoAnswer(message) => SendError::Uncertain { message },
            Failure::Answered(error) => error,
        })?;
        Ok(answer["result"]["message_id"].as_i64().unwrap_or_default())
    }

    /// Checks that the bot's token works (`getMe`) and, given a chat, that the bot is in
    /// it (`getChat`): the probe of a paused integration.
    pub async fn check(&self, chat_id: Option<&str>) -> Result<(), SendError> {
        let unanswered = |failure| match failure {
            Failure::NoAnswer(message) => SendError::retryable(message),
            Failure::Answered(error) => error,
        };
        self.call("getMe", &json!({}), None).await.map_err(unanswered)?;
        if let Some(chat_id) = chat_id {
            self.call("getChat", &json!({ "chat_id": chat_id }), Some(chat_id)).await.map_err(unanswered)?;
        }
        Ok(())
    }

    /// Calls `method`; the answer's JSON when Telegram says `ok`.
    async fn call(&self, method: &str, body: &Value, chat_id: Option<&str>) -> Result<Value, Failure> {
        let url = format!("{}/bot{}/{method}", self.base, self.token.expose_secret());
        let response = self.http.post(url).json(body).send().await.map_err(|error| {
            // Never connected: the request certainly did not arrive.
            let never_sent = error.is_connect();
            let message = SendError::transport("Telegram", error);
            if never_sent {
                Failure::Answered(message)
            } else {
                Failure::NoAnswer(message.to_string())
            }
        })?;
        let status = response.status().as_u16();
        let answer: Value = match response.bytes().await {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            Err(error) if status == 200 => {
                return Err(Failure::NoAnswer(format!("Telegram: the answer was cut off: {}", error.without_url())))
            }
            Err(_) => Value::Null,
        };
        if answer["ok"] == true {
            return Ok(answer);
        }
        if status == 200 {
            return Err(Failure::NoAnswer("Telegram: HTTP 200 without an ok answer".to_owned()));
        }
        Err(Failure::Answered(classify(status, &answer, chat_id)))
    }
}

/// Why a call failed: with an answer that says so (nothing happened), or without one.
enum Failure {
    Answered(SendError),
    NoAnswer(String),
}

/// What an error answer means: a bad token (401, 404), a bot removed from or blocked in its
/// chat (403) and a chat that does not exist for the bot refuse the integration; 429 waits
/// `retry_after`; 5xx passes; other answers are about this message.
fn classify(status: u16, answer: &Value, chat_id: Option<&str>) -> SendError {
    let description = answer["description"].as_str().unwrap_or("no description").to_owned();
    let chat = chat_id.unwrap_or("—");
    let refused = |reason: String| match chat_id {
        Some(chat_id) if status != 401 && status != 404 => {
            SendError::Refused(Refusal::of(Integration::Telegram, chat_id, reason))
        }
        _ => SendError::Refused(Refusal::new(Integration::Telegram, reason)),
    };
    match status {
        401 | 404 => refused(format!("Telegram не принимает токен бота ({status}): {description}")),
        403 => refused(format!("Бот удалён из чата {chat} или заблокирован (403): {description}")),
        400 if description.to_lowercase().contains("chat not found") => {
            refused(format!("Чат {chat} не найден: добавьте бота в чат (400): {description}"))
        }
        429 => {
            let seconds = answer["parameters"]["retry_after"]
                .as_u64()
                .or_else(|| description.rsplit(' ').next().and_then(|last| last.parse().ok()))
                .unwrap_or(30);
            SendError::Retryable {
                message: format!("Telegram {status}: {description}"),
                retry_after: Some(Duration::from_secs(seconds)),
            }
        }
        500.. => SendError::retryable(format!("Telegram {status}: {description}")),
        _ => SendError::Rejected { message: format!("Telegram {status}: {description}") },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(code: u16, description: &str) -> Value {
        json!({"ok": false, "error_code": code, "description": description})
    }

    #[test]
    fn a_bad_token_refuses_the_bot_and_a_lost_chat_refuses_that_chat() {
        let SendError::Refused(token) = classify(401, &answer(401, "Unauthorized"), Some("-1001")) else {
            panic!("a 401 refuses the integration")
        };
        assert_eq!((token.integration, token.subject), (Integration::Telegram, None));
        for (status, description) in
            [(403, "Forbidden: bot was kicked from the group chat"), (400, "Bad Request: chat not found")]
        {
            let SendError::Refused(chat) = classify(status, &answer(status, description), Some("-1001")) else {
                panic!("{description} refuses the chat")
            };
            assert_eq!(chat.subject.as_deref(), Some("-1001"));
        }
    }

    #[test]
    fn rate_limits_wait_and_bad_messages_fail_alone() {
        let throttled = json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 7",
            "parameters": {"retry_after": 7}});
        assert!(matches!(classify(429, &throttled, None),
            SendError::Retryable { retry_after: Some(wait), .. } if wait == Duration::from_secs(7)));
        let old = answer(429, "Too Many Requests: retry after 3");
        assert!(matches!(classify(429, &old, None),
            SendError::Retryable { retry_after: Some(wait), .. } if wait == Duration::from_secs(3)));
        assert!(matches!(
            classify(400, &answer(400, "Bad Request: message is too long"), Some("-1001")),
            SendError::Rejected { .. }
        ));
        assert!(matches!(classify(502, &Value::Null, None), SendError::Retryable { .. }));
    }
}
