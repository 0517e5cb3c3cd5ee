//! A fake Mobizon: `message/sendsmsmessage` (each send a single-message campaign named by
//! `params[name]`), `message/list`, `campaign/list`, `message/getsmsstatus` and
//! `user/getownbalance`, form-encoded, answering HTTP 200 with a `code` envelope (errors
//! included, code 8 for a revoked key), ids as strings, list items with the documented
//! fields only, and a delivery-report webhook body signed as documented.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Form, Json, Router};
use serde_json::{json, Value};

use app::providers::mobizon::webhook_sign;
use app::time::{format_almaty_seconds, now_ms};

use super::{begin_request, Fake, Mode, Received, Shared};

/// The API key the fake accepts.
pub const API_KEY: &str = "kz0000000000000000000000000000000000fake";

/// An SMS the fake accepted.
#[derive(Debug, Clone)]
pub struct ReceivedSms {
    pub id: String,
    /// Its single-message campaign.
    pub campaign_id: String,
    pub to: String,
    pub text: String,
    /// `params[name]`: our idempotency key.
    pub campaign_name: String,
    pub created: String,
    pub status: String,
}

impl Received for ReceivedSms {
    fn recipient(&self) -> &str {
        &self.to
    }
}

/// A running fake Mobizon; its own state is the last webhook event id.
pub type FakeMobizon = Fake<ReceivedSms, u64>;

impl FakeMobizon {
    /// Starts a fake on a free port.
    pub async fn start() -> Self {
        Self::start_with(|ledger| Router::new().route("/service/{module}/{method}", post(call)).with_state(ledger))
            .await
    }

    /// Sets a message's status, as the operator would report it.
    pub fn set_status(&self, message_id: &str, status: &str) {
        let mut ledger = self.ledger.lock().unwrap();
        if let Some(sms) = ledger.accepted.iter_mut().find(|sms| sms.id == message_id) {
            sms.status = status.to_owned();
        }
    }

    /// The delivery-report webhook body Mobizon would post for `message_id`, signed with `secret`.
    pub fn delivery_report(&self, message_id: &str, status: &str, secret: &str) -> Value {
        let mut ledger = self.ledger.lock().unwrap();
        ledger.extra += 1;
        let event_id = ledger.extra.to_string();
        let to = ledger.accepted.iter().find(|sms| sms.id == message_id).map(|sms| sms.to.clone()).unwrap_or_default();
        let created = format_almaty_seconds(now_ms());
        json!({
            "eventId": ledger.extra,
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
    State(ledger): State<Shared<ReceivedSms, u64>>,
    Path((module, method)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let (mode, latency) = begin_request(&ledger);
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
        Mode::KeyRevoked => return envelope(8, Value::Null, "Login error"),
    }
    let field = |name: &str| form.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone());
    let key = query.get("apiKey").cloned().or_else(|| field("apiKey"));
    if key.as_deref() != Some(API_KEY) {
        return envelope(8, Value::Null, "Login error");
    }
    if query.get("output").map(String::as_str) != Some("json") {
        return envelope(6, Value::Null, "Unsupported format");
    }
    let answer = answer(&ledger, &module, &method, &form);
    tokio::time::sleep(latency).await;
    if mode == Mode::AcceptThenHang && method.eq_ignore_ascii_case("sendsmsmessage") {
        tokio::time::sleep(Duration::from_secs(30)).await;
    }
    answer
}

/// The answer to an authenticated call, recording sent messages.
fn answer(ledger: &Shared<ReceivedSms, u64>, module: &str, method: &str, form: &[(String, String)]) -> Response {
    let field = |name: &str| form.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone());
    let mut ledger = ledger.lock().unwrap();
    match (module.to_lowercase().as_str(), method.to_lowercase().as_str()) {
        ("message", "sendsmsmessage") => {
            let (Some(to), Some(text)) = (field("recipient"), field("text")) else {
                return envelope(11, Value::Null, "Не указаны обязательные параметры");
            };
            if !to.chars().all(|c| c.is_ascii_digit()) {
                return envelope(1, json!({ "recipient": "Неверный номер получателя" }), "Ошибка проверки данных");
            }
            let id = format!("{}", 70_000_000_000u64 + ledger.accepted.len() as u64 + 1);
            let campaign_id = format!("{}", 60_000_000_000u64 + ledger.accepted.len() as u64 + 1);
            ledger.accepted.push(ReceivedSms {
                id: id.clone(),
                campaign_id: campaign_id.clone(),
                to,
                text,
                campaign_name: field("params[name]").unwrap_or_default(),
                created: format_almaty_seconds(now_ms()),
                status: "ACCEPTD".to_owned(),
            });
            envelope(0, json!({ "campaignId": campaign_id, "messageId": id, "status": 2 }), "")
        }
        ("message", "list") => {
            let to = field("criteria[to]");
            let campaigns: Option<Vec<String>> =
                field("criteria[campaignIds]").map(|ids| ids.split(',').map(str::to_owned).collect());
            let items: Vec<Value> = ledger
                .accepted
                .iter()
                .filter(|sms| to.as_ref().is_none_or(|to| sms.to.contains(to.as_str())))
                .filter(|sms| campaigns.as_ref().is_none_or(|ids| ids.contains(&sms.campaign_id)))
                .map(|sms| {
                    json!({ "id": sms.id, "campaignId": sms.campaign_id, "segNum": "1", "segUserBuy": "12.0000",
                        "from": "ACADEMY", "to": sms.to, "text": sms.text, "status": sms.status, "groups": null,
                        "uuid": format!("uuid-{}", sms.id), "countryA2": "KZ", "operatorName": "Kcell",
                        "startSendTs": sms.created, "statusUpdateTs": sms.created })
                })
                .collect();
            envelope(0, json!({ "items": items, "totalItemCount": items.len().to_string() }), "")
        }
        ("campaign", "list") => {
            let recipient = field("criteria[recipient]");
            let from = field("criteria[createTsFrom]");
            let items: Vec<Value> = ledger
                .accepted
                .iter()
                .rev()
                .filter(|sms| recipient.as_ref().is_none_or(|to| sms.to.contains(to.as_str())))
                .filter(|sms| from.as_ref().is_none_or(|from| sms.created >= *from))
                .map(|sms| {
                    json!({ "id": sms.campaign_id, "type": "1", "name": sms.campaign_name, "from": "ACADEMY",
                        "text": sms.text, "commonStatus": "SENT", "createTs": sms.created,
                        "startSendTs": sms.created })
                })
                .collect();
            envelope(0, json!({ "items": items, "totalItemCount": items.len().to_string() }), "")
        }
        ("user", "getownbalance") => envelope(0, json!({ "balance": "1520.0000", "currency": "KZT" }), ""),
        ("message", "getsmsstatus") => {
            let ids: Vec<String> =
                form.iter().filter(|(key, _)| key == "ids[]" || key == "ids").map(|(_, id)| id.clone()).collect();
            if ids.is_empty() {
                return envelope(2, Value::Null, "Не найдено");
            }
            let items: Vec<Value> = ledger
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
