//! A fake Telegram Bot API (`docs/providers.md`, Telegram): `POST /bot<token>/sendMessage`
//! with a JSON body, `{"ok":true,"result":{…}}`, `getMe` and `getChat`; 401 for another
//! token; and on demand the exact 429 body with `parameters.retry_after`, a bot kicked
//! from a chat (403), and a message recorded but answered only after the client gave up.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
    /// Messages still to be recorded and then answered only after the client's timeout.
    hang_next: usize,
    /// Chats the bot was kicked from.
    kicked: Vec<String>,
    /// Added after a message is recorded, before the answer.
    latency: Duration,
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
        let router = Router::new().route("/{bot}/{method}", post(call)).with_state(state.clone());
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

    /// Delays every answer after recording the message.
    pub fn set_latency(&self, latency: Duration) {
        self.state.lock().unwrap().latency = latency;
    }

    /// Records the next `messages` but answers them only after the client gave up.
    pub fn hang_next(&self, messages: usize) {
        self.state.lock().unwrap().hang_next = messages;
    }

    /// Removes the bot from `chat` (true) or adds it back.
    pub fn set_kicked(&self, chat: &str, kicked: bool) {
        let mut state = self.state.lock().unwrap();
        state.kicked.retain(|other| other != chat);
        if kicked {
            state.kicked.push(chat.to_owned());
        }
    }

    /// Every message accepted so far.
    pub fn sent(&self) -> Vec<SentMessage> {
        self.state.lock().unwrap().sent.clone()
    }
}

fn refuse(status: StatusCode, description: &str) -> Response {
    let answer = json!({"ok": false, "error_code": status.as_u16(), "description": description});
    (status, Json(answer)).into_response()
}

async fn call(
    State(state): State<Arc<Mutex<BotState>>>,
    Path((bot, method)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> Response {
    let chat = match &body["chat_id"] {
        Value::String(chat) => chat.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let (hang, latency) = {
        let mut state = state.lock().unwrap();
        if bot != format!("bot{BOT_TOKEN}") {
            return refuse(StatusCode::UNAUTHORIZED, "Unauthorized");
        }
        if state.kicked.contains(&chat) {
            return refuse(StatusCode::FORBIDDEN, "Forbidden: bot was kicked from the supergroup chat");
        }
        match method.to_lowercase().as_str() {
            "getme" => {
                return Json(json!({"ok": true, "result": {"id": 123_456, "is_bot": true, "first_name": "Продажи",
                    "username": "academy_sales_bot"}}))
                .into_response()
            }
            "getchat" => {
                return Json(json!({"ok": true, "result": {"id": chat, "type": "supergroup", "title": "Продажи"}}))
                    .into_response()
            }
            "sendmessage" => {}
            _ => return refuse(StatusCode::NOT_FOUND, "Not Found"),
        }
        if state.throttle_next > 0 {
            state.throttle_next -= 1;
            let answer = json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 1",
                "parameters": {"retry_after": 1}});
            return (StatusCode::TOO_MANY_REQUESTS, Json(answer)).into_response();
        }
        let text = body["text"].as_str().unwrap_or_default().to_owned();
        if text.is_empty() {
            return refuse(StatusCode::BAD_REQUEST, "Bad Request: message text is empty");
        }
        state.sent.push((chat.clone(), text, body["parse_mode"].as_str().unwrap_or_default().to_owned()));
        let hang = state.hang_next > 0;
        state.hang_next = state.hang_next.saturating_sub(1);
        (hang, state.latency)
    };
    tokio::time::sleep(latency).await;
    if hang {
        tokio::time::sleep(Duration::from_secs(30)).await;
    }
    let message_id = 4_820 + state.lock().unwrap().sent.len();
    Json(json!({"ok": true, "result": {"message_id": message_id, "chat": {"id": chat, "type": "supergroup"},
        "date": 1_717_488_000}}))
    .into_response()
}
