//! A fake AmoCRM API v4 (`docs/providers.md`, AmoCRM): the account (`GET /api/v4/account`),
//! contacts searched by `query` (204 when none), deals by id (204 when unknown) and listed
//! by update or creation time, `leads/complex` and `leads` creates, `PATCH leads/{id}`,
//! Bearer auth (401 problem+json), problem+json validation errors, 429 with an HTML body
//! above 7 requests a second, and on demand: a create that is stored but answered too late,
//! a slow create that is stored only when it is answered, a blocked account that answers
//! 403 to everything; OAuth 2.0 (`POST /oauth2/access_token`) with single-use refresh tokens.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use serde_json::{json, Value};

/// The long-lived token the fake accepts.
pub const TOKEN: &str = "amo-long-lived-token-0001";
/// The OAuth integration's credentials.
pub const CLIENT_ID: &str = "d4da77ad-ae8f-48c3-a0b9-8ebab9f6950b";
pub const CLIENT_SECRET: &str = "amo-client-secret";
pub const REDIRECT_URI: &str = "https://leads.example.com/amocrm/oauth";

/// A deal in the fake.
#[derive(Debug, Clone)]
pub struct FakeDeal {
    pub id: i64,
    pub name: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
    /// Unix seconds; set when the deal is won or lost.
    pub closed_at: Option<i64>,
    pub contact_id: i64,
    pub pipeline_id: i64,
    pub status_id: i64,
    pub price: i64,
    pub fields: Value,
}

#[derive(Debug, Clone)]
struct FakeContact {
    id: i64,
    phone: String,
    email: String,
    /// When it was stored: the `query` search shows it only after the search lag.
    stored: Instant,
}

#[derive(Default)]
struct CrmState {
    contacts: Vec<FakeContact>,
    deals: Vec<FakeDeal>,
    next_id: i64,
    /// Request times of the last second, for the rate limit.
    recent: Vec<Instant>,
    throttled: usize,
    /// Creates still to be stored and then answered after the client's timeout.
    hang_next_creates: usize,
    /// How long a create takes to be processed: stored, and answered, only after it.
    create_takes: Duration,
    /// The long-lived token it accepts (another one was revoked).
    long_lived_token: Option<String>,
    /// The account or our address is blocked: every API call answers 403.
    blocked: bool,
    /// Requests refused with 401 or 403.
    refused: usize,
    /// How long a new contact stays out of `query` searches (AmoCRM's search index lags).
    search_lag: Duration,
    /// OAuth: access tokens that work, the one refresh token that does, and counts.
    access_tokens: Vec<String>,
    refresh_token: Option<String>,
    refreshes: usize,
    refused_refreshes: usize,
}

/// A running fake AmoCRM.
#[derive(Clone)]
pub struct FakeAmoCrm {
    pub address: SocketAddr,
    state: Arc<Mutex<CrmState>>,
}

