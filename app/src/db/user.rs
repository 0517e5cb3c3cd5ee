//! User accounts.

use sqlx::{AnyConnection, FromRow};

use crate::models::{CurrentUser, Role};

/// A user with the hash needed to check a password; not serialisable on purpose.
#[derive(FromRow)]
pub struct UserCredentialRow {
    pub user_id: i64,
    pub login: String,
    pub role: String,
    pub team_id: Option<i64>,
    pub password_hash: String,
}

#[derive(FromRow)]
struct UserRow {
    user_id: i64,
    login: String,
    role: String,
    team_id: Option<i64>,
}

impl UserRow {
    fn into_current_user(self) -> Option<CurrentUser> {
        Some(CurrentUser {
            user_id: self.user_id,
            login: self.login,
            role: Role::parse(&self.role)?,
            team_id: self.team_id,
        })
    }
}

/// Creates a user; the login must be unused (case-insensitively).
pub async fn insert_user(
    conn: &mut AnyConnection,
    login: &str,
    password_hash: &str,
    role: Role,
    team_id: Option<i64>,
    now_ms: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO app_user (login, password_hash, role, team_id, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING user_id",
    )
    .bind(login)
    .bind(password_hash)
    .bind(role.as_str())
    .bind(team_id)
    .bind(now_ms)
    .fetch_one(conn)
    .await
}

/// Replaces a user's password and ends every session of theirs (whoever knew the old
/// one is signed out); API tokens stay.
pub async fn set_password(conn: &mut AnyConnection, user_id: i64, password_hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE app_user SET password_hash = $1 WHERE user_id = $2")
        .bind(password_hash)
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM user_session WHERE user_id = $1").bind(user_id).execute(conn).await.map(drop)
}

/// An enabled user by login, with the password hash.
pub async fn find_credentials(conn: &mut AnyConnection, login: &str) -> Result<Option<UserCredentialRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT user_id, login, role, team_id, password_hash FROM app_user \
         WHERE lower(login) = lower($1) AND disabled_at IS NULL",
    )
    .bind(login)
    .fetch_optional(conn)
    .await
}

/// How many users exist.
pub async fn count_users(conn: &mut AnyConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM app_user").fetch_one(conn).await
}

/// A live session's user and when the session was last used.
pub struct SessionUser {
    pub user: CurrentUser,
    /// UTC milliseconds.
    pub last_seen_at: i64,
}

/// The enabled user holding a session with this token hash that has not expired and was
/// used after `idle_since`.
pub async fn user_by_session(
    conn: &mut AnyConnection,
    token_hash: &str,
    now_ms: i64,
    idle_since: i64,
) -> Result<Option<SessionUser>, sqlx::Error> {
    let row: Option<(i64, String, String, Option<i64>, i64)> = sqlx::query_as(
        "SELECT u.user_id, u.login, u.role, u.team_id, COALESCE(s.last_seen_at, s.created_at) \
         FROM user_session s JOIN app_user u ON u.user_id = s.user_id \
         WHERE s.token_hash = $1 AND s.expires_at > $2 AND COALESCE(s.last_seen_at, s.created_at) > $3 \
         AND u.disabled_at IS NULL",
    )
    .bind(token_hash)
    .bind(now_ms)
    .bind(idle_since)
    .fetch_optional(conn)
    .await?;
    Ok(row.and_then(|(user_id, login, role, team_id, last_seen_at)| {
        let user = UserRow { user_id, login, role, team_id }.into_current_user()?;
        Some(SessionUser { user, last_seen_at })
    }))
}

/// Disables a user (or enables one again); a disabled user's sessions are deleted and
/// their API tokens stop working. Returns whether the login exists.
pub async fn set_disabled(
    conn: &mut AnyConnection,
    login: &str,
    disabled: bool,
    now_ms: i64,
) -> Result<bool, sqlx::Error> {
    let user_id: Option<i64> =
        sqlx::query_scalar("UPDATE app_user SET disabled_at = $1 WHERE lower(login) = lower($2) RETURNING user_id")
            .bind(disabled.then_some(now_ms))
            .bind(login)
            .fetch_optional(&mut *conn)
            .await?;
    let Some(user_id) = user_id else { return Ok(false) };
    if disabled {
        sqlx::query("DELETE FROM user_session WHERE user_id = $1").bind(user_id).execute(conn).await?;
    }
    Ok(true)
}

/// The enabled user holding an unrevoked API token with this hash, and when the token
/// was last used (UTC milliseconds; 0 if never).
pub async fn user_by_api_token(
    conn: &mut AnyConnection,
    token_hash: &str,
) -> Result<Option<(CurrentUser, i64)>, sqlx::Error> {
    let row: Option<(i64, String, String, Option<i64>, i64)> = sqlx::query_as(
        "SELECT u.user_id, u.login, u.role, u.team_id, COALESCE(t.last_used_at, 0) \
         FROM api_token t JOIN app_user u ON u.user_id = t.user_id \
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.disabled_at IS NULL",
    )
    .bind(token_hash)
    .fetch_optional(conn)
    .await?;
    Ok(row.and_then(|(user_id, login, role, team_id, last_used_at)| {
        Some((UserRow { user_id, login, role, team_id }.into_current_user()?, last_used_at))
    }))
}
