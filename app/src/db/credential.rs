//! Sessions and API tokens; only SHA-256 hashes of the secrets are stored.

use sqlx::AnyConnection;

/// Stores a new session for `user_id`.
pub async fn insert_session(
    conn: &mut AnyConnection,
    user_id: i64,
    token_hash: &str,
    now_ms: i64,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO user_session (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(token_hash)
        .bind(user_id)
        .bind(now_ms)
        .bind(expires_at)
        .execute(conn)
        .await
        .map(drop)
}

/// Ends a session.
pub async fn delete_session(conn: &mut AnyConnection, token_hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM user_session WHERE token_hash = $1").bind(token_hash).execute(conn).await.map(drop)
}

/// Removes sessions that have expired.
pub async fn delete_expired_sessions(conn: &mut AnyConnection, now_ms: i64) -> Result<u64, sqlx::Error> {
    sqlx::query("DELETE FROM user_session WHERE expires_at <= $1")
        .bind(now_ms)
        .execute(conn)
        .await
        .map(|result| result.rows_affected())
}

/// Stores a new API token for `user_id`.
pub async fn insert_api_token(
    conn: &mut AnyConnection,
    user_id: i64,
    token_hash: &str,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO api_token (token_hash, user_id, created_at) VALUES ($1, $2, $3)")
        .bind(token_hash)
        .bind(user_id)
        .bind(now_ms)
        .execute(conn)
        .await
        .map(drop)
}
