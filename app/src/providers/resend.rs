//! The Resend client: `POST /emails` with an idempotency key per job, and the Svix
//! signature check of Resend's webhooks (`docs/providers.md`, Resend).

use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::Sha256;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::{http_client, EmailMessage, ProviderReport, ReportReading, SendError};
use crate::config::EmailConfig;
use crate::domain::delivery::DeliveryStatus;
use crate::domain::integration::{Integration, Refusal};

/// Sends email through the Resend API.
#[derive(Debug)]
pub struct ResendClient {
    http: reqwest::Client,
    endpoint: String,
    /// `GET /domains`, the probe of a paused integration.
    domains: String,
    api_key: SecretString,
    from: String,
    /// Requests wait until this instant after the provider said the rate limit is used up.
    not_before: Mutex<Option<Instant>>,
}

#[derive(Deserialize)]
struct SentEmail {
    id: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    message: String,
    #[serde(default)]
    name: String,
}

impl ResendClient {
    /// A client for `config.api_url` with `api_key`.
    pub fn new(config: &EmailConfig, api_key: SecretString) -> Self {
        Self {
            http: http_client(config.timeout),
            endpoint: format!("{}/emails", config.api_url),
            domains: format!("{}/domains", config.api_url),
            api_key,
            from: config.from.clone(),
            not_before: Mutex::new(None),
        }
    }

    /// Sends `message`; the provider's id on success.
    ///
    /// 429 and 5xx are retryable (after the provider's `retry-after` when it gives one);
    /// 401 and 403 (a missing, revoked or invalid key, a sender domain not verified) and a
    /// refused `from` address refuse the integration; other 4xx are rejections of this
    /// message carrying the provider's message.
    pub async fn send(&self, message: &EmailMessage) -> Result<String, SendError> {
        self.wait_for_rate_limit().await;
        let body = serde_json::json!({
            "from": self.from,
            "to": [message.to],
            "subject": message.subject,
            "html": message.html,
            "text": message.text,
            "tags": [{ "name": "lead_id", "value": message.lead_id.to_string() }],
        });
        let response = self
            .http
            .post(&self.endpoint)
            .bearer_auth(self.api_key.expose_secret())
            .header("Idempotency-Key", &message.idempotency_key)
            .json(&body)
            .send()
            .await
            .map_err(|error| SendError::transport("Resend", error))?;
        let status = response.status();
        let pause = rate_limit_pause(status, response.headers());
        if let Some(pause) = pause {
            *self.not_before.lock().await = Some(Instant::now() + pause);
        }
        let bytes = response.bytes().await.map_err(|error| SendError::transport("Resend", error))?;
        if status.is_success() {
            return serde_json::from_slice::<SentEmail>(&bytes)
                .map(|sent| sent.id)
                .map_err(|_| SendError::retryable(format!("Resend: HTTP {status} with an unreadable body")));
        }
        let error: Option<ErrorBody> = serde_json::from_slice(&bytes).ok();
        let detail = match &error {
            Some(error) if !error.message.is_empty() => format!("{} ({})", error.message, error.name),
            _ => "no error details".to_owned(),
        };
        let message = format!("Resend: HTTP {}: {detail}", status.as_u16());
        let name = error.as_ref().map_or("", |error| error.name.as_str());
        if status == StatusCode::TOO_MANY_REQUESTS
            || status.is_server_error()
            || name == "concurrent_idempotent_requests"
        {
            Err(SendError::Retryable { message, retry_after: pause })
        } else if refuses_the_account(status, name) {
            Err(SendError::Refused(Refusal::new(Integration::Resend, refusal_reason(status, &detail))))
        } else {
            Err(SendError::Rejected { message })
        }
    }

    /// Checks that Resend takes our key: `GET /domains` answers a full-access key, and a
    /// sending-only key with 401 `restricted_api_key` (which proves the key is valid).
    pub async fn check_key(&self) -> Result<(), SendError> {
        let response = self
            .http
            .get(&self.domains)
            .bearer_auth(self.api_key.expose_secret())
            .send()
            .await
            .map_err(|error| SendError::transport("Resend", error))?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|error| SendError::transport("Resend", error))?;
        let error: Option<ErrorBody> = serde_json::from_slice(&bytes).ok();
        let name = error.as_ref().map_or("", |error| error.name.as_str());
        if status.is_success() || name == "restricted_api_key" {
            return Ok(());
        }
        let detail =
            error.as_ref().map_or_else(|| "no error details".to_owned(), |e| format!("{} ({})", e.message, e.name));
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            return Err(SendError::retryable(format!("Resend: HTTP {}: {detail}", status.as_u16())));
        }
        Err(SendError::Refused(Refusal::new(Integration::Resend, refusal_reason(status, &detail))))
    }

    async fn wait_for_rate_limit(&self) {
        let not_before = *self.not_before.lock().await;
        if let Some(at) = not_before {
            tokio::time::sleep_until(at).await;
        }
    }
}