impl FakeAmoCrm {
    /// Starts the fake on a free port.
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(CrmState {
            next_id: 30_000_000,
            long_lived_token: Some(TOKEN.to_owned()),
            ..CrmState::default()
        }));
        let router = Router::new()
            .route("/oauth2/access_token", post(exchange_token))
            .route("/api/v4/account", get(account))
            .route("/api/v4/contacts", get(search_contacts))
            .route("/api/v4/leads/complex", post(create_complex))
            .route("/api/v4/leads", post(create_leads).get(list_deals))
            .route("/api/v4/leads/{id}", get(one_deal))
            .route("/api/v4/leads/{id}", patch(move_deal))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Self { address, state }
    }

    /// `http://127.0.0.1:<port>`, as `AMOCRM_BASE_URL`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Stores the next create but answers it only after the client gave up.
    pub fn hang_next_create(&self) {
        self.state.lock().unwrap().hang_next_creates = 1;
    }

    /// Makes every create take `duration` before it is stored and answered.
    pub fn slow_creates(&self, duration: Duration) {
        self.state.lock().unwrap().create_takes = duration;
    }

    /// Keeps new contacts out of `query` searches for `lag`, as AmoCRM's search index does.
    pub fn lag_search(&self, lag: Duration) {
        self.state.lock().unwrap().search_lag = lag;
    }

    /// Blocks (403 to everything) or unblocks the account.
    pub fn set_blocked(&self, blocked: bool) {
        self.state.lock().unwrap().blocked = blocked;
    }

    /// Makes `token` the one long-lived token that works (the old one is revoked).
    pub fn set_long_lived_token(&self, token: &str) {
        self.state.lock().unwrap().long_lived_token = Some(token.to_owned());
    }

    /// How many requests were refused with 401 or 403.
    pub fn refused(&self) -> usize {
        self.state.lock().unwrap().refused
    }

    /// Adds a deal updated at `updated_at` (unix seconds) with a new contact.
    pub fn seed(&self, deal_id: i64, status_id: i64, updated_at: i64, phone: &str, email: &str) {
        let mut state = self.state.lock().unwrap();
        let contact_id = deal_id + 1_000_000_000;
        let stored = Instant::now() - Duration::from_secs(3_600);
        state.contacts.push(FakeContact { id: contact_id, phone: phone.to_owned(), email: email.to_owned(), stored });
        state.deals.push(FakeDeal {
            id: deal_id,
            name: format!("Сделка {deal_id}"),
            created_at: updated_at,
            updated_at,
            closed_at: [142, 143].contains(&status_id).then_some(updated_at),
            contact_id,
            pipeline_id: 10_350_882,
            status_id,
            price: 0,
            fields: Value::Null,
        });
    }

    /// Sets a deal's stage as a manager would at `at` (unix seconds): won or lost closes it.
    pub fn set_status(&self, deal_id: i64, status_id: i64, at: i64) {
        let mut state = self.state.lock().unwrap();
        if let Some(deal) = state.deals.iter_mut().find(|deal| deal.id == deal_id) {
            deal.status_id = status_id;
            deal.updated_at = at;
            deal.closed_at = [142, 143].contains(&status_id).then_some(at);
        }
    }

    /// Replaces a deal's custom field values (the API's read format).
    pub fn set_fields(&self, deal_id: i64, fields: Value) {
        let mut state = self.state.lock().unwrap();
        if let Some(deal) = state.deals.iter_mut().find(|deal| deal.id == deal_id) {
            deal.fields = fields;
        }
    }

    /// `(contacts, deals)`.
    pub fn counts(&self) -> (usize, usize) {
        let state = self.state.lock().unwrap();
        (state.contacts.len(), state.deals.len())
    }

    /// Every deal.
    pub fn deals(&self) -> Vec<FakeDeal> {
        self.state.lock().unwrap().deals.clone()
    }

    /// Makes `token` the one valid refresh token.
    pub fn set_refresh_token(&self, token: &str) {
        self.state.lock().unwrap().refresh_token = Some(token.to_owned());
    }

    /// Expires every access token issued so far.
    pub fn expire_access_tokens(&self) {
        self.state.lock().unwrap().access_tokens.clear();
    }

    /// `(the valid refresh token, refreshes granted, refreshes refused)`.
    pub fn oauth(&self) -> (Option<String>, usize, usize) {
        let state = self.state.lock().unwrap();
        (state.refresh_token.clone(), state.refreshes, state.refused_refreshes)
    }

    /// How many requests were answered 429.
    pub fn throttled(&self) -> usize {
        self.state.lock().unwrap().throttled
    }
}

fn problem(status: StatusCode, detail: &str) -> Response {
    let body = json!({"title": status.canonical_reason(), "type": format!("https://httpstatus.es/{}", status.as_u16()),
        "status": status.as_u16(), "detail": detail});
    (status, [("content-type", "application/problem+json")], body.to_string()).into_response()
}

