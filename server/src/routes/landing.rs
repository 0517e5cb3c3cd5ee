//! The public intake API called by landing pages on other origins (`docs/product.md`, "Leads").

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Value};

use app::domain::lead_input::{LeadKind, NewLead};
use app::error::AppError;
use app::state::AppState;
use app::time::now_ms;

/// `POST /api/landing/proftest`: a quiz submission.
pub async fn submit_proftest(state: State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Json<Value>, AppError> {
    submit(state, LeadKind::Proftest, &headers, &body).await
}

/// `POST /api/landing/submit`: an express-course checkout.
pub async fn submit_express(state: State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Json<Value>, AppError> {
    submit(state, LeadKind::Express, &headers, &body).await
}

/// Validates and stores a submission; answers only after the commit.
///
/// An `Idempotency-Key` header makes retries safe: the same key returns the same lead.
async fn submit(
    State(state): State<AppState>,
    kind: LeadKind,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Json<Value>, AppError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|error| AppError::validation("body", format!("тело запроса не является корректным JSON ({error})")))?;
    let lead = NewLead::parse(kind, &value)?;
    let submission_key = idempotency_key(headers)?.map(str::to_owned);
    let source = lead.source.clone();
    // The writer has logged why a batch failed; here it only becomes a 500.
    let accepted = state.intake.submit(lead, submission_key, now_ms()).await.map_err(|_| AppError::Internal)?;
    tracing::info!(lead.id = accepted.lead_id, lead.source = %source, lead.created = accepted.created, "lead accepted");
    Ok(Json(json!({ "success": true, "leadId": accepted.lead_id })))
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
