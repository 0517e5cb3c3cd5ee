//! A fake Resend: `POST /emails` with bearer auth, a required `User-Agent`, idempotency
//! keys (same key and body → the first answer; another body → 409), rate-limit headers,
//! 429 with `retry-after`, and 422 rejections.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::{serve, Mode};

/// The API key the fake accepts.
pub const API_KEY: &str = "re_test_key_0001";

/// An email the fake accepted.
#[derive(Debug, Clone)]
pub struct ReceivedEmail {
    pub id: String,
    pub idempotency_key: String,
    pub to: String,
    pub subject: String,
    pub body: Value,
}

#[derive(Default)]
struct Inner {
    mode: Mode,
    /// Added after a message is accepted, before the answer.
    latency: Duration,
    accepted: Vec<ReceivedEmail>,
    /// Idempotency key → (request body, id).
    keys: HashMap<String, (Value, String)>,
    requests: usize,
}

/// A running fake Resend.
#[derive(Clone)]
pub struct FakeResend {
    pub address: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

impl FakeResend {
    /// Starts a fake on a free port.
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let router = Router::new().route("/emails", post(send_email)).with_state(inner.clone());
        Self { address: serve(router).await, inner }
    }

    /// The base URL to configure as `RESEND_API_URL`.
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

    /// Every email accepted, once per idempotency key.
    pub fn accepted(&self) -> Vec<ReceivedEmail> {
        self.inner.lock().unwrap().accepted.clone()
    }

    /// Requests received, whatever their answer.
    pub fn requests(&self) -> usize {
        self.inner.lock().unwrap().requests
    }

    /// How many accepted emails went to each recipient.
    pub fn count_by_recipient(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for email in self.accepted() {
            *counts.entry(email.to).or_default() += 1;
        }
        counts
    }
}

fn error(status: StatusCode, name: &str, message: &str) -> Response {
    (status, rate_headers(9), Json(json!({ "statusCode": status.as_u16(), "message": message, "name": name })))
        .into_response()
}

fn rate_headers(remaining: u32) -> [(&'static str, String); 3] {
    [
        ("ratelimit-limit", "10".to_owned()),
        ("ratelimit-remaining", remaining.to_string()),
        ("ratelimit-reset", "1".to_owned()),
    ]
}

async fn send_email(State(inner): State<Arc<Mutex<Inner>>>, headers: HeaderMap, body: Bytes) -> Response {
    let (mode, latency) = {
        let mut inner = inner.lock().unwrap();
        inner.requests += 1;
        (inner.mode, inner.latency)
    };
    match mode {
        Mode::Normal | Mode::AcceptThenHang => {}
        Mode::Reject => {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_error",
                "Invalid `to` field. The email address is not allowed.",
            )
        }
        Mode::Outage => {
            return error(StatusCode::INTERNAL_SERVER_ERROR, "internal_server_error", "Something went wrong")
        }
        Mode::Hang => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            return StatusCode::GATEWAY_TIMEOUT.into_response();
        }
        Mode::RateLimited => {
            let [limit, remaining, reset] = rate_headers(0);
            let body = json!({ "statusCode": 429, "message": "Too many requests", "name": "rate_limit_exceeded" });
            let headers = [limit, remaining, reset, ("retry-after", "1".to_owned())];
            return (StatusCode::TOO_MANY_REQUESTS, headers, Json(body)).into_response();
        }
    }
    if headers.get("user-agent").is_none() {
        return (StatusCode::FORBIDDEN, "error code: 1010").into_response();
    }
    let authorized =
        headers.get("authorization").and_then(|value| value.to_str().ok()) == Some(&format!("Bearer {API_KEY}"));
    if !authorized {
        return error(StatusCode::UNAUTHORIZED, "missing_api_key", "Missing API key in the authorization header.");
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "validation_error", "Invalid JSON body.");
    };
    let to = match &body["to"] {
        Value::Array(list) => list.first().and_then(Value::as_str).unwrap_or_default().to_owned(),
        Value::String(to) => to.clone(),
        _ => String::new(),
    };
    for field in ["from", "subject"] {
        if body[field].as_str().is_none_or(str::is_empty) {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "missing_required_field",
                &format!("Missing `{field}` field."),
            );
        }
    }
    if to.is_empty() {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "missing_required_field", "Missing `to` field.");
    }
    let key = headers.get("idempotency-key").and_then(|value| value.to_str().ok()).unwrap_or_default().to_owned();
    if key.is_empty() || key.len() > 256 {
        return error(StatusCode::BAD_REQUEST, "invalid_idempotency_key", "The key must be 1-256 characters long.");
    }
    let answer = accept(&inner, key, to, body);
    tokio::time::sleep(latency).await;
    if mode == Mode::AcceptThenHang {
        tokio::time::sleep(Duration::from_secs(30)).await;
    }
    answer
}

/// Records the email unless its key was seen; the answer Resend gives either way.
fn accept(inner: &Mutex<Inner>, key: String, to: String, body: Value) -> Response {
    let mut inner = inner.lock().unwrap();
    if let Some((first_body, id)) = inner.keys.get(&key) {
        if *first_body != body {
            return error(
                StatusCode::CONFLICT,
                "invalid_idempotent_request",
                "Same idempotency key used with a different request payload.",
            );
        }
        return (StatusCode::OK, rate_headers(9), Json(json!({ "id": id }))).into_response();
    }
    let id = format!("00000000-0000-4000-8000-{:012}", inner.accepted.len() + 1);
    inner.keys.insert(key.clone(), (body.clone(), id.clone()));
    let subject = body["subject"].as_str().unwrap_or_default().to_owned();
    inner.accepted.push(ReceivedEmail { id: id.clone(), idempotency_key: key, to, subject, body });
    (StatusCode::OK, rate_headers(9), Json(json!({ "id": id }))).into_response()
}
