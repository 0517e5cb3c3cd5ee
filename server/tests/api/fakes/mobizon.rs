//! A fake Mobizon: `sendsmsmessage`, `list` and `getsmsstatus` under
//! `/service/message/…`, form-encoded, answering HTTP 200 with a `code` envelope (errors
//! included), ids as strings, and a delivery-report webhook body signed as documented.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Form, Json, Router};
use serde_json::{json, Value};

use app::providers::mobizon::webhook_sign;
use app::time::{format_almaty_seconds, now_ms};

use super::{serve, Mode};

/// The API key the fake accepts.
pub const API_KEY: &str = "kz0000000000000000000000000000000000fake";

/// An SMS the fake accepted.
#[derive(Debug, Clone)]
pub struct ReceivedSms {
    pub id: String,
    pub to: String,
    pub text: String,
    /// `params[name]`: our idempotency key.
    pub campaign_name: String,
    pub created: String,
    pub status: String,
}

#[derive(Default)]
struct Inner {
    mode: Mode,
    /// Added after a message is accepted, before the answer.
    latency: Duration,
    accepted: Vec<ReceivedSms>,
    requests: usize,
    next_event: u64,
}

/// A running fake Mobizon.
#[derive(Clone)]
pub struct FakeMobizon {
    pub address: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

impl FakeMobizon {
    /// Starts a fake on a free port.
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let router = Router::new().route("/service/{module}/{method}", post(call)).with_state(inner.clone());
        Self { address: serve(router).await, inner }
    }

    /// The base URL to configure as `MOBIZON_API_URL`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Delays every answer after accepting, so that messages are in flight for a while.
    pub fn set_latency(&self, latency: Duration) {
        self.inner.lock().unwrap().latency = latency;
    }

    /// Switches how the fake answers from now on.
    pub fn set_mode(&self, mode: Mode) {
        self.inner.lock().unwrap().mode = mode;
    }

    /// Every SMS accepted.
    pub fn accepted(&self) -> Vec<ReceivedSms> {
        self.inner.lock().unwrap().accepted.clone()
    }

    /// Requests received, whatever their answer.
    pub fn requests(&self) -> usize {
        self.inner.lock().unwrap().requests
    }

    /// How many SMS went to each number.
    pub fn count_by_recipient(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for sms in self.accepted() {
            *counts.entry(sms.to).or_default() += 1;
        }
        counts
    }

    /// Sets a message's status, as the operator would report it.
    pub fn set_status(&self, message_id: &str, status: &str) {
        let mut inner = self.inner.lock().unwrap();
        if let Some(sms) = inner.accepted.iter_mut().find(|sms| sms.id == message_id) {
            sms.status = status.to_owned();
        }
    }

    /// The delivery-report webhook body Mobizon would post for `message_id`, signed with `secret`.
    pub fn delivery_report(&self, message_id: &str, status: &str, secret: &str) -> Value {
        let mut inner = self.inner.lock().unwrap();
        inner.next_event += 1;
        let event_id = inner.next_event.to_string();
        let to = inner.accepted.iter().find(|sms| sms.id == message_id).map(|sms| sms.to.clone()).unwrap_or_default();
        let created = format_almaty_seconds(now_ms());
        json!({
            "eventId": inner.next_event,
            "eventType": "sms-delivery-report",
            "eventCreateTs": created,
            "webhookId": 1,
            "attempt": 1,
            "data": {
                "campaignId": 245455096,
                "messageId": message_id.parse::<u64>().unwrap_or_default(),
                "segNum": 1,
                "statusUpdateTs": created,
                "status": status,
                "to": to,
            },
            "sign": webhook_sign(secret, &event_id, "1", &created),
        })
    }
}

fn envelope(code: i64, data: Value, message: &str) -> Response {
    (StatusCode::OK, Json(json!({ "code": code, "data": data, "message": message }))).into_response()
}

