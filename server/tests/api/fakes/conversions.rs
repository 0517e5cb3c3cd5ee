//! A fake Conversions API (`docs/providers.md`, Conversions API) under `/v25.0`:
//! `POST /<pixel>/events?access_token=…` checks each event as Meta does — `event_time` in
//! seconds and within 7 days (an older one fails the whole request with code 100),
//! `event_id`, a known `action_source` (website events need the user agent and page),
//! `em`/`ph` as 64 lower-case hex characters, `fbc` as `fb.1.<ms>.<fbclid>` — and counts an
//! `event_name` + `event_id` pair once, as Meta's de-duplication does. `GET /<pixel>` reads
//! the dataset (the probe). A wrong token gets code 190; `Mode::Outage` answers 500 with
//! Meta's code 2, `Mode::KeyRevoked` code 190 for every token, `Mode::AcceptThenHang`
//! counts the events and answers after the client has given up.

use std::collections::HashSet;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::{begin_request, Fake, Mode, Received, Shared};

/// The dataset (pixel) the fake serves.
pub const PIXEL: &str = "1234567890123456";
/// The Conversions API token the fake accepts.
pub const TOKEN: &str = "EAAcapiTestToken0001";

/// An event Meta counted (its first copy).
#[derive(Debug, Clone)]
pub struct ReceivedEvent {
    pub event_id: String,
    pub event: Value,
    /// The request's `test_event_code`.
    pub test_event_code: Option<String>,
}

impl Received for ReceivedEvent {
    fn recipient(&self) -> &str {
        &self.event_id
    }
}

/// What the fake remembers besides the events: pairs seen, requests refused with why.
#[derive(Default)]
pub struct Dataset {
    seen: HashSet<(String, String)>,
    refused: Vec<String>,
}

/// A running fake Conversions API.
pub type FakeConversions = Fake<ReceivedEvent, Dataset>;

impl FakeConversions {
    /// Starts a fake on a free port.
    pub async fn start() -> Self {
        Self::start_with(|ledger| {
            Router::new()
                .route("/v25.0/{pixel}", get(read_dataset))
                .route("/v25.0/{pixel}/events", post(receive_events))
                .with_state(ledger)
        })
        .await
    }

    /// The Graph URL with its version, as `FACEBOOK_GRAPH_URL`.
    pub fn graph_url(&self) -> String {
        format!("{}/v25.0", self.url())
    }

    /// Why each refused request was refused.
    pub fn refusals(&self) -> Vec<String> {
        self.ledger.lock().unwrap().extra.refused.clone()
    }
}

type Ledger = Shared<ReceivedEvent, Dataset>;

fn graph_error(status: StatusCode, code: i64, subcode: Option<i64>, message: &str) -> Response {
    let body = json!({"error": {"message": message, "type": "OAuthException", "code": code,
        "error_subcode": subcode, "fbtrace_id": "AcapiTrace01"}});
    (status, Json(body)).into_response()
}

fn token_error() -> Response {
    graph_error(StatusCode::BAD_REQUEST, 190, Some(463), "Error validating access token: Session has expired")
}

/// What Meta answers before looking at the request, if anything; else the fake's mode.
async fn refusal(ledger: &Ledger, pixel: &str, token: Option<&String>) -> Result<Mode, Response> {
    let (mode, latency) = begin_request(ledger);
    tokio::time::sleep(latency).await;
    Err(match mode {
        Mode::Outage => graph_error(StatusCode::INTERNAL_SERVER_ERROR, 2, None, "An unexpected error has occurred."),
        Mode::Hang => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        Mode::KeyRevoked => token_error(),
        _ if token.map(String::as_str) != Some(TOKEN) => token_error(),
        _ if pixel != PIXEL => graph_error(
            StatusCode::BAD_REQUEST,
            100,
            Some(33),
            "Unsupported post request. Object does not exist or cannot be loaded",
        ),
        _ => return Ok(mode),
    })
}

async fn read_dataset(
    State(ledger): State<Ledger>,
    Path(pixel): Path<String>,
    Query(params): Query<std::collections::HashMap<String, String>>,
) -> Response {
    match refusal(&ledger, &pixel, params.get("access_token")).await {
        Ok(_) => Json(json!({ "id": pixel })).into_response(),
        Err(refused) => refused,
    }
}

