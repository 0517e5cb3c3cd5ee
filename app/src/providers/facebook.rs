//! The Facebook Marketing API (Graph API) client: the token's Business Managers and ad
//! accounts, and daily ad-level insights — synchronous, or through an asynchronous report
//! run when Facebook refuses a synchronous query for its size.
//!
//! Facebook answers errors with HTTP 400/403/500 and a JSON `error.code`; the code decides
//! (throttling is a 400 too). Metrics arrive as strings. Lists are paged by `paging.next`
//! URLs, followed until absent. The token travels as the `access_token` parameter, so URLs
//! never reach logs or error messages.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use chrono::NaiveDate;
use reqwest::header::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use super::http_client;
use crate::config::FacebookConfig;

/// The fields asked for each ad account.
const ACCOUNT_FIELDS: &str = "id,account_id,name,currency,timezone_name,account_status";
/// The fields of a daily ad-level insights row.
const INSIGHT_FIELDS: &str =
    "ad_id,ad_name,adset_id,adset_name,campaign_id,campaign_name,spend,impressions,clicks,account_currency,date_start";
/// Usage (percent of the hourly quota) above which the client paces its page requests.
const SLOW_DOWN_AT_PERCENT: u32 = 75;
/// How long an asynchronous report run may take before the sync gives up and retries.
const REPORT_RUN_LIMIT: Duration = Duration::from_secs(3600);

/// Why a Graph API call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// Throttled (codes 4, 17, 613, 800xx): try again after `retry_after`.
    #[error("{message}")]
    RateLimited { message: String, retry_after: Duration },
    /// An outage, a timeout or Facebook's "unknown error": try again later.
    #[error("{message}")]
    Transient { message: String },
    /// "Please reduce the amount of data": ask through an asynchronous report run.
    #[error("{message}")]
    TooMuchData { message: String },
    /// The token is invalid or expired (code 190, or 102 for an old session): an operator
    /// must replace it.
    #[error("{message}")]
    Token { message: String },
    /// A permission or parameter error: trying again will not help.
    #[error("{message}")]
    Refused { message: String },
}

impl GraphError {
    pub(super) fn transport(error: reqwest::Error) -> Self {
        let kind = if error.is_timeout() { "timeout" } else { "transport error" };
        Self::Transient { message: format!("Facebook: {kind}: {}", error.without_url()) }
    }
}

/// A Business Manager of the token.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Business {
    pub id: String,
    pub name: String,
}

/// An ad account as Facebook describes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AdAccount {
    /// `act_<n>`, the form endpoints take.
    pub id: String,
    pub name: String,
    pub currency: String,
    pub timezone_name: Option<String>,
    /// 1 active, 2 disabled, 3 unsettled, 7 pending risk review, 8 pending settlement,
    /// 9 in grace period, 100 pending closure, 101 closed.
    pub account_status: i64,
}

impl AdAccount {
    /// The status in words, as stored.
    pub fn status(&self) -> &'static str {
        match self.account_status {
            1 => "active",
            2 => "disabled",
            3 => "unsettled",
            7 => "pending_risk_review",
            8 => "pending_settlement",
            9 => "in_grace_period",
            100 => "pending_closure",
            101 => "closed",
            _ => "unknown",
        }
    }
}

/// One ad's figures for one day, metrics as Facebook sends them (strings).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct InsightRow {
    pub ad_id: String,
    pub ad_name: Option<String>,
    pub adset_id: Option<String>,
    pub adset_name: Option<String>,
    pub campaign_id: Option<String>,
    pub campaign_name: Option<String>,
    /// Major units of the account currency, e.g. `"15234.5"`.
    pub spend: Option<String>,
    pub impressions: Option<String>,
    pub clicks: Option<String>,
    pub account_currency: Option<String>,
    /// The account's own calendar day, `yyyy-mm-dd`.
    pub date_start: String,
}

#[derive(Deserialize)]
struct Page<T> {
    data: Vec<T>,
    paging: Option<Paging>,
}

