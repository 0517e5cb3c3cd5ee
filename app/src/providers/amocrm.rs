//! The AmoCRM API v4 client (`docs/providers.md`, AmoCRM): contacts by phone or email, deals, the
//! complex create of a deal with its contact, and moving a deal to another stage.
//!
//! AmoCRM answers "nothing found" with 204 and no body, errors as
//! `application/problem+json` (whose `detail` and validation errors we pass on), and
//! 429 — sometimes with an HTML body — above 7 requests a second per integration, so the
//! client paces itself under `AMOCRM_MAX_RPS`.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::{http_client, SendError};
use crate::config::CrmConfig;
use crate::db::{Db, Engine};
use crate::domain::integration::{Integration, Refusal};

/// How long a health check of AmoCRM may take (the probe of a paused integration).
const HEALTH_TIMEOUT: Duration = Duration::from_secs(20);

/// A contact as the search returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrmContact {
    pub id: i64,
    /// Every phone's digits.
    pub phones: Vec<String>,
    /// Every email, lower-cased.
    pub emails: Vec<String>,
    /// The contact's deals.
    pub deal_ids: Vec<i64>,
}

/// A deal's place in the funnel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct CrmDeal {
    pub id: i64,
    pub pipeline_id: i64,
    pub status_id: i64,
    /// When AmoCRM last changed it, unix seconds.
    #[serde(default)]
    pub updated_at: Option<i64>,
    /// When it was won or lost, unix seconds; absent while it is open.
    #[serde(default)]
    pub closed_at: Option<i64>,
    /// Whole tenge.
    #[serde(default)]
    pub price: Option<i64>,
}

/// A deal as a list returns it, with its name, custom fields and contacts' ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedDeal {
    pub deal: CrmDeal,
    pub name: String,
    /// Custom field id → its first value.
    pub fields: BTreeMap<i64, String>,
    pub contact_ids: Vec<i64>,
}

/// Which time of a deal a list filters on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DealTime {
    /// When it last changed (`filter[updated_at]`).
    Updated,
    /// When it was created (`filter[created_at]`).
    Created,
}

impl DealTime {
    fn field(self) -> &'static str {
        match self {
            Self::Updated => "updated_at",
            Self::Created => "created_at",
        }
    }
}

/// A new deal (and, without `contact_id`, its new contact).
#[derive(Debug, Clone)]
pub struct DealDraft {
    pub name: String,
    pub pipeline_id: i64,
    pub status_id: i64,
    pub price: i64,
    /// `(field id, value)` of the deal's custom fields (UTM tags, fbclid).
    pub fields: Vec<(i64, String)>,
    pub contact_id: Option<i64>,
    pub contact_name: String,
    pub phone: String,
    pub email: String,
}

/// How the client signs in.
#[derive(Debug)]
pub enum CrmAuth {
    /// A long-lived token of a private integration.
    LongLived(SecretString),
    /// OAuth 2.0: an access token refreshed with single-use refresh tokens kept in the database.
    OAuth(OAuth),
}

/// The OAuth 2.0 side: the integration's credentials and the current access token.
#[derive(Debug)]
pub struct OAuth {
    pub db: Db,
    pub client_id: String,
    pub client_secret: SecretString,
    pub redirect_uri: String,
    /// Used only while the database holds no pair yet (`AMOCRM_REFRESH_TOKEN`).
    pub first_refresh_token: Option<SecretString>,
    /// The access token in use and when it expires (UTC ms); refreshes happen under it.
    pub current: Mutex<Option<(String, i64)>>,
}

/// The client; one per process, shared by the job runner.
#[derive(Debug)]
pub struct AmoCrmClient {
    http: reqwest::Client,
    base: String,
    auth: CrmAuth,
    /// The earliest moment the next request may start.
    next_slot: Mutex<Instant>,
    interval: Duration,
}

impl AmoCrmClient {
    /// A client for `base_url` signing in with `auth`.
    pub fn new(config: &CrmConfig, base_url: &str, auth: CrmAuth) -> Self {
        Self {
            http: http_client(config.timeout),
            base: base_url.trim_end_matches('/').to_owned(),
            auth,
            next_slot: Mutex::new(Instant::now()),
            interval: Duration::from_secs(1) / config.max_rps.max(1),
        }
    }

