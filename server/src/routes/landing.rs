//! The public intake API called by landing pages on other origins (`docs/product.md`, "Leads").

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Extension;
use axum::Json;
use serde_json::{json, Value};

use app::domain::lead_input::{LeadKind, NewLead};
use app::edge::client_addr::ClientAddr;
use app::error::AppError;
use app::intake::Accepted;
use app::metrics;
use app::state::AppState;
use app::time::now_ms;

/// `POST /api/landing/proftest`: a quiz submission.
pub async fn submit_proftest(
    state: State<AppState>,
    client: Option<Extension<ClientAddr>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), AppError> {
    submit(state, LeadKind::Proftest, client.map(|Extension(client)| client), &headers, &body).await
}

/// `POST /api/landing/submit`: an express-course checkout.
pub async fn submit_express(
    state: State<AppState>,
    client: Option<Extension<ClientAddr>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), AppError> {
    submit(state, LeadKind::Express, client.map(|Extension(client)| client), &headers, &body).await
}

/// Validates and stores a submission; answers 200 only after the commit, or 202 with a
/// receipt once it is on disk in the spool (the database could not take it in time).
///
/// An `Idempotency-Key` header makes retries safe: the same key returns the same lead.
async fn submit(
    State(state): State<AppState>,
    kind: LeadKind,
    client: Option<ClientAddr>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(StatusCode, Json<Value>), AppError> {
    let parsed = parse_submission(kind, client, headers, body);
    let (value, lead, submission_key) = parsed.inspect_err(|_| metrics::lead_refused("invalid"))?;
    let source = lead.source.clone();
    // Neither the database nor the spool took it: the cause is logged where it happened.
    let accepted = state.intake.accept(kind, &value, lead, submission_key, now_ms()).await.map_err(|_| {
        metrics::lead_refused("unavailable");
        AppError::Unavailable
    })?;
    match accepted {
        Accepted::Stored(accepted) => {
            metrics::lead_accepted(if accepted.created { "stored" } else { "repeated" });
            tracing::info!(lead.id = accepted.lead_id, lead.source = %source, lead.created = accepted.created, "lead accepted");
            let status_token = state.status_tokens().await?.token(accepted.lead_id);
            Ok((
                StatusCode::OK,
                Json(json!({ "success": true, "leadId": accepted.lead_id, "statusToken": status_token })),
            ))
        }
        Accepted::Spooled { receipt } => {
            metrics::lead_accepted("spooled");
            tracing::info!(lead.source = %source, "lead spooled until the database is back");
            Ok((StatusCode::ACCEPTED, Json(json!({ "success": true, "queued": true, "receipt": receipt }))))
        }
    }
}

/// The body as JSON (with the browser's own details added), the lead it describes and the
/// `Idempotency-Key`, or what is wrong.
fn parse_submission(
    kind: LeadKind,
    client: Option<ClientAddr>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Value, NewLead, Option<String>), AppError> {
    let mut value: Value = serde_json::from_slice(body)
        .map_err(|error| AppError::validation("body", format!("тело запроса не является корректным JSON ({error})")))?;
    add_browser_details(&mut value, client, headers);
    let lead = NewLead::parse(kind, &value)?;
    let submission_key = idempotency_key(headers)?.map(str::to_owned);
    Ok((value, lead, submission_key))
}

/// A browser's cross-origin request (it sends `Origin`) comes from the visitor: its address,
/// user agent and page stand in for the `client_ip`, `client_user_agent` and `page_url`
/// the body lacks. A landing's server relaying the form sends no `Origin`, and its own
/// address and agent are not the visitor's, so nothing is added then. Added to the body,
/// they travel with it through the spool.
fn add_browser_details(value: &mut Value, client: Option<ClientAddr>, headers: &HeaderMap) {
    let (Some(origin), Value::Object(fields)) = (header_text(headers, "origin"), value) else { return };
    let referer =
        header_text(headers, "referer").filter(|url| url.starts_with("https://") || url.starts_with("http://"));
    let details = [
        ("client_ip", client.map(|ClientAddr(ip)| ip.to_string())),
        ("client_user_agent", header_text(headers, "user-agent").map(|agent| agent.chars().take(1000).collect())),
        ("page_url", referer.or(Some(origin)).filter(|url| url.starts_with("http") && url.len() <= 2000)),
    ];
    for (field, detail) in details {
        if let (None | Some(Value::Null), Some(detail)) = (fields.get(field), detail) {
            fields.insert(field.to_owned(), Value::String(detail));
        }
    }
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|text| !text.is_empty())
        .map(str::to_owned)
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<&str>, AppError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|key| !key.is_empty() && key.len() <= 200)
        .ok_or_else(|| AppError::validation("Idempotency-Key", "ожидается строка до 200 символов"))?;
    Ok(Some(key))
}