#[derive(Deserialize)]
struct Paging {
    next: Option<String>,
}

/// The Graph API client.
#[derive(Debug)]
pub struct FacebookClient {
    http: reqwest::Client,
    base: String,
    token: SecretString,
    report_poll: Duration,
    /// The highest usage (percent of a quota) the last response reported.
    usage_percent: AtomicU32,
}

impl FacebookClient {
    /// A client for `config.graph_url` with `token`.
    pub fn new(config: &FacebookConfig, token: SecretString) -> Self {
        Self {
            http: http_client(config.timeout),
            base: config.graph_url.trim_end_matches('/').to_owned(),
            token,
            report_poll: config.report_poll,
            usage_percent: AtomicU32::new(0),
        }
    }

    /// The highest quota usage Facebook last reported, in percent.
    pub fn usage_percent(&self) -> u32 {
        self.usage_percent.load(Ordering::Relaxed)
    }

    /// Checks that the token works (`GET /me`): the probe of a paused integration.
    pub async fn check_token(&self) -> Result<(), GraphError> {
        let request = self
            .http
            .get(format!("{}/me", self.base))
            .query(&[("fields", "id"), ("access_token", self.token.expose_secret())]);
        self.send::<Value>(request).await.map(drop)
    }

    /// The token's Business Managers.
    pub async fn businesses(&self) -> Result<Vec<Business>, GraphError> {
        self.list("/me/businesses", &[("fields", "id,name"), ("limit", "100")]).await
    }

    /// A Business Manager's own ad accounts (`owned`) or those shared with it.
    pub async fn business_ad_accounts(&self, business_id: &str, owned: bool) -> Result<Vec<AdAccount>, GraphError> {
        let edge = if owned { "owned_ad_accounts" } else { "client_ad_accounts" };
        self.list(&format!("/{business_id}/{edge}"), &[("fields", ACCOUNT_FIELDS), ("limit", "100")]).await
    }

    /// Every ad account the token can see directly.
    pub async fn my_ad_accounts(&self) -> Result<Vec<AdAccount>, GraphError> {
        self.list("/me/adaccounts", &[("fields", ACCOUNT_FIELDS), ("limit", "100")]).await
    }