    /// Contacts whose fields contain `query` (phone digits or an email); none → empty.
    pub async fn find_contacts(&self, query: &str) -> Result<Vec<CrmContact>, SendError> {
        let path = format!("/api/v4/contacts?with=leads&limit=50&query={}", crate::format::url_encode(query));
        let Some(answer) = self.call(Method::GET, &path, None).await? else { return Ok(Vec::new()) };
        let contacts = answer["_embedded"]["contacts"].as_array().cloned().unwrap_or_default();
        Ok(contacts.iter().filter_map(contact_of).collect())
    }

    /// A deal by id; `None` when AmoCRM has none (204).
    pub async fn deal(&self, deal_id: i64) -> Result<Option<CrmDeal>, SendError> {
        let answer = self.call(Method::GET, &format!("/api/v4/leads/{deal_id}"), None).await?;
        Ok(answer.and_then(|answer| serde_json::from_value(answer).ok()))
    }

    /// A deal with its custom field values by field id (the first value of each); `None`
    /// when AmoCRM has no such deal.
    pub async fn deal_details(&self, deal_id: i64) -> Result<Option<(CrmDeal, BTreeMap<i64, String>)>, SendError> {
        let Some(answer) = self.call(Method::GET, &format!("/api/v4/leads/{deal_id}"), None).await? else {
            return Ok(None);
        };
        let fields = fields_of(&answer);
        Ok(serde_json::from_value::<CrmDeal>(answer).ok().map(|deal| (deal, fields)))
    }

    /// Creates the deal with its contact embedded (`leads/complex`), or linked to an
    /// existing contact; returns `(deal id, contact id)`.
    pub async fn create_deal(&self, draft: &DealDraft) -> Result<(i64, i64), SendError> {
        let fields: Vec<Value> =
            draft.fields.iter().map(|(id, value)| json!({"field_id": id, "values": [{"value": value}]})).collect();
        let mut deal = json!({
            "name": draft.name,
            "price": draft.price,
            "pipeline_id": draft.pipeline_id,
            "status_id": draft.status_id,
            "custom_fields_values": fields,
        });
        match draft.contact_id {
            Some(contact_id) => {
                deal["_embedded"] = json!({"contacts": [{"id": contact_id}]});
                let answer = self.call(Method::POST, "/api/v4/leads", Some(json!([deal]))).await?;
                let id = answer.as_ref().and_then(|answer| answer["_embedded"]["leads"][0]["id"].as_i64());
                id.map(|id| (id, contact_id)).ok_or_else(|| SendError::retryable("AmoCRM: no deal id in the answer"))
            }
            None => {
                deal["_embedded"] = json!({"contacts": [{
                    "first_name": draft.contact_name,
                    "custom_fields_values": [
                        {"field_code": "PHONE", "values": [{"enum_code": "WORK", "value": draft.phone}]},
                        {"field_code": "EMAIL", "values": [{"enum_code": "WORK", "value": draft.email}]},
                    ],
                }]});
                let answer = self.call(Method::POST, "/api/v4/leads/complex", Some(json!([deal]))).await?;
                let created =
                    answer.as_ref().map(|answer| (answer[0]["id"].as_i64(), answer[0]["contact_id"].as_i64()));
                match created {
                    Some((Some(deal_id), Some(contact_id))) => Ok((deal_id, contact_id)),
                    _ => Err(SendError::retryable("AmoCRM: no deal or contact id in the answer")),
                }
            }
        }
    }

    /// Deals of `pipeline_id` updated (or created) since `from` (unix seconds), newest
    /// first, at most `limit`, with their names and contacts' ids.
    pub async fn deals_since(
        &self,
        pipeline_id: i64,
        time: DealTime,
        from: i64,
        limit: usize,
    ) -> Result<Vec<ListedDeal>, SendError> {
        let mut deals = Vec::new();
        let mut page = 1;
        let field = time.field();
        while deals.len() < limit {
            let path = format!(
                "/api/v4/leads?with=contacts&limit=250&page={page}&filter%5Bpipeline_id%5D%5B%5D={pipeline_id}\
                 &filter%5B{field}%5D%5Bfrom%5D={from}&order%5B{field}%5D=desc"
            );
            let Some(answer) = self.call(Method::GET, &path, None).await? else { break };
            for deal in answer["_embedded"]["leads"].as_array().into_iter().flatten() {
                let Ok(parsed) = serde_json::from_value::<CrmDeal>(deal.clone()) else { continue };
                let contact_ids = deal["_embedded"]["contacts"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|contact| contact["id"].as_i64())
                    .collect();
                let name = deal["name"].as_str().unwrap_or_default().to_owned();
                deals.push(ListedDeal { deal: parsed, name, fields: fields_of(deal), contact_ids });
            }
            if answer["_links"]["next"]["href"].as_str().is_none() {
                break;
            }
            page += 1;
        }
        deals.truncate(limit);
        Ok(deals)
    }