async fn receive_events(
    State(ledger): State<Ledger>,
    Path(pixel): Path<String>,
    Query(params): Query<std::collections::HashMap<String, String>>,
    body: axum::body::Bytes,
) -> Response {
    let mode = match refusal(&ledger, &pixel, params.get("access_token")).await {
        Ok(mode) => mode,
        Err(refused) => return refused,
    };
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let events = body["data"].as_array().cloned().unwrap_or_default();
    let invalid = |why: String| {
        ledger.lock().unwrap().extra.refused.push(why.clone());
        let body = json!({"error": {"message": "Invalid parameter", "type": "OAuthException", "code": 100,
            "error_subcode": 2_804_003, "error_user_msg": why, "fbtrace_id": "AcapiTrace02"}});
        (StatusCode::BAD_REQUEST, Json(body)).into_response()
    };
    if events.is_empty() {
        return invalid("data: no events".to_owned());
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    for event in &events {
        if let Err(why) = check_event(event, now) {
            // One bad event fails the request: none of its events is processed.
            return invalid(why);
        }
    }
    let test_event_code = body["test_event_code"].as_str().map(str::to_owned);
    {
        let mut ledger = ledger.lock().unwrap();
        for event in events {
            let pair =
                (event["event_name"].as_str().unwrap().to_owned(), event["event_id"].as_str().unwrap().to_owned());
            if ledger.extra.seen.insert(pair.clone()) {
                ledger.accepted.push(ReceivedEvent {
                    event_id: pair.1,
                    event,
                    test_event_code: test_event_code.clone(),
                });
            }
        }
    }
    if mode == Mode::AcceptThenHang {
        // Received, but the answer comes after the client has given up.
        tokio::time::sleep(Duration::from_secs(30)).await;
    }
    let received = body["data"].as_array().map_or(0, Vec::len);
    Json(json!({ "events_received": received, "messages": [], "fbtrace_id": "AcapiTrace03" })).into_response()
}

const ACTION_SOURCES: [&str; 9] = [
    "website",
    "email",
    "app",
    "phone_call",
    "chat",
    "physical_store",
    "system_generated",
    "business_messaging",
    "other",
];

/// Meta's checks of one event.
fn check_event(event: &Value, now: i64) -> Result<(), String> {
    let name = event["event_name"].as_str().filter(|name| !name.is_empty()).ok_or("event_name missing")?;
    let time = event["event_time"].as_i64().ok_or("event_time is not an integer")?;
    if time > now + 60 {
        return Err(format!("event_time {time} is in the future (milliseconds?)"));
    }
    if time < now - 7 * 24 * 3600 {
        return Err(format!("event_time {time} is more than 7 days in the past"));
    }
    event["event_id"].as_str().filter(|id| !id.is_empty()).ok_or("event_id missing")?;
    let source = event["action_source"].as_str().ok_or("action_source missing")?;
    if !ACTION_SOURCES.contains(&source) {
        return Err(format!("action_source {source} unknown"));
    }
    let user = &event["user_data"];
    if source == "website"
        && (user["client_user_agent"].as_str().is_none() || event["event_source_url"].as_str().is_none())
    {
        return Err("website events need client_user_agent and event_source_url".to_owned());
    }
    for key in ["em", "ph"] {
        for hash in user[key].as_array().into_iter().flatten() {
            let hash = hash.as_str().unwrap_or_default();
            if hash.len() != 64 || !hash.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)) {
                return Err(format!("user_data.{key} is not a lower-case SHA-256 hex: {hash}"));
            }
        }
    }
    if let Some(fbc) = user.get("fbc") {
        let parts: Vec<&str> = fbc.as_str().unwrap_or_default().splitn(4, '.').collect();
        let valid = parts.len() == 4
            && parts[0] == "fb"
            && parts[1] == "1"
            && parts[2].len() == 13
            && parts[2].chars().all(|c| c.is_ascii_digit())
            && !parts[3].is_empty();
        if !valid {
            return Err(format!("user_data.fbc malformed: {fbc}"));
        }
    }
    let matchable = ["em", "ph", "fbc", "client_ip_address"].iter().any(|key| !user[*key].is_null());
    if !matchable {
        return Err("user_data has no customer information".to_owned());
    }
    if name == "Purchase"
        && (event["custom_data"]["currency"].as_str().is_none() || event["custom_data"]["value"].is_null())
    {
        return Err("Purchase needs custom_data.currency and value".to_owned());
    }
    Ok(())
}