/// Whether an error answer refuses every message, not this one: a missing, restricted or
/// invalid key (401, 403; newer answers name an invalid key `validation_error`), a sender
/// domain not verified (403), or the configured `from` address.
fn refuses_the_account(status: StatusCode, name: &str) -> bool {
    matches!(status.as_u16(), 401 | 403) || name == "invalid_from_address"
}

/// The admin page's reason for a refusal.
fn refusal_reason(status: StatusCode, detail: &str) -> String {
    let why = match status.as_u16() {
        401 | 403 => "Resend не принимает ключ API или отправителя",
        _ => "Resend отклоняет адрес отправителя (EMAIL_FROM)",
    };
    format!("{why} ({}): {detail}", status.as_u16())
}

/// How long to hold off after this response: `retry-after` on a 429, or the window's
/// `ratelimit-reset` when `ratelimit-remaining` reached zero.
fn rate_limit_pause(status: StatusCode, headers: &HeaderMap) -> Option<Duration> {
    let seconds = |name: &str| -> Option<f64> {
        headers.get(name)?.to_str().ok()?.trim().parse::<f64>().ok().filter(|value| value.is_finite() && *value >= 0.0)
    };
    if status == StatusCode::TOO_MANY_REQUESTS {
        let wait = seconds("retry-after").or_else(|| seconds("ratelimit-reset")).unwrap_or(1.0);
        return Some(Duration::from_secs_f64(wait.min(3600.0)));
    }
    if seconds("ratelimit-remaining") == Some(0.0) {
        return seconds("ratelimit-reset").map(|wait| Duration::from_secs_f64(wait.min(3600.0)));
    }
    None
}

/// Why a webhook delivery was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("svix-id, svix-timestamp or svix-signature header missing")]
    MissingHeaders,
    #[error("timestamp outside the 5-minute tolerance")]
    Stale,
    #[error("no signature matches")]
    Mismatch,
    #[error("the signing secret is not whsec_<base64>")]
    BadSecret,
}

/// How far a webhook's timestamp may be from our clock, either way.
pub const WEBHOOK_TOLERANCE_SECS: i64 = 5 * 60;

/// Checks the Svix signature of a webhook delivery over its raw body.
///
/// `signatures` is the `svix-signature` header: space-separated `v1,<base64>` entries, any
/// of which may match (there are several while a secret rotates).
pub fn verify_svix_signature(
    secret: &SecretString,
    id: &str,
    timestamp: &str,
    signatures: &str,
    body: &[u8],
    now_secs: i64,
) -> Result<(), SignatureError> {
    if id.is_empty() || timestamp.is_empty() || signatures.is_empty() {
        return Err(SignatureError::MissingHeaders);
    }
    let sent_at: i64 = timestamp.trim().parse().map_err(|_| SignatureError::Stale)?;
    if (now_secs - sent_at).abs() > WEBHOOK_TOLERANCE_SECS {
        return Err(SignatureError::Stale);
    }
    let key = secret.expose_secret();
    let key = BASE64.decode(key.strip_prefix("whsec_").unwrap_or(key)).map_err(|_| SignatureError::BadSecret)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|_| SignatureError::BadSecret)?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.trim().as_bytes());
    mac.update(b".");
    mac.update(body);
    let matches = signatures
        .split_whitespace()
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|signature| BASE64.decode(signature).ok())
        .any(|signature| mac.clone().verify_slice(&signature).is_ok());
    if matches {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// Signs `body` as Svix does; for tests and the fake provider.
pub fn svix_signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    let key = BASE64.decode(secret.strip_prefix("whsec_").unwrap_or(secret)).expect("a whsec_<base64> secret");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()))
}

