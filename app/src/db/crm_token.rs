//! AmoCRM's stored OAuth token pair (one row).

use sqlx::AnyConnection;

/// The stored pair: `(access token, refresh token, expires at UTC ms)`.
pub type TokenPair = (String, String, i64);

/// The stored pair, if any.
pub async fn crm_token(conn: &mut AnyConnection) -> Result<Option<TokenPair>, sqlx::Error> {
    sqlx::query_as("SELECT access_token, refresh_token, expires_at FROM crm_token WHERE token_id = 1")
        .fetch_optional(conn)
        .await
}

/// Makes the caller's transaction the only one refreshing the pair until it ends
/// (PostgreSQL, where several processes share it; SQLite's one process refreshes under
/// its own lock).
pub async fn lock_for_refresh(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock(7201)").execute(conn).await.map(drop)
}

/// Stores a pair, replacing the previous one.
pub async fn save_crm_token(conn: &mut AnyConnection, pair: &TokenPair, now_ms: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO crm_token (token_id, access_token, refresh_token, expires_at, updated_at) VALUES (1, $1, $2, $3, $4) \
         ON CONFLICT (token_id) DO UPDATE SET access_token = excluded.access_token, \
         refresh_token = excluded.refresh_token, expires_at = excluded.expires_at, updated_at = excluded.updated_at",
    )
    .bind(pair.0.as_str())
    .bind(pair.1.as_str())
    .bind(pair.2)
    .bind(now_ms)
    .execute(conn)
    .await
    .map(drop)
}