async fn call(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path((module, method)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let (mode, latency) = {
        let mut inner = inner.lock().unwrap();
        inner.requests += 1;
        (inner.mode, inner.latency)
    };
    match mode {
        Mode::Normal | Mode::AcceptThenHang => {}
        Mode::Reject => {
            return envelope(1, json!({ "recipient": "Неверный номер получателя" }), "Ошибка проверки данных")
        }
        Mode::Outage => return (StatusCode::BAD_GATEWAY, "<html><body>502 Bad Gateway</body></html>").into_response(),
        Mode::Hang => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            return StatusCode::GATEWAY_TIMEOUT.into_response();
        }
        Mode::RateLimited => return envelope(30, Value::Null, "Превышен лимит запросов"),
    }
    let field = |name: &str| form.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone());
    let key = query.get("apiKey").cloned().or_else(|| field("apiKey"));
    if key.as_deref() != Some(API_KEY) {
        return envelope(8, Value::Null, "Login error");
    }
    if query.get("output").map(String::as_str) != Some("json") {
        return envelope(6, Value::Null, "Unsupported format");
    }
    let answer = answer(&inner, &module, &method, &form);
    tokio::time::sleep(latency).await;
    if mode == Mode::AcceptThenHang && method.eq_ignore_ascii_case("sendsmsmessage") {
        tokio::time::sleep(Duration::from_secs(30)).await;
    }
    answer
}

/// The answer to an authenticated call, recording sent messages.
fn answer(inner: &Mutex<Inner>, module: &str, method: &str, form: &[(String, String)]) -> Response {
    let field = |name: &str| form.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone());
    let mut inner = inner.lock().unwrap();
    match (module.to_lowercase().as_str(), method.to_lowercase().as_str()) {
        ("message", "sendsmsmessage") => {
            let (Some(to), Some(text)) = (field("recipient"), field("text")) else {
                return envelope(11, Value::Null, "Не указаны обязательные параметры");
            };
            if !to.chars().all(|c| c.is_ascii_digit()) {
                return envelope(1, json!({ "recipient": "Неверный номер получателя" }), "Ошибка проверки данных");
            }
            let id = format!("{}", 70_000_000_000u64 + inner.accepted.len() as u64 + 1);
            inner.accepted.push(ReceivedSms {
                id: id.clone(),
                to,
                text,
                campaign_name: field("params[name]").unwrap_or_default(),
                created: format_almaty_seconds(now_ms()),
                status: "ACCEPTD".to_owned(),
            });
            envelope(0, json!({ "campaignId": "70000001234", "messageId": id, "status": 2 }), "")
        }
        ("message", "list") => {
            let to = field("criteria[to]");
            let items: Vec<Value> = inner
                .accepted
                .iter()
                .rev()
                .filter(|sms| to.as_ref().is_none_or(|to| *to == sms.to))
                .map(|sms| {
                    json!({ "id": sms.id, "campaignId": "70000001234", "from": "ACADEMY", "to": sms.to,
                                    "text": sms.text, "status": sms.status, "createTs": sms.created })
                })
                .collect();
            envelope(0, json!({ "items": items, "totalItemCount": items.len().to_string() }), "")
        }
        ("message", "getsmsstatus") => {
            let ids: Vec<String> =
                form.iter().filter(|(key, _)| key == "ids[]" || key == "ids").map(|(_, id)| id.clone()).collect();
            if ids.is_empty() {
                return envelope(2, Value::Null, "Не найдено");
            }
            let items: Vec<Value> = inner
                .accepted
                .iter()
                .filter(|sms| ids.contains(&sms.id))
                .map(|sms| {
                    json!({ "id": sms.id, "status": sms.status, "segNum": "1",
                                    "startSendTs": sms.created, "statusUpdateTs": sms.created })
                })
                .collect();
            envelope(0, Value::Array(items), "")
        }
        _ => envelope(5, Value::Null, "Неизвестный метод"),
    }
}