    /// Contacts by id, 250 per request.
    pub async fn contacts_by_id(&self, ids: &[i64]) -> Result<Vec<CrmContact>, SendError> {
        let mut contacts = Vec::new();
        for chunk in ids.chunks(250) {
            let filter: String = chunk.iter().map(|id| format!("&filter%5Bid%5D%5B%5D={id}")).collect();
            let path = format!("/api/v4/contacts?limit=250{filter}");
            if let Some(answer) = self.call(Method::GET, &path, None).await? {
                contacts
                    .extend(answer["_embedded"]["contacts"].as_array().into_iter().flatten().filter_map(contact_of));
            }
        }
        Ok(contacts)
    }

    /// Moves a deal to `status_id` of `pipeline_id`.
    pub async fn move_deal(&self, deal_id: i64, pipeline_id: i64, status_id: i64) -> Result<(), SendError> {
        let body = json!({"pipeline_id": pipeline_id, "status_id": status_id});
        self.call(Method::PATCH, &format!("/api/v4/leads/{deal_id}"), Some(body)).await.map(drop)
    }

    /// Checks that AmoCRM takes our token (`GET /api/v4/account`), within the 20 s health
    /// timeout: the probe of a paused integration.
    pub async fn check_account(&self) -> Result<(), SendError> {
        self.call_within(Method::GET, "/api/v4/account", None, Some(HEALTH_TIMEOUT)).await.map(drop)
    }

    /// One paced request; `None` for 204. With OAuth, a 401 refreshes the token once and
    /// repeats the request.
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Result<Option<Value>, SendError> {
        self.call_within(method, path, body, None).await
    }

