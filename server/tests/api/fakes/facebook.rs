//! A fake Graph API (`docs/providers.md`, Facebook Graph API) under `/v25.0`: the token's Business Manager with
//! owned (two pages) and client ad accounts, the token's own accounts, daily ad-level
//! insights in three pages with string metrics, and on demand a throttling error (code
//! 80000, HTTP 400, with usage headers) or a "reduce the amount of data" error that the
//! client must answer with an asynchronous report run.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use serde_json::{json, Value};

/// The token the fake accepts.
pub const TOKEN: &str = "EAAtestSystemUserToken0001";
/// The Business Manager of the token.
pub const BUSINESS: &str = "1043217564331292";

/// One ad's figures for one day, as the fake serves them.
#[derive(Debug, Clone)]
pub struct AdDay {
    pub account_id: String,
    pub day: String,
    pub ad_id: String,
    pub campaign_name: String,
    pub spend: String,
    pub clicks: i64,
    pub currency: String,
}

#[derive(Default)]
struct GraphState {
    /// `http://127.0.0.1:<port>`: `next` links are absolute, as Facebook's are.
    origin: String,
    rows: Vec<AdDay>,
    /// Insights calls still to be answered with a throttling error.
    throttle_next: usize,
    /// Accounts whose synchronous insights are refused as too much data.
    too_much_data: HashSet<String>,
    /// Report run id → (rows, polls left before it completes).
    runs: HashMap<String, (Vec<AdDay>, usize)>,
    report_runs_started: usize,
    insight_calls: usize,
}

/// A running fake Graph API.
#[derive(Clone)]
pub struct FakeGraph {
    pub address: SocketAddr,
    state: Arc<Mutex<GraphState>>,
}

