//! Sessions and API tokens; only SHA-256 hashes of the secrets are stored.

use sqlx::{AnyConnection, FromRow};

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
/// Records that the session was used now (for the idle expiry).
pub async fn touch_session(conn: &mut AnyConnection, token_hash: &str, now_ms: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE user_session SET last_seen_at = $1 WHERE token_hash = $2")
        .bind(now_ms)
        .bind(token_hash)
        .execute(conn)
        .await
        .map(drop)
}

/// Records that the API token was used now (shown by `server token list`).
pub async fn touch_api_token(conn: &mut AnyConnection, token_hash: &str, now_ms: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE api_token SET last_used_at = $1 WHERE token_hash = $2")
        .bind(now_ms)
        .bind(token_hash)
        .execute(conn)
        .await
        .map(drop)
}

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

/// Stores a new API token for `user_id`; returns its id.
pub async fn insert_api_token(
    conn: &mut AnyConnection,
    user_id: i64,
    token_hash: &str,
    now_ms: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("INSERT INTO api_token (token_hash, user_id, created_at) VALUES ($1, $2, $3) RETURNING token_id")
        .bind(token_hash)
        .bind(user_id)
        .bind(now_ms)
        .fetch_one(conn)
        .await
}

/// An API token as `server token list` shows it (never the secret).
#[derive(Debug, Clone, FromRow)]
pub struct ApiTokenRow {
    pub token_id: i64,
    pub login: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// Every API token, oldest first.
pub async fn list_api_tokens(conn: &mut AnyConnection) -> Result<Vec<ApiTokenRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT t.token_id, u.login, t.created_at, t.last_used_at, t.revoked_at \
         FROM api_token t JOIN app_user u ON u.user_id = t.user_id ORDER BY t.token_id",
    )
    .fetch_all(conn)
    .await
}

/// Which tokens to revoke.
#[derive(Debug, Clone)]
pub enum TokenSelection {
    /// One token by its id.
    Id(i64),
    /// Every token of a login.
    Login(String),
}

/// Revokes the selected tokens that are still live; returns how many.
pub async fn revoke_api_tokens(
    conn: &mut AnyConnection,
    selection: &TokenSelection,
    now_ms: i64,
) -> Result<u64, sqlx::Error> {
    let query = match selection {
        TokenSelection::Id(id) => {
            sqlx::query("UPDATE api_token SET revoked_at = $1 WHERE token_id = $2 AND revoked_at IS NULL")
                .bind(now_ms)
                .bind(*id)
        }
        TokenSelection::Login(login) => sqlx::query(
            "UPDATE api_token SET revoked_at = $1 WHERE revoked_at IS NULL \
             AND user_id IN (SELECT user_id FROM app_user WHERE lower(login) = lower($2))",
        )
        .bind(now_ms)
        .bind(login.clone()),
    };
    query.execute(conn).await.map(|result| result.rows_affected())
}
