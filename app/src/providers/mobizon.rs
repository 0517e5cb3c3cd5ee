//! The Mobizon client (`docs/providers.md`, Mobizon): send an SMS, find one whose outcome we never
//! learned, read delivery states, and check the delivery-report webhook's signature.
//!
//! Mobizon answers HTTP 200 with a non-zero `code` for its errors, returns ids as strings
//! or numbers, and has no idempotency key: a send is never repeated blindly (see
//! [`MobizonClient::find_sent`]).

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;
use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;

use super::{http_client, ProviderReport, ReportReading, SendError, SmsMessage, SmsState};
use crate::config::SmsConfig;
use crate::domain::delivery::DeliveryStatus;
use crate::domain::integration::{Integration, Refusal};

/// Mobizon's code for "too many calls of this method".
const RATE_LIMITED: i64 = 30;
/// Codes that describe a passing condition on Mobizon's side, worth another try.
const TRANSIENT: [i64; 4] = [3, 10, 15, 999];
/// Codes that refuse the account rather than a message: no rights or an invalid key (2),
/// a login error (8), no access to the method (9), the wrong API server for this key
/// (13), a blocked or deleted account (14).
const REFUSING: [i64; 5] = [2, 8, 9, 13, 14];
/// Campaign type of a single message, as `sendSmsMessage` creates.
const SINGLE_MESSAGE_CAMPAIGN: &str = "1";

/// Sends SMS through the Mobizon API.
#[derive(Debug)]
pub struct MobizonClient {
    http: reqwest::Client,
    base: String,
    api_key: SecretString,
    sender: Option<String>,
}

#[derive(Deserialize)]
struct Envelope {
    code: i64,
    #[serde(default)]
    data: Value,
    #[serde(default)]
    message: String,
}

impl MobizonClient {
    /// A client for `config.api_url` with `api_key`.
    pub fn new(config: &SmsConfig, api_key: SecretString) -> Self {
        Self { http: http_client(config.timeout), base: config.api_url.clone(), api_key, sender: config.sender.clone() }
    }

    /// Sends `message`; the provider's message id on success.
    pub async fn send(&self, message: &SmsMessage) -> Result<String, SendError> {
        let mut form = vec![
            ("recipient", message.to.clone()),
            ("text", message.text.clone()),
            ("params[name]", message.idempotency_key.clone()),
        ];
        if let Some(sender) = &self.sender {
            form.push(("from", sender.clone()));
        }
        let data = self.call("message", "sendsmsmessage", &form).await?;
        id_of(&data["messageId"]).ok_or_else(|| SendError::retryable("Mobizon: the answer has no messageId"))
    }