/// Reads a Resend webhook event (its signature already checked): the status it reports
/// and the message it is about, found by our `lead_id` tag or Resend's `email_id`.
///
/// Errors: the body is not a JSON event.
pub fn read_event(body: &[u8]) -> Result<ReportReading, &'static str> {
    let event: serde_json::Value = serde_json::from_slice(body).map_err(|_| "the body is not JSON")?;
    let event_type = event["type"].as_str().unwrap_or_default();
    let data = &event["data"];
    let status = match event_type {
        "email.sent" => DeliveryStatus::Sent,
        "email.delivered" => DeliveryStatus::Delivered,
        "email.opened" => DeliveryStatus::Opened,
        "email.clicked" => DeliveryStatus::Clicked,
        "email.bounced" => DeliveryStatus::Bounced,
        "email.failed" => DeliveryStatus::Error,
        // Delays, complaints and non-email events do not change a lead's status.
        other => return Ok(ReportReading::Ignored(other.to_owned())),
    };
    let error = match status {
        DeliveryStatus::Bounced => data["bounce"]["message"].as_str().map(str::to_owned),
        DeliveryStatus::Error => data["failed"]["reason"].as_str().map(str::to_owned),
        _ => None,
    };
    let at = event["created_at"]
        .as_str()
        .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
        .map(|at| at.timestamp_millis());
    let tag = match &data["tags"] {
        serde_json::Value::Array(tags) => {
            tags.iter().find(|tag| tag["name"] == "lead_id").and_then(|tag| tag["value"].as_str())
        }
        serde_json::Value::Object(tags) => tags.get("lead_id").and_then(serde_json::Value::as_str),
        _ => None,
    };
    Ok(ReportReading::Report(ProviderReport {
        event_type: event_type.to_owned(),
        status,
        at,
        error,
        message_id: data["email_id"].as_str().map(str::to_owned),
        lead_id: tag.and_then(|tag| tag.parse().ok()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_svix_test_vector_verifies() {
        let secret = SecretString::from("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let body = br#"{"test": 2432232314}"#;
        let header = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
        assert_eq!(
            verify_svix_signature(&secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", header, body, 1614265330),
            Ok(())
        );
        assert_eq!(svix_signature(secret.expose_secret(), "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body), header);
    }

    #[test]
    fn the_resend_vector_verifies_among_rotated_signatures() {
        let secret = SecretString::from("whsec_cmVzZW5kLWZha2Utd2ViaG9vay1zZWNyZXQtMDAwMQ==");
        let body = br#"{"type":"email.delivered","created_at":"2024-06-20T16:13:20.000Z","data":{"created_at":"2024-06-20 16:13:18.361585+00","email_id":"4ef9a417-02e9-4d39-ad75-9611e0fcc33c","from":"Acme <onboarding@resend.dev>","to":["delivered@resend.dev"],"subject":"Sending this example","tags":[{"name":"category","value":"confirm_email"}]}}"#;
        let header = "v1,bm90IGl0 v1,N91+2reokf0lFIkEV7qrZfuJtyYiyJ0V6fegpG+oTkU=";
        assert_eq!(
            verify_svix_signature(&secret, "msg_2Lh9KRb0pzN4NjKm0Z3Q6QY4j7P", "1718900000", header, body, 1718900100),
            Ok(())
        );
    }

    #[test]
    fn tampering_and_stale_timestamps_are_refused() {
        let secret = SecretString::from("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let header = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        assert_eq!(
            verify_svix_signature(&secret, id, "1614265330", header, br#"{"test": 2432232315}"#, 1614265330),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_svix_signature(&secret, id, "1614265330", header, br#"{"test": 2432232314}"#, 1614265330 + 301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify_svix_signature(&secret, id, "1614265330", header, br#"{"test": 2432232314}"#, 1614265330 - 301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify_svix_signature(&secret, "", "1614265330", header, b"", 1614265330),
            Err(SignatureError::MissingHeaders)
        );
    }

    #[test]
    fn key_and_sender_problems_refuse_the_account_while_bad_messages_fail_alone() {
        assert!(refuses_the_account(StatusCode::UNAUTHORIZED, "missing_api_key"));
        assert!(refuses_the_account(StatusCode::FORBIDDEN, "invalid_api_key"));
        assert!(refuses_the_account(StatusCode::FORBIDDEN, "validation_error"));
        assert!(refuses_the_account(StatusCode::UNPROCESSABLE_ENTITY, "invalid_from_address"));
        assert!(!refuses_the_account(StatusCode::UNPROCESSABLE_ENTITY, "missing_required_field"));
        assert!(!refuses_the_account(StatusCode::BAD_REQUEST, "validation_error"));
    }

    #[test]
    fn rate_limit_headers_pause_the_client() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", "2".parse().unwrap());
        assert_eq!(rate_limit_pause(StatusCode::TOO_MANY_REQUESTS, &headers), Some(Duration::from_secs(2)));
        let mut headers = HeaderMap::new();
        headers.insert("ratelimit-remaining", "0".parse().unwrap());
        headers.insert("ratelimit-reset", "1".parse().unwrap());
        assert_eq!(rate_limit_pause(StatusCode::OK, &headers), Some(Duration::from_secs(1)));
        headers.insert("ratelimit-remaining", "3".parse().unwrap());
        assert_eq!(rate_limit_pause(StatusCode::OK, &headers), None);
    }
}