/// Auth and the rate limit; `Some(answer)` when the request is refused.
fn admit(state: &Arc<Mutex<CrmState>>, headers: &HeaderMap) -> Option<Response> {
    let mut state = state.lock().unwrap();
    if state.blocked {
        state.refused += 1;
        return Some(problem(StatusCode::FORBIDDEN, "Access denied"));
    }
    let bearer = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    let valid = bearer.is_some_and(|token| {
        state.long_lived_token.as_deref() == Some(token) || state.access_tokens.iter().any(|issued| issued == token)
    });
    if !valid {
        state.refused += 1;
        return Some(problem(StatusCode::UNAUTHORIZED, "Unauthorized"));
    }
    let now = Instant::now();
    state.recent.retain(|at| now.duration_since(*at) < Duration::from_secs(1));
    if state.recent.len() >= 7 {
        state.throttled += 1;
        return Some((StatusCode::TOO_MANY_REQUESTS, "<html><body>Too many requests</body></html>").into_response());
    }
    state.recent.push(now);
    None
}

/// `POST /oauth2/access_token` with `grant_type=refresh_token`: a new pair for the one
/// valid refresh token, which is then spent.
async fn exchange_token(State(state): State<Arc<Mutex<CrmState>>>, Json(body): Json<Value>) -> Response {
    let mut state = state.lock().unwrap();
    let valid = body["client_id"] == CLIENT_ID
        && body["client_secret"] == CLIENT_SECRET
        && body["redirect_uri"] == REDIRECT_URI
        && body["grant_type"] == "refresh_token"
        && state.refresh_token.is_some()
        && body["refresh_token"].as_str() == state.refresh_token.as_deref();
    if !valid {
        state.refused_refreshes += 1;
        let answer = json!({"title": "Bad Request", "type": "https://httpstatus.es/400", "status": 400,
            "detail": "Refresh token has been revoked", "hint": "Token has been revoked"});
        return (StatusCode::BAD_REQUEST, [("content-type", "application/problem+json")], answer.to_string())
            .into_response();
    }
    state.refreshes += 1;
    let access = format!("access-{}", state.refreshes);
    let refresh = format!("refresh-{}", state.refreshes);
    state.access_tokens.push(access.clone());
    state.refresh_token = Some(refresh.clone());
    Json(json!({"token_type": "Bearer", "expires_in": 86_400, "server_time": 1_717_401_600,
        "access_token": access, "refresh_token": refresh}))
    .into_response()
}

/// `GET /api/v4/account`: the account the token belongs to.
async fn account(State(state): State<Arc<Mutex<CrmState>>>, headers: HeaderMap) -> Response {
    if let Some(refused) = admit(&state, &headers) {
        return refused;
    }
    Json(json!({"id": 30_739_638, "name": "Academy KZ", "subdomain": "academy", "country": "KZ",
        "currency": "KZT", "currency_symbol": "₸", "_links": {"self": {"href": "https://academy.amocrm.ru/api/v4/account"}}}))
    .into_response()
}

fn digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

/// The query string's pairs, repeated keys kept (`filter[id][]=1&filter[id][]=2`).
fn pairs(query: Option<String>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned().collect()
}

async fn search_contacts(
    State(state): State<Arc<Mutex<CrmState>>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if let Some(refused) = admit(&state, &headers) {
        return refused;
    }
    let pairs = pairs(query);
    let ids: Vec<i64> =
        pairs.iter().filter(|(key, _)| key == "filter[id][]").filter_map(|(_, value)| value.parse().ok()).collect();
    let query = pairs.iter().find(|(key, _)| key == "query").map(|(_, value)| value.to_lowercase()).unwrap_or_default();
    let state = state.lock().unwrap();
    let indexed = |contact: &FakeContact| contact.stored.elapsed() >= state.search_lag;
    let found: Vec<Value> = state
        .contacts
        .iter()
        .filter(|contact| {
            ids.contains(&contact.id)
                || (indexed(contact)
                    && ((!digits(&query).is_empty()
                        && digits(&contact.phone).contains(&digits(&query))
                        && !query.contains('@'))
                        || (!query.is_empty() && contact.email == query)))
        })
        .map(|contact| {
            let deals: Vec<Value> = state
                .deals
                .iter()
                .filter(|deal| deal.contact_id == contact.id)
                .map(|deal| json!({"id": deal.id}))
                .collect();
            json!({"id": contact.id, "name": "Контакт", "custom_fields_values": [
                {"field_id": 54667, "field_code": "PHONE", "field_type": "multitext", "values": [{"value": contact.phone, "enum_code": "WORK"}]},
                {"field_id": 54669, "field_code": "EMAIL", "field_type": "multitext", "values": [{"value": contact.email, "enum_code": "WORK"}]}],
                "_embedded": {"leads": deals}})
        })
        .collect();
    if found.is_empty() {
        return StatusCode::NO_CONTENT.into_response();
    }
    Json(json!({"_page": 1, "_links": {}, "_embedded": {"contacts": found}})).into_response()
}

