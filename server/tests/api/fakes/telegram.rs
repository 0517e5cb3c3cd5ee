//! A fake Telegram Bot API (`docs/providers.md`, Telegram): `POST /bot<token>/sendMessage` with a JSON
//! body, `{"ok":true,"result":{…}}`, 401 for another token, and on demand the exact 429
//! body with `parameters.retry_after`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

/// The bot token the fake accepts.
pub const BOT_TOKEN: &str = "123456:ABC-test-bot-token";

/// A message the fake accepted: `(chat_id, text, parse_mode)`.
pub type SentMessage = (String, String, String);

#[derive(Default)]
struct BotState {
    sent: Vec<SentMessage>,
    /// Requests still to be answered with 429.
    throttle_next: usize,
}

/// A running fake bot API.
#[derive(Clone)]
pub struct FakeTelegram {
    pub address: SocketAddr,
    state: Arc<Mutex<BotState>>,
}

impl FakeTelegram {
    /// Starts the fake on a free port.
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(BotState::default()));
        let router = Router::new().route("/{bot}/sendMessage", post(send_message)).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Self { address, state }
    }

    /// `http://127.0.0.1:<port>`, as `TELEGRAM_API_URL`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Answers the next `requests` with 429 "retry after 1".
    pub fn throttle_next(&self, requests: usize) {
        self.state.lock().unwrap().throttle_next = requests;
    }

    /// Every message accepted so far.
    pub fn sent(&self) -> Vec<SentMessage> {
        self.state.lock().unwrap().sent.clone()
    }
}

async fn send_message(
    State(state): State<Arc<Mutex<BotState>>>,
    Path(bot): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    if bot != format!("bot{BOT_TOKEN}") {
        let answer = json!({"ok": false, "error_code": 401, "description": "Unauthorized"});
        return (StatusCode::UNAUTHORIZED, Json(answer)).into_response();
    }
    let mut state = state.lock().unwrap();
    if state.throttle_next > 0 {
        state.throttle_next -= 1;
        let answer = json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 1",
            "parameters": {"retry_after": 1}});
        return (StatusCode::TOO_MANY_REQUESTS, Json(answer)).into_response();
    }
    let chat = match &body["chat_id"] {
        Value::String(chat) => chat.clone(),
        other => other.to_string(),
    };
    let text = body["text"].as_str().unwrap_or_default().to_owned();
    if text.is_empty() {
        let answer = json!({"ok": false, "error_code": 400, "description": "Bad Request: message text is empty"});
        return (StatusCode::BAD_REQUEST, Json(answer)).into_response();
    }
    state.sent.push((chat.clone(), text.clone(), body["parse_mode"].as_str().unwrap_or_default().to_owned()));
    let message_id = 4_820 + state.sent.len();
    Json(json!({"ok": true, "result": {"message_id": message_id, "chat": {"id": chat, "type": "supergroup"},
        "date": 1_717_488_000, "text": text}}))
    .into_response()
}