    /// [`call`](Self::call) with its own timeout instead of `AMOCRM_TIMEOUT_SECS`.
    async fn call_within(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        timeout: Option<Duration>,
    ) -> Result<Option<Value>, SendError> {
        let mut token = self.access_token(false).await?;
        let mut refreshed = false;
        let response = loop {
            self.wait_for_slot().await;
            let mut request = self.http.request(method.clone(), format!("{}{path}", self.base)).bearer_auth(&token);
            if let Some(timeout) = timeout {
                request = request.timeout(timeout);
            }
            if let Some(body) = &body {
                request = request.json(body);
            }
            let response = request.send().await.map_err(|error| SendError::transport("AmoCRM", error))?;
            if response.status() == StatusCode::UNAUTHORIZED && !refreshed && matches!(self.auth, CrmAuth::OAuth(_)) {
                refreshed = true;
                token = self.access_token(true).await?;
                continue;
            }
            break response;
        };
        let status = response.status();
        if status == StatusCode::NO_CONTENT {
            return Ok(None);
        }
        let bytes = response.bytes().await.map_err(|error| SendError::transport("AmoCRM", error))?;
        if status.is_success() {
            return serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|error| SendError::retryable(format!("AmoCRM: unexpected answer: {error}")));
        }
        Err(classify(status.as_u16(), &problem_detail(&bytes)))
    }

    /// The access token to send: the long-lived one, or the OAuth one, refreshed when it
    /// is about to expire or `force`d (after a 401).
    async fn access_token(&self, force: bool) -> Result<String, SendError> {
        let oauth = match &self.auth {
            CrmAuth::LongLived(token) => return Ok(token.expose_secret().to_owned()),
            CrmAuth::OAuth(oauth) => oauth,
        };
        let mut current = oauth.current.lock().await;
        let now = crate::time::now_ms();
        let fresh = |expires_at: i64| expires_at > now + 60_000;
        if let Some((token, expires_at)) = current.as_ref() {
            if !force && fresh(*expires_at) {
                return Ok(token.clone());
            }
        }
        // Across PostgreSQL processes one refreshes at a time, in a transaction that also
        // stores the new pair: a refresh token is single-use.
        let mut refreshing = match oauth.db.engine() {
            Engine::Postgres => {
                let mut tx = oauth.db.begin_write().await.map_err(db_error)?;
                crate::db::crm_token::lock_for_refresh(&mut tx).await.map_err(db_error)?;
                Some(tx)
            }
            Engine::Sqlite => None,
        };
        let stored = match refreshing.as_mut() {
            Some(tx) => crate::db::crm_token::crm_token(tx).await.map_err(db_error)?,
            None => stored_pair(oauth).await?,
        };
        if let Some((access, _, expires_at)) = &stored {
            // Another process may have refreshed already: use its pair if it is new to us.
            let known = current.as_ref().map(|(token, _)| token.as_str());
            if fresh(*expires_at) && (!force || known != Some(access.as_str())) {
                *current = Some((access.clone(), *expires_at));
                return Ok(access.clone());
            }
        }
        let configured = oauth.first_refresh_token.as_ref().map(|token| token.expose_secret().to_owned());
        let pair = match (&stored, configured) {
            (Some((_, refresh, _)), configured) => match self.refresh(oauth, refresh).await {
                // The stored token was revoked, and the operator configured a new grant.
                Err(SendError::Refused(_)) if configured.as_ref().is_some_and(|new| new != refresh) => {
                    tracing::info!("the stored AmoCRM refresh token was refused; trying AMOCRM_REFRESH_TOKEN");
                    self.refresh(oauth, configured.as_deref().unwrap_or_default()).await?
                }
                refreshed => refreshed?,
            },
            (None, Some(configured)) => self.refresh(oauth, &configured).await?,
            (None, None) => {
                return Err(SendError::Refused(Refusal::new(
                    Integration::AmoCrm,
                    "AmoCRM: нет refresh-токена OAuth — задайте AMOCRM_REFRESH_TOKEN",
                )))
            }
        };
        // The new pair is committed before anything uses it.
        let mut tx = match refreshing {
            Some(tx) => tx,
            None => oauth.db.begin_write().await.map_err(db_error)?,
        };
        crate::db::crm_token::save_crm_token(&mut tx, &pair, now).await.map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        *current = Some((pair.0.clone(), pair.2));
        tracing::info!("AmoCRM token refreshed");
        Ok(pair.0)
    }

    /// Exchanges a refresh token for a new pair.
    async fn refresh(&self, oauth: &OAuth, refresh_token: &str) -> Result<crate::db::crm_token::TokenPair, SendError> {
        self.wait_for_slot().await;
        let body = json!({
            "client_id": oauth.client_id,
            "client_secret": oauth.client_secret.expose_secret(),
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "redirect_uri": oauth.redirect_uri,
        });
        let response = self
            .http
            .post(format!("{}/oauth2/access_token", self.base))
            .json(&body)
            .send()
            .await
            .map_err(|error| SendError::transport("AmoCRM", error))?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|error| SendError::transport("AmoCRM", error))?;
        if !status.is_success() {
            let detail = problem_detail(&bytes);
            return Err(if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
                SendError::retryable(format!("AmoCRM token refresh {}: {detail}", status.as_u16()))
            } else {
                SendError::Refused(Refusal::new(
                    Integration::AmoCrm,
                    format!(
                        "AmoCRM не обновил токен OAuth ({}: {detail}) — нужна повторная авторизация \
                         (новый AMOCRM_REFRESH_TOKEN)",
                        status.as_u16()
                    ),
                ))
            });
        }
        let answer: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        match (answer["access_token"].as_str(), answer["refresh_token"].as_str(), answer["expires_in"].as_i64()) {
            (Some(access), Some(refresh), Some(expires_in)) => {
                Ok((access.to_owned(), refresh.to_owned(), crate::time::now_ms() + expires_in * 1_000))
            }
            _ => Err(SendError::retryable("AmoCRM token refresh: unexpected answer")),
        }
    }

    /// Waits until this request may go, keeping requests `interval` apart.
    async fn wait_for_slot(&self) {
        let start = {
            let mut next = self.next_slot.lock().await;
            let start = (*next).max(Instant::now());
            *next = start + self.interval;
            start
        };
        tokio::time::sleep_until(start).await;
    }
}

/// The stored token pair.
async fn stored_pair(oauth: &OAuth) -> Result<Option<crate::db::crm_token::TokenPair>, SendError> {
    let mut conn = oauth.db.pool().acquire().await.map_err(db_error)?;
    crate::db::crm_token::crm_token(&mut conn).await.map_err(db_error)
}

fn db_error(error: sqlx::Error) -> SendError {
    SendError::retryable(format!("database: {error}"))
}