/// `GET /api/v4/leads`: a pipeline's deals updated since a time, newest first, 250 a page.
async fn list_deals(
    State(state): State<Arc<Mutex<CrmState>>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if let Some(refused) = admit(&state, &headers) {
        return refused;
    }
    let pairs = pairs(query);
    let get = |name: &str| pairs.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone());
    let pipeline: Option<i64> = get("filter[pipeline_id][]").and_then(|value| value.parse().ok());
    let updated_from: i64 = get("filter[updated_at][from]").and_then(|value| value.parse().ok()).unwrap_or(0);
    let created_from: i64 = get("filter[created_at][from]").and_then(|value| value.parse().ok()).unwrap_or(0);
    let limit: usize = get("limit").and_then(|value| value.parse().ok()).unwrap_or(50).min(250);
    let page: usize = get("page").and_then(|value| value.parse().ok()).unwrap_or(1).max(1);
    let by_creation = get("order[created_at]").is_some();
    let state = state.lock().unwrap();
    let mut deals: Vec<&FakeDeal> = state
        .deals
        .iter()
        .filter(|deal| pipeline.is_none_or(|pipeline| deal.pipeline_id == pipeline))
        .filter(|deal| deal.updated_at >= updated_from && deal.created_at >= created_from)
        .collect();
    deals.sort_by_key(|deal| std::cmp::Reverse(if by_creation { deal.created_at } else { deal.updated_at }));
    let start = (page - 1) * limit;
    if start >= deals.len() {
        return StatusCode::NO_CONTENT.into_response();
    }
    let end = (start + limit).min(deals.len());
    let items: Vec<Value> = deals[start..end]
        .iter()
        .map(|deal| {
            json!({"id": deal.id, "name": deal.name, "price": deal.price, "pipeline_id": deal.pipeline_id,
            "status_id": deal.status_id, "created_at": deal.created_at, "updated_at": deal.updated_at,
            "closed_at": deal.closed_at, "custom_fields_values": deal.fields,
            "_embedded": {"contacts": [{"id": deal.contact_id, "is_main": true}]}})
        })
        .collect();
    let mut links = json!({"self": {"href": format!("/api/v4/leads?page={page}")}});
    if end < deals.len() {
        links["next"] = json!({"href": format!("/api/v4/leads?page={}", page + 1)});
    }
    Json(json!({"_page": page, "_links": links, "_embedded": {"leads": items}})).into_response()
}

