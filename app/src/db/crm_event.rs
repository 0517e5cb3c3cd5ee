//! AmoCRM webhook deliveries as they arrived.

use sqlx::AnyConnection;

/// Stores a delivery; returns its id.
pub async fn insert_crm_event(
    conn: &mut AnyConnection,
    route: &str,
    body: &str,
    status: &str,
    reason: Option<&str>,
    now_ms: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO crm_event (route, body, received_at, status, reason) VALUES ($1, $2, $3, $4, $5) RETURNING event_id",
    )
    .bind(route)
    .bind(body)
    .bind(now_ms)
    .bind(status)
    .bind(reason)
    .fetch_one(conn)
    .await
}

/// A stored delivery: `(route, body, received_at)`.
pub async fn crm_event(conn: &mut AnyConnection, event_id: i64) -> Result<Option<(String, String, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT route, body, received_at FROM crm_event WHERE event_id = $1")
        .bind(event_id)
        .fetch_optional(conn)
        .await
}

/// Marks a delivery `processed`, `ignored` or `rejected`.
pub async fn finish_crm_event(
    conn: &mut AnyConnection,
    event_id: i64,
    status: &str,
    reason: Option<&str>,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE crm_event SET status = $1, reason = $2, processed_at = $3 WHERE event_id = $4")
        .bind(status)
        .bind(reason)
        .bind(now_ms)
        .bind(event_id)
        .execute(conn)
        .await
        .map(drop)
}