/// What an error status means: 401, 402 and 403 refuse the integration as a whole (a bad
/// token, an unpaid account, a blocked account or server address), 429 and 5xx pass,
/// other answers are about this request.
fn classify(status: u16, problem: &str) -> SendError {
    let refused =
        |why: &str| SendError::Refused(Refusal::new(Integration::AmoCrm, format!("{why} ({status}): {problem}")));
    match status {
        401 => refused("AmoCRM не принимает токен доступа"),
        402 => refused("AmoCRM: оплаченный период аккаунта закончился"),
        403 => refused("AmoCRM отказывает в доступе: аккаунт или IP-адрес сервера заблокирован"),
        429 => SendError::Retryable {
            message: format!("AmoCRM {status}: {problem}"),
            retry_after: Some(Duration::from_secs(2)),
        },
        500.. => SendError::retryable(format!("AmoCRM {status}: {problem}")),
        _ => SendError::Rejected { message: format!("AmoCRM {status}: {problem}") },
    }
}

/// The `detail` of a problem+json body and its validation errors; the status text otherwise.
fn problem_detail(body: &[u8]) -> String {
    let Ok(problem) = serde_json::from_slice::<Value>(body) else { return "no JSON body".to_owned() };
    let mut detail = problem["detail"].as_str().or(problem["title"].as_str()).unwrap_or("error").to_owned();
    let errors: Vec<String> = problem["validation-errors"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|request| request["errors"].as_array().cloned().unwrap_or_default())
        .map(|error| format!("{}: {}", error["path"].as_str().unwrap_or("?"), error["detail"].as_str().unwrap_or("?")))
        .collect();
    if !errors.is_empty() {
        detail = format!("{detail} ({})", errors.join("; "));
    }
    detail
}

/// A deal's custom field values by field id, the first value of each (text or number).
fn fields_of(deal: &Value) -> BTreeMap<i64, String> {
    deal["custom_fields_values"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|field| {
            let value = &field["values"][0]["value"];
            let text = value.as_str().map(str::to_owned).or_else(|| value.as_i64().map(|n| n.to_string()))?;
            Some((field["field_id"].as_i64()?, text))
        })
        .collect()
}

fn contact_of(contact: &Value) -> Option<CrmContact> {
    let id = contact["id"].as_i64()?;
    let mut phones = Vec::new();
    let mut emails = Vec::new();
    for field in contact["custom_fields_values"].as_array().into_iter().flatten() {
        let values = field["values"].as_array().into_iter().flatten().filter_map(|value| value["value"].as_str());
        match field["field_code"].as_str() {
            Some("PHONE") => phones.extend(values.map(|phone| phone.chars().filter(char::is_ascii_digit).collect())),
            Some("EMAIL") => emails.extend(values.map(|email| email.trim().to_lowercase())),
            _ => {}
        }
    }
    let deal_ids =
        contact["_embedded"]["leads"].as_array().into_iter().flatten().filter_map(|deal| deal["id"].as_i64()).collect();
    Some(CrmContact { id, phones, emails, deal_ids })
}

/// Whether two phones are the same number: their last ten digits match (AmoCRM stores
/// numbers as typed, `8 705…` or `+7 705…`).
pub fn same_phone(a: &str, b: &str) -> bool {
    let last_ten = |phone: &str| {
        let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
        digits[digits.len().saturating_sub(10)..].to_owned()
    };
    let (a, b) = (last_ten(a), last_ten(b));
    a.len() == 10 && a == b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_json_details_and_validation_errors_are_kept() {
        let body = br#"{"validation-errors":[{"request_id":"0","errors":[{"code":"NotSupportedChoice",
            "path":"custom_fields_values.0.field_id","detail":"The value you selected is not a valid choice."}]}],
            "title":"Bad Request","type":"https://httpstatus.es/400","status":400,"detail":"Request validation failed"}"#;
        assert_eq!(
            problem_detail(body),
            "Request validation failed (custom_fields_values.0.field_id: The value you selected is not a valid choice.)"
        );
        assert_eq!(problem_detail(b"<html>Too many requests</html>"), "no JSON body");
    }

    #[test]
    fn credentials_and_blocks_refuse_the_integration_while_bad_requests_fail_one_job() {
        for status in [401, 402, 403] {
            assert!(
                matches!(classify(status, "x"), SendError::Refused(refusal) if refusal.integration == Integration::AmoCrm)
            );
        }
        assert!(matches!(classify(429, "x"), SendError::Retryable { retry_after: Some(_), .. }));
        assert!(matches!(classify(504, "x"), SendError::Retryable { .. }));
        assert!(matches!(classify(400, "x"), SendError::Rejected { .. }));
        assert!(matches!(classify(404, "x"), SendError::Rejected { .. }));
    }

    #[test]
    fn phones_match_on_their_last_ten_digits() {
        assert!(same_phone("+7 (705) 123-45-67", "87051234567"));
        assert!(!same_phone("87051234567", "87051234568"));
        assert!(!same_phone("123", "123"));
    }
}