async fn one_deal(State(state): State<Arc<Mutex<CrmState>>>, headers: HeaderMap, Path(id): Path<i64>) -> Response {
    if let Some(refused) = admit(&state, &headers) {
        return refused;
    }
    let state = state.lock().unwrap();
    match state.deals.iter().find(|deal| deal.id == id) {
        Some(deal) => Json(json!({"id": deal.id, "name": deal.name, "price": deal.price,
            "pipeline_id": deal.pipeline_id, "status_id": deal.status_id, "created_at": deal.created_at,
            "updated_at": deal.updated_at, "closed_at": deal.closed_at, "custom_fields_values": deal.fields}))
        .into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

/// AmoCRM's answer to a deal without a pipeline or stage.
fn validation_error() -> Response {
    let body = json!({"validation-errors": [{"request_id": "0", "errors": [{"code": "NotSupportedChoice",
        "path": "pipeline_id", "detail": "This value should not be blank."}]}],
        "title": "Bad Request", "type": "https://httpstatus.es/400", "status": 400, "detail": "Request validation failed"});
    (StatusCode::BAD_REQUEST, [("content-type", "application/problem+json")], body.to_string()).into_response()
}

/// Stores a deal (`None` when it lacks a pipeline or stage), after the create's processing
/// time; waits past the client's timeout when told to.
async fn store_deal(
    state: &Arc<Mutex<CrmState>>,
    contact: Option<FakeContact>,
    contact_id: i64,
    deal: &Value,
) -> Option<i64> {
    let (pipeline_id, status_id) = (deal["pipeline_id"].as_i64()?, deal["status_id"].as_i64()?);
    let (state, deal) = (state.clone(), deal.clone());
    // AmoCRM finishes a create it started even when the client goes away meanwhile.
    let processing = tokio::spawn(async move {
        let takes = state.lock().unwrap().create_takes;
        tokio::time::sleep(takes).await;
        let mut state = state.lock().unwrap();
        if let Some(mut contact) = contact {
            contact.stored = Instant::now();
            state.contacts.push(contact);
        }
        state.next_id += 1;
        let id = state.next_id;
        let now = app::time::now_ms() / 1_000;
        state.deals.push(FakeDeal {
            id,
            name: deal["name"].as_str().unwrap_or_default().to_owned(),
            created_at: now,
            updated_at: now,
            closed_at: None,
            contact_id,
            pipeline_id,
            status_id,
            price: deal["price"].as_i64().unwrap_or_default(),
            fields: deal["custom_fields_values"].clone(),
        });
        let hang = state.hang_next_creates > 0;
        state.hang_next_creates = state.hang_next_creates.saturating_sub(1);
        (id, hang)
    });
    let (id, hang) = processing.await.ok()?;
    if hang {
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    Some(id)
}

async fn create_complex(
    State(state): State<Arc<Mutex<CrmState>>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(refused) = admit(&state, &headers) {
        return refused;
    }
    let deal = &body[0];
    let contact = &deal["_embedded"]["contacts"][0];
    let value_of = |code: &str| {
        contact["custom_fields_values"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|field| field["field_code"] == code)
            .and_then(|field| field["values"][0]["value"].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let contact_id = {
        let mut state = state.lock().unwrap();
        state.next_id += 1;
        state.next_id
    };
    // The contact exists (and can be found) only once the create has been processed.
    let new_contact = FakeContact {
        id: contact_id,
        phone: value_of("PHONE"),
        email: value_of("EMAIL").to_lowercase(),
        stored: Instant::now(),
    };
    match store_deal(&state, Some(new_contact), contact_id, deal).await {
        Some(id) => Json(
            json!([{"id": id, "contact_id": contact_id, "company_id": null, "request_id": ["0"], "merged": false}]),
        )
        .into_response(),
        None => validation_error(),
    }
}

async fn create_leads(
    State(state): State<Arc<Mutex<CrmState>>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(refused) = admit(&state, &headers) {
        return refused;
    }
    let deal = &body[0];
    let Some(contact_id) = deal["_embedded"]["contacts"][0]["id"].as_i64() else {
        return problem(StatusCode::BAD_REQUEST, "a contact id is required");
    };
    match store_deal(&state, None, contact_id, deal).await {
        Some(id) => {
            Json(json!({"_links": {}, "_embedded": {"leads": [{"id": id, "request_id": "0"}]}})).into_response()
        }
        None => validation_error(),
    }
}

async fn move_deal(
    State(state): State<Arc<Mutex<CrmState>>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Json(body): Json<Value>,
) -> Response {
    if let Some(refused) = admit(&state, &headers) {
        return refused;
    }
    let mut state = state.lock().unwrap();
    let Some(deal) = state.deals.iter_mut().find(|deal| deal.id == id) else {
        return problem(StatusCode::NOT_FOUND, "Lead not found");
    };
    if let Some(status) = body["status_id"].as_i64() {
        deal.status_id = status;
        deal.updated_at = app::time::now_ms() / 1_000;
    }
    Json(json!({"id": id, "updated_at": deal.updated_at})).into_response()
}