impl FakeGraph {
    /// Starts the fake on a free port with `rows` of insights.
    pub async fn start(rows: Vec<AdDay>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let origin = format!("http://{address}");
        let state = Arc::new(Mutex::new(GraphState { origin, rows, ..GraphState::default() }));
        let router = Router::new()
            .route("/v25.0/{node}", get(node))
            .route("/v25.0/{node}/{edge}", get(edge).post(start_report_run))
            .with_state(state.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Self { address, state }
    }

    /// The Graph URL with its version, as `FACEBOOK_GRAPH_URL`.
    pub fn graph_url(&self) -> String {
        format!("http://{}/v25.0", self.address)
    }

    /// Answers the next `calls` insights requests with code 80000.
    pub fn throttle_next(&self, calls: usize) {
        self.state.lock().unwrap().throttle_next = calls;
    }

    /// Refuses synchronous insights of `account_id` as too much data.
    pub fn refuse_sync_insights(&self, account_id: &str) {
        self.state.lock().unwrap().too_much_data.insert(account_id.to_owned());
    }

    /// Changes the spend Facebook reports for one ad and day (a revised figure).
    pub fn revise(&self, ad_id: &str, day: &str, spend: &str) {
        let mut state = self.state.lock().unwrap();
        for row in state.rows.iter_mut().filter(|row| row.ad_id == ad_id && row.day == day) {
            row.spend = spend.to_owned();
        }
    }

    /// (insights calls, report runs started).
    pub fn calls(&self) -> (usize, usize) {
        let state = self.state.lock().unwrap();
        (state.insight_calls, state.report_runs_started)
    }
}

fn graph_error(status: StatusCode, code: i64, subcode: Option<i64>, message: &str) -> Response {
    let body = json!({"error": {"message": message, "type": "OAuthException", "code": code,
        "error_subcode": subcode, "fbtrace_id": "AbCdEf123"}});
    (status, Json(body)).into_response()
}

/// Facebook's answer to a request without the right token, if it has not.
fn token_refusal(params: &HashMap<String, String>) -> Option<Response> {
    match params.get("access_token").map(String::as_str) {
        Some(TOKEN) => None,
        _ => Some(graph_error(StatusCode::BAD_REQUEST, 190, Some(463), "Error validating access token")),
    }
}

fn account(id: &str, name: &str, currency: &str, status: i64) -> Value {
    json!({"id": format!("act_{id}"), "account_id": id, "name": name, "currency": currency,
        "timezone_name": "Asia/Almaty", "timezone_offset_hours_utc": 5, "account_status": status})
}

/// A page of `items` with a `next` link when `after` is given.
fn page(items: Vec<Value>, next: Option<String>) -> Response {
    let mut paging = json!({"cursors": {"before": "MAZDZD", "after": "MjQZD"}});
    if let Some(next) = next {
        paging["next"] = Value::String(next);
    }
    Json(json!({"data": items, "paging": paging})).into_response()
}

/// `GET /v25.0/{report_run_id}`: the run's status.
async fn node(
    State(state): State<Arc<Mutex<GraphState>>>,
    Path(node): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = token_refusal(&params) {
        return refused;
    }
    let mut state = state.lock().unwrap();
    let Some((_, polls_left)) = state.runs.get_mut(&node) else {
        return graph_error(StatusCode::BAD_REQUEST, 100, Some(33), "Unsupported get request.");
    };
    let status = if *polls_left > 0 {
        *polls_left -= 1;
        "Job Running"
    } else {
        "Job Completed"
    };
    Json(json!({"id": node, "account_id": "1001", "async_status": status, "async_percent_completion": 100}))
        .into_response()
}

/// The edges: businesses, ad accounts, insights, a report run's insights.
async fn edge(
    State(state): State<Arc<Mutex<GraphState>>>,
    Path((node, edge)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = token_refusal(&params) {
        return refused;
    }
    let origin = state.lock().unwrap().origin.clone();
    let base = format!("{origin}/v25.0/{node}/{edge}?access_token={TOKEN}");
    let after = params.get("after").cloned();
    match (node.as_str(), edge.as_str()) {
        ("me", "businesses") => page(vec![json!({"id": BUSINESS, "name": "Демо Академия BM"})], None),
        (BUSINESS, "owned_ad_accounts") if after.is_none() => page(
            vec![account("1001", "Академия — основной", "KZT", 1), account("1002", "Академия — общий", "KZT", 1)],
            Some(format!("{base}&after=page2")),
        ),
        (BUSINESS, "owned_ad_accounts") => page(vec![account("1003", "Академия — USD", "USD", 1)], None),
        (BUSINESS, "client_ad_accounts") => page(vec![account("1004", "Агентство — клиент", "KZT", 1)], None),
        ("me", "adaccounts") => {
            page(vec![account("1001", "Академия — основной", "KZT", 1), account("1005", "Старый", "KZT", 2)], None)
        }
        (_, "insights") if node.starts_with("act_") => {
            let mut state = state.lock().unwrap();
            state.insight_calls += 1;
            if state.throttle_next > 0 {
                state.throttle_next -= 1;
                let usage = json!({node.trim_start_matches("act_"): [{"type": "ads_insights", "call_count": 100,
                    "total_cputime": 40, "total_time": 60, "estimated_time_to_regain_access": 1}]});
                let mut response = graph_error(
                    StatusCode::BAD_REQUEST,
                    80_000,
                    Some(2_446_079),
                    "(#80000) There have been too many calls from this ad-account. Wait a bit and try again.",
                );
                response.headers_mut().insert("x-business-use-case-usage", usage.to_string().parse().unwrap());
                return response;
            }
            if state.too_much_data.contains(&node) {
                return graph_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    1,
                    None,
                    "Please reduce the amount of data you're asking for, then retry your request",
                );
            }
            let rows = rows_in_range(&state.rows, &node, &params);
            drop(state);
            // Three pages: the cursor is the index of the first row of the next page.
            let size = rows.len().div_ceil(3).max(1);
            let start: usize = after.and_then(|after| after.parse().ok()).unwrap_or(0);
            let end = (start + size).min(rows.len());
            let next = (end < rows.len()).then(|| {
                let range = params.get("time_range").cloned().unwrap_or_default();
                format!("{base}&level=ad&time_increment=1&time_range={}&after={end}", url_encode(&range))
            });
            page(rows[start.min(end)..end].iter().map(insight).collect(), next)
        }
        (run, "insights") => {
            let state = state.lock().unwrap();
            match state.runs.get(run) {
                Some((rows, 0)) => page(rows.iter().map(insight).collect(), None),
                _ => graph_error(StatusCode::BAD_REQUEST, 100, None, "The report is not ready"),
            }
        }
        _ => graph_error(StatusCode::BAD_REQUEST, 100, Some(33), "Unsupported get request."),
    }
}

/// `POST /v25.0/act_{id}/insights`: starts an asynchronous report run.
async fn start_report_run(
    State(state): State<Arc<Mutex<GraphState>>>,
    Path((node, edge)): Path<(String, String)>,
    Form(params): Form<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = token_refusal(&params) {
        return refused;
    }
    if edge != "insights" {
        return graph_error(StatusCode::BAD_REQUEST, 100, None, "Unsupported post request.");
    }
    let mut state = state.lock().unwrap();
    state.report_runs_started += 1;
    let rows = rows_in_range(&state.rows, &node, &params);
    let run_id = format!("11280039779{:05}", state.report_runs_started);
    state.runs.insert(run_id.clone(), (rows, 2));
    Json(json!({"report_run_id": run_id})).into_response()
}

fn rows_in_range(rows: &[AdDay], account_id: &str, params: &HashMap<String, String>) -> Vec<AdDay> {
    let range: Value = params.get("time_range").and_then(|text| serde_json::from_str(text).ok()).unwrap_or_default();
    let (since, until) = (range["since"].as_str().unwrap_or(""), range["until"].as_str().unwrap_or("~"));
    rows.iter()
        .filter(|row| row.account_id == account_id && since <= row.day.as_str() && row.day.as_str() <= until)
        .cloned()
        .collect()
}

fn insight(row: &AdDay) -> Value {
    json!({"ad_id": row.ad_id, "ad_name": format!("Объявление {}", row.ad_id), "adset_id": "2386", "adset_name": "Алматы 25-45",
        "campaign_id": "2385", "campaign_name": row.campaign_name, "spend": row.spend,
        "impressions": (row.clicks * 60).to_string(), "clicks": row.clicks.to_string(),
        "account_currency": row.currency, "date_start": row.day, "date_stop": row.day})
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (byte as char).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}