    /// The id of the message this job's earlier attempt sent, if one reached Mobizon.
    ///
    /// Asked before another attempt: an earlier one may have reached Mobizon even though
    /// its answer never reached us (a timeout or a crash), and Mobizon cannot deduplicate.
    /// Every send names its campaign with the job's idempotency key, so the campaign of
    /// that name created since the job was enqueued is this job's own message and no
    /// other (`campaign/list`), and its message id comes from `message/list`.
    pub async fn find_sent(&self, message: &SmsMessage, since_ms: i64) -> Result<Option<String>, SendError> {
        // A day's margin: Mobizon's clock zone is not documented, and the name decides.
        let since = crate::time::format_almaty_seconds(since_ms - 24 * 3_600_000);
        let campaigns = [
            ("criteria[recipient]", message.to.clone()),
            ("criteria[createTsFrom]", since),
            ("criteria[type]", SINGLE_MESSAGE_CAMPAIGN.to_owned()),
            ("pagination[currentPage]", "0".to_owned()),
            ("pagination[pageSize]", "100".to_owned()),
            ("sort[createTs]", "DESC".to_owned()),
        ];
        let data = self.call("campaign", "list", &campaigns).await?;
        let Some(campaign_id) = data["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|campaign| campaign["name"].as_str() == Some(message.idempotency_key.as_str()))
            .and_then(|campaign| id_of(&campaign["id"]))
        else {
            return Ok(None);
        };
        let messages = [
            ("criteria[campaignIds]", campaign_id.clone()),
            ("pagination[currentPage]", "0".to_owned()),
            ("pagination[pageSize]", "25".to_owned()),
        ];
        let data = self.call("message", "list", &messages).await?;
        let sent = data["items"].as_array().into_iter().flatten().find(|item| {
            id_of(&item["campaignId"]).is_none_or(|id| id == campaign_id)
                && id_of(&item["to"]).is_none_or(|to| to == message.to)
        });
        // A campaign without its message yet (still being created) has sent nothing we
        // can name: report the campaign so that no second message goes out.
        Ok(Some(sent.and_then(|item| id_of(&item["id"])).unwrap_or(campaign_id)))
    }

    /// Checks that Mobizon takes our key (`user/getOwnBalance`): the probe of a paused
    /// integration.
    pub async fn check_key(&self) -> Result<(), SendError> {
        self.call("user", "getownbalance", &[]).await.map(drop)
    }

    /// The states of up to 100 sent messages; unknown ids are left out.
    pub async fn states(&self, message_ids: &[String]) -> Result<Vec<SmsState>, SendError> {
        let form: Vec<(&str, String)> = message_ids.iter().take(100).map(|id| ("ids[]", id.clone())).collect();
        let data = self.call("message", "getsmsstatus", &form).await?;
        Ok(data
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|item| {
                        Some(SmsState { message_id: id_of(&item["id"])?, status: item["status"].as_str()?.to_owned() })
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Calls `module/method` and unwraps the envelope: `data` when `code` is 0.
    async fn call(&self, module: &str, method: &str, form: &[(&str, String)]) -> Result<Value, SendError> {
        let url = format!("{}/service/{module}/{method}", self.base);
        let response = self
            .http
            .post(url)
            .query(&[("output", "json"), ("api", "v1"), ("apiKey", self.api_key.expose_secret())])
            .form(form)
            .send()
            .await
            .map_err(|error| SendError::transport("Mobizon", error))?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|error| SendError::transport("Mobizon", error))?;
        let envelope: Envelope = match serde_json::from_slice(&bytes) {
            Ok(envelope) if status.is_success() => envelope,
            _ => return Err(SendError::retryable(format!("Mobizon: HTTP {} without a JSON answer", status.as_u16()))),
        };
        if envelope.code == 0 {
            return Ok(envelope.data);
        }
        let message = format!("Mobizon: code {}: {}{}", envelope.code, envelope.message, field_errors(&envelope.data));
        if REFUSING.contains(&envelope.code) {
            let reason = format!(
                "Mobizon не принимает ключ API или закрыл доступ (код {}): {}",
                envelope.code, envelope.message
            );
            Err(SendError::Refused(Refusal::new(Integration::Mobizon, reason)))
        } else if envelope.code == RATE_LIMITED {
            Err(SendError::Retryable { message, retry_after: Some(Duration::from_secs(2)) })
        } else if TRANSIENT.contains(&envelope.code) {
            Err(SendError::retryable(message))
        } else {
            Err(SendError::Rejected { message })
        }
    }
}

/// A Mobizon id (or other scalar field), which arrives as a string or a number.
pub fn id_of(value: &Value) -> Option<String> {
    match value {
        Value::String(id) if !id.is_empty() => Some(id.clone()),
        Value::Number(id) => Some(id.to_string()),
        _ => None,
    }
}

/// ` (field: problem; …)` from a validation error's `data`, or nothing.
fn field_errors(data: &Value) -> String {
    match data.as_object() {
        Some(fields) if !fields.is_empty() => {
            let list: Vec<String> = fields
                .iter()
                .map(|(field, problem)| format!("{field}: {}", problem.as_str().unwrap_or("invalid")))
                .collect();
            format!(" ({})", list.join("; "))
        }
        _ => String::new(),
    }
}

/// What a final Mobizon status means for the lead: `Some(Ok)` delivered, `Some(Err(reason))`
/// failed, `None` not final yet.
pub fn final_outcome(status: &str) -> Option<Result<(), String>> {
    match status {
        "DELIVRD" => Some(Ok(())),
        "UNDELIV" => Some(Err("Mobizon: не доставлено (UNDELIV)".to_owned())),
        "REJECTD" => Some(Err("Mobizon: отклонено оператором (REJECTD)".to_owned())),
        "EXPIRED" => Some(Err("Mobizon: истёк срок доставки (EXPIRED)".to_owned())),
        "DELETED" => Some(Err("Mobizon: удалено (DELETED)".to_owned())),
        _ => None,
    }
}

/// Checks a delivery-report webhook's `sign`: hex SHA-1 of
/// `"{eventId}|{attempt}|{eventCreateTs}|{secret}"`, compared in constant time.
pub fn verify_webhook_sign(secret: &SecretString, event_id: &str, attempt: &str, created: &str, sign: &str) -> bool {
    let expected = webhook_sign(secret.expose_secret(), event_id, attempt, created);
    expected.as_bytes().ct_eq(sign.trim().to_ascii_lowercase().as_bytes()).into()
}

/// The `sign` Mobizon puts on a webhook; for tests and the fake provider.
pub fn webhook_sign(secret: &str, event_id: &str, attempt: &str, created: &str) -> String {
    hex::encode(Sha1::digest(format!("{event_id}|{attempt}|{created}|{secret}").as_bytes()))
}

/// Reads a Mobizon webhook event (its sign already checked): a final delivery report, or
/// an event that changes no status (another event type, a status that is not final).
pub fn read_report(event: &Value) -> ReportReading {
    if event["eventType"] != "sms-delivery-report" {
        return ReportReading::Ignored(id_of(&event["eventType"]).unwrap_or_default());
    }
    let data = &event["data"];
    let Some(outcome) = final_outcome(data["status"].as_str().unwrap_or_default()) else {
        return ReportReading::Ignored("not a final status".to_owned());
    };
    let (status, error) = match outcome {
        Ok(()) => (DeliveryStatus::Delivered, None),
        Err(reason) => (DeliveryStatus::Error, Some(reason)),
    };
    ReportReading::Report(ProviderReport {
        event_type: "sms-delivery-report".to_owned(),
        status,
        at: data["statusUpdateTs"].as_str().and_then(crate::time::parse_almaty_seconds),
        error,
        message_id: id_of(&data["messageId"]),
        lead_id: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_webhook_signatures_verify() {
        assert_eq!(
            webhook_sign("topsecret", "99", "2", "2026-02-01 00:00:00"),
            "a80090cf6edc623e7f4f68a36aa30de403e7766a"
        );
        let secret = SecretString::from("secret123");
        assert!(verify_webhook_sign(
            &secret,
            "26",
            "1",
            "2026-01-15 11:42:28",
            "5cdebbb611d765bad163d765e8637830b6fd4060"
        ));
        assert!(!verify_webhook_sign(
            &secret,
            "26",
            "2",
            "2026-01-15 11:42:28",
            "5cdebbb611d765bad163d765e8637830b6fd4060"
        ));
    }

    #[test]
    fn ids_arrive_as_strings_or_numbers() {
        assert_eq!(id_of(&serde_json::json!("70000005678")), Some("70000005678".to_owned()));
        assert_eq!(id_of(&serde_json::json!(169275418)), Some("169275418".to_owned()));
        assert_eq!(id_of(&serde_json::json!(null)), None);
    }

    #[test]
    fn only_final_statuses_end_polling() {
        assert_eq!(final_outcome("DELIVRD"), Some(Ok(())));
        assert!(matches!(final_outcome("REJECTD"), Some(Err(_))));
        assert_eq!(final_outcome("ACCEPTD"), None);
        assert_eq!(final_outcome("PDLIVRD"), None);
    }
}