    /// Daily ad-level insights of `account_id` (`act_<n>`) for `since..=until`, days in
    /// the account's time zone.
    pub async fn daily_ad_insights(
        &self,
        account_id: &str,
        since: NaiveDate,
        until: NaiveDate,
    ) -> Result<Vec<InsightRow>, GraphError> {
        let time_range = format!(r#"{{"since":"{since}","until":"{until}"}}"#);
        let params = [
            ("level", "ad"),
            ("fields", INSIGHT_FIELDS),
            ("time_range", time_range.as_str()),
            ("time_increment", "1"),
            ("limit", "500"),
        ];
        let path = format!("/{account_id}/insights");
        match self.list(&path, &params).await {
            Err(GraphError::TooMuchData { .. }) => self.insights_by_report_run(&path, &params).await,
            other => other,
        }
    }

    /// Starts an asynchronous report run with the same parameters, waits for it and
    /// reads its rows.
    async fn insights_by_report_run(&self, path: &str, params: &[(&str, &str)]) -> Result<Vec<InsightRow>, GraphError> {
        let request = self.http.post(format!("{}{path}", self.base)).form(&self.with_token(params));
        let started: Value = self.send(request).await?;
        let run_id = started["report_run_id"]
            .as_str()
            .map(str::to_owned)
            .or_else(|| started["report_run_id"].as_u64().map(|id| id.to_string()))
            .ok_or_else(|| GraphError::Transient { message: "Facebook: no report_run_id in the answer".into() })?;
        let deadline = tokio::time::Instant::now() + REPORT_RUN_LIMIT;
        loop {
            let request = self
                .http
                .get(format!("{}/{run_id}", self.base))
                .query(&self.with_token(&[("fields", "async_status,async_percent_completion")]));
            let run: Value = self.send(request).await?;
            match run["async_status"].as_str().unwrap_or_default() {
                "Job Completed" => break,
                status @ ("Job Failed" | "Job Skipped") => {
                    let reason = run["error_message"].as_str().unwrap_or(status);
                    return Err(GraphError::Transient { message: format!("Facebook report run: {reason}") });
                }
                _ if tokio::time::Instant::now() >= deadline => {
                    return Err(GraphError::Transient {
                        message: "Facebook report run: still running after an hour".into(),
                    })
                }
                _ => tokio::time::sleep(self.report_poll).await,
            }
        }
        self.list(&format!("/{run_id}/insights"), &[("limit", "500")]).await
    }

    /// Every item of a paged list.
    async fn list<T: DeserializeOwned>(&self, path: &str, params: &[(&str, &str)]) -> Result<Vec<T>, GraphError> {
        let mut items = Vec::new();
        let mut request = self.http.get(format!("{}{path}", self.base)).query(&self.with_token(params));
        loop {
            let page: Page<T> = self.send(request).await?;
            items.extend(page.data);
            let Some(next) = page.paging.and_then(|paging| paging.next) else { return Ok(items) };
            if self.usage_percent() >= SLOW_DOWN_AT_PERCENT {
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            request = self.http.get(next);
            // `next` URLs carry the token already; add it if one does not.
            if !request_has_token(&request) {
                request = request.query(&[("access_token", self.token.expose_secret())]);
            }
        }
    }

    fn with_token<'a>(&'a self, params: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut all = params.to_vec();
        all.push(("access_token", self.token.expose_secret()));
        all
    }

    /// Sends a request and reads a JSON answer, or the error Facebook describes.
    async fn send<T: DeserializeOwned>(&self, request: reqwest::RequestBuilder) -> Result<T, GraphError> {
        let response = request.send().await.map_err(GraphError::transport)?;
        let status = response.status();
        let (usage, regain) = usage_of(response.headers());
        self.usage_percent.store(usage, Ordering::Relaxed);
        let body = response.bytes().await.map_err(GraphError::transport)?;
        if status.is_success() {
            return serde_json::from_slice(&body)
                .map_err(|error| GraphError::Transient { message: format!("Facebook: unexpected answer: {error}") });
        }
        Err(classify(status.as_u16(), &body, regain))
    }
}

fn request_has_token(request: &reqwest::RequestBuilder) -> bool {
    request
        .try_clone()
        .and_then(|request| request.build().ok())
        .is_some_and(|request| request.url().query_pairs().any(|(name, _)| name == "access_token"))
}

/// The highest usage percent and the longest `estimated_time_to_regain_access` in the
/// usage headers.
pub(super) fn usage_of(headers: &HeaderMap) -> (u32, Duration) {
    let mut usage = 0_u32;
    let mut regain_minutes = 0_u64;
    let mut note = |value: &Value| {
        for key in ["call_count", "total_cputime", "total_time", "acc_id_util_pct", "app_id_util_pct"] {
            if let Some(percent) = value[key].as_f64() {
                usage = usage.max(percent.clamp(0.0, 1_000.0) as u32);
            }
        }
        if let Some(minutes) = value["estimated_time_to_regain_access"].as_u64() {
            regain_minutes = regain_minutes.max(minutes);
        }
    };
    for name in ["x-business-use-case-usage", "x-app-usage", "x-fb-ads-insights-throttle"] {
        let Some(parsed) = headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .and_then(|text| serde_json::from_str::<Value>(text).ok())
        else {
            continue;
        };
        match &parsed {
            // Business use case usage: {"<account id>": [{...}, ...]}.
            Value::Object(map) if map.values().all(Value::is_array) => {
                map.values().flat_map(|entries| entries.as_array().into_iter().flatten()).for_each(&mut note);
            }
            other => note(other),
        }
    }
    (usage, Duration::from_secs(regain_minutes * 60))
}

/// Facebook's error body as a [`GraphError`].
pub(super) fn classify(status: u16, body: &[u8], regain: Duration) -> GraphError {
    let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let error = &parsed["error"];
    let Some(code) = error["code"].as_i64() else {
        return GraphError::Transient { message: format!("Facebook: HTTP {status}") };
    };
    let subcode = error["error_subcode"].as_i64();
    let text = error["message"].as_str().unwrap_or("no message");
    let message = format!("Facebook ({code}): {text}");
    match code {
        1 if subcode == Some(99) || text.to_lowercase().contains("reduce the amount of data") => {
            GraphError::TooMuchData { message }
        }
        1 | 2 => GraphError::Transient { message },
        4 | 17 | 613 | 80_000..=80_014 => {
            GraphError::RateLimited { message, retry_after: regain.max(Duration::from_secs(60)) }
        }
        102 | 190 => GraphError::Token { message },
        _ if status >= 500 => GraphError::Transient { message },
        _ => GraphError::Refused { message },
    }
}

/// Hundredths of a currency unit from Facebook's decimal string (`"15234.5"` → 1523450),
/// rounding half up past the second decimal; `None` if it is not a number.
pub fn parse_minor(text: &str) -> Option<i64> {
    let text = text.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    let whole: i64 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    if !fraction.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let digit = |n: usize| fraction.as_bytes().get(n).map_or(0, |byte| i64::from(byte - b'0'));
    let cents = digit(0) * 10 + digit(1) + i64::from(digit(2) >= 5);
    whole.checked_mul(100)?.checked_add(cents)
}

/// A count from Facebook's string (`"48210"`); missing or malformed counts as 0.
pub fn parse_count(text: Option<&str>) -> i64 {
    text.and_then(|text| text.trim().parse().ok()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_strings_become_hundredths() {
        assert_eq!(parse_minor("15234.5"), Some(1_523_450));
        assert_eq!(parse_minor("0.01"), Some(1));
        assert_eq!(parse_minor("12.345"), Some(1_235));
        assert_eq!(parse_minor("7"), Some(700));
        assert_eq!(parse_minor("abc"), None);
        assert_eq!(parse_count(Some("48210")), 48_210);
        assert_eq!(parse_count(None), 0);
    }

    #[test]
    fn error_codes_decide_not_http_statuses() {
        let body = |code: i64, subcode: Option<i64>, message: &str| {
            serde_json::json!({"error": {"message": message, "type": "OAuthException", "code": code,
                "error_subcode": subcode, "fbtrace_id": "x"}})
            .to_string()
        };
        let regain = Duration::from_secs(300);
        assert!(matches!(
            classify(400, body(80_000, Some(2_446_079), "(#80000) too many calls").as_bytes(), regain),
            GraphError::RateLimited { retry_after, .. } if retry_after == regain
        ));
        assert!(matches!(classify(400, body(17, None, "limit").as_bytes(), Duration::ZERO),
            GraphError::RateLimited { retry_after, .. } if retry_after == Duration::from_secs(60)));
        assert!(matches!(
            classify(
                500,
                body(1, None, "Please reduce the amount of data you're asking for, then retry your request").as_bytes(),
                regain
            ),
            GraphError::TooMuchData { .. }
        ));
        assert!(matches!(classify(400, body(190, Some(463), "expired").as_bytes(), regain), GraphError::Token { .. }));
        assert!(matches!(
            classify(403, body(200, None, "(#200) Requires business_management").as_bytes(), regain),
            GraphError::Refused { .. }
        ));
        assert!(matches!(classify(502, b"<html>Bad gateway</html>", regain), GraphError::Transient { .. }));
    }

    #[test]
    fn usage_headers_give_the_highest_percent_and_wait() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-business-use-case-usage",
            r#"{"212551616838260":[{"type":"ads_insights","call_count":28,"total_cputime":81,"total_time":25,"estimated_time_to_regain_access":3}]}"#
                .parse()
                .unwrap(),
        );
        headers.insert("x-app-usage", r#"{"call_count":16,"total_cputime":15,"total_time":12}"#.parse().unwrap());
        assert_eq!(usage_of(&headers), (81, Duration::from_secs(180)));
    }
}
