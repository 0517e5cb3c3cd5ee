//! A fake Resend: `POST /emails` with bearer auth, a required `User-Agent`, idempotency
//! keys (same key and body → the first answer; another body → 409), rate-limit headers,
//! 429 with `retry-after`, 422 rejections; `GET /domains`; and a revoked key (403
//! `invalid_api_key` when sending, 400 `validation_error` elsewhere, as Resend documents).

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::{begin_request, Fake, Mode, Received, Shared};

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

impl Received for ReceivedEmail {
    fn recipient(&self) -> &str {
        &self.to
    }
}

/// Idempotency key → (the first request body, the id answered).
type Keys = HashMap<String, (Value, String)>;

/// A running fake Resend.
pub type FakeResend = Fake<ReceivedEmail, Keys>;

impl FakeResend {
    /// Starts a fake on a free port.
    pub async fn start() -> Self {
        Self::start_with(|ledger| {
            Router::new().route("/emails", post(send_email)).route("/domains", get(list_domains)).with_state(ledger)
        })
        .await
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

async fn send_email(State(ledger): State<Shared<ReceivedEmail, Keys>>, headers: HeaderMap, body: Bytes) -> Response {
    let (mode, latency) = begin_request(&ledger);
    match mode {
        Mode::Normal | Mode::AcceptThenHang => {}
        Mode::Reject => {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_error",
                "Invalid `to` field. The email address is not allowed.",
            )
        }
        Mode::KeyRevoked => return error(StatusCode::FORBIDDEN, "invalid_api_key", "API key is invalid"),
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
    let answer = accept(&ledger, key, to, body);
    tokio::time::sleep(latency).await;
    if mode == Mode::AcceptThenHang {
        tokio::time::sleep(Duration::from_secs(30)).await;
    }
    answer
}

/// `GET /domains`: the account's sending domain; a revoked key is a `validation_error`.
async fn list_domains(State(ledger): State<Shared<ReceivedEmail, Keys>>, headers: HeaderMap) -> Response {
    let (mode, _) = begin_request(&ledger);
    let authorized =
        headers.get("authorization").and_then(|value| value.to_str().ok()) == Some(&format!("Bearer {API_KEY}"));
    if mode == Mode::KeyRevoked || !authorized {
        return error(StatusCode::BAD_REQUEST, "validation_error", "API key is invalid");
    }
    let domain = json!({"id": "d91cd9bd-1176-453e-8fc1-35364d380206", "name": "academy.example.com",
        "status": "verified", "created_at": "2026-01-10 12:00:00.000000+00", "region": "eu-west-1"});
    (StatusCode::OK, rate_headers(9), Json(json!({"object": "list", "has_more": false, "data": [domain]})))
        .into_response()
}

/// Records the email unless its key was seen; the answer Resend gives either way.
fn accept(ledger: &Shared<ReceivedEmail, Keys>, key: String, to: String, body: Value) -> Response {
    let mut ledger = ledger.lock().unwrap();
    if let Some((first_body, id)) = ledger.extra.get(&key) {
        if *first_body != body {
            return error(
                StatusCode::CONFLICT,
                "invalid_idempotent_request",
                "Same idempotency key used with a different request payload.",
            );
        }
        return (StatusCode::OK, rate_headers(9), Json(json!({ "id": id }))).into_response();
    }
    let id = format!("00000000-0000-4000-8000-{:012}", ledger.accepted.len() + 1);
    ledger.extra.insert(key.clone(), (body.clone(), id.clone()));
    let subject = body["subject"].as_str().unwrap_or_default().to_owned();
    ledger.accepted.push(ReceivedEmail { id: id.clone(), idempotency_key: key, to, subject, body });
    (StatusCode::OK, rate_headers(9), Json(json!({ "id": id }))).into_response()
}
