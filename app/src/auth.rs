//! Passwords, sessions and bearer tokens.
//!
//! Passwords are hashed with Argon2id (memory-hard). Session cookies and API tokens are
//! 256-bit random secrets; the database keeps only their SHA-256, so a leaked table
//! signs nobody in.

use std::net::IpAddr;
use std::sync::LazyLock;
use std::time::Duration;

use anyhow::Context;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use http::header::{AUTHORIZATION, COOKIE};
use http::HeaderMap;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::db::{credential, user, Db};
use crate::edge::retry_after_secs;
use crate::edge::sign_in_guard::SignInGuard;
use crate::error::AppError;
use crate::models::{CurrentUser, Role};
use crate::time::{millis, now_ms};

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "lt_session";

/// Hashes a password with Argon2id on the blocking pool.
pub async fn hash_password(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|error| anyhow::anyhow!("hashing a password: {error}"))
    })
    .await
    .context("joining the password hasher")?
}

/// Checks a password against a stored hash on the blocking pool.
pub async fn verify_password(hash: String, password: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// A hash checked when the login does not exist, so that a wrong login takes as long as
/// a wrong password and does not reveal which logins exist.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default().hash_password(b"not a password", &salt).map(|hash| hash.to_string()).unwrap_or_default()
});

/// A new random secret for a session cookie or API token, as 64 hex digits.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Whether a secret a caller presented (a webhook URL's `token`) is the configured one,
/// compared in constant time.
pub fn secret_matches(expected: &secrecy::SecretString, given: &str) -> bool {
    use secrecy::ExposeSecret;
    use subtle::ConstantTimeEq;

    bool::from(given.as_bytes().ct_eq(expected.expose_secret().as_bytes()))
}

/// The stored form of a secret.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A sign-in attempt: who, from where, with what.
pub struct SignInAttempt<'a> {
    pub login: &'a str,
    pub password: &'a str,
    pub client: IpAddr,
}

/// Checks a login and password; on success stores a session and returns its secret.
///
/// An address or login still in its delay after failures is refused at once
/// (`TooManyRequests`), before any query or hash. The password is checked under the
/// guard's concurrency cap and without holding a database connection, so a flood of
/// attempts can neither pin the pool nor take every core.
pub async fn sign_in(
    db: &Db,
    guard: &SignInGuard,
    attempt: SignInAttempt<'_>,
    ttl: Duration,
) -> Result<Option<(String, CurrentUser)>, AppError> {
    let SignInAttempt { login, password, client } = attempt;
    if let Some(wait) = guard.wait(client, login) {
        return Err(AppError::TooManyRequests { retry_after_secs: retry_after_secs(wait) });
    }
    // The turn comes first: an attempt over the rate costs neither a query nor a hash.
    let permit = guard
        .password_check()
        .await
        .map_err(|wait| AppError::TooManyRequests { retry_after_secs: retry_after_secs(wait) })?;
    let found = {
        let mut conn = db.pool().acquire().await?;
        user::find_credentials(&mut conn, login.trim()).await?
    };
    let hash = found.as_ref().map_or_else(|| DUMMY_HASH.clone(), |found| found.password_hash.clone());
    // A wrong login costs a hash too, so timing does not tell which logins exist.
    let verified = verify_password(hash, password.to_owned()).await;
    drop(permit);
    let role = found.as_ref().and_then(|found| Role::parse(&found.role));
    let (Some(found), Some(role), true) = (found, role, verified) else {
        guard.failed(client, login);
        return Ok(None);
    };
    guard.succeeded(client, login);
    let secret = new_secret();
    let now = now_ms();
    let expires_at = now + i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2);
    let mut conn = db.pool().acquire().await?;
    credential::insert_session(&mut conn, found.user_id, &secret_hash(&secret), now, expires_at).await?;
    // Signing in is rare enough to carry the clean-up of sessions nobody can use any more.
    credential::delete_expired_sessions(&mut conn, now).await?;
    let user = CurrentUser { user_id: found.user_id, login: found.login, role, team_id: found.team_id };
    Ok(Some((secret, user)))
}

/// Ends the session whose secret the request carries, if any.
pub async fn sign_out(db: &Db, headers: &HeaderMap) -> Result<(), sqlx::Error> {
    if let Some(secret) = session_secret(headers) {
        let mut conn = db.pool().acquire().await?;
        credential::delete_session(&mut conn, &secret_hash(secret)).await?;
    }
    Ok(())
}

/// How stale a session's or token's recorded last use may be before a request records it
/// again: one write a minute per active credential, not one per request.
const LAST_SEEN_RESOLUTION_MS: i64 = 60_000;

/// The user behind a request: a `Bearer` API token first, then the session cookie, whose
/// session ends after `idle` without use.
pub async fn authenticate(db: &Db, headers: &HeaderMap, idle: Duration) -> Result<Option<CurrentUser>, sqlx::Error> {
    let now = now_ms();
    if let Some(token) = bearer_token(headers) {
        let hash = secret_hash(token);
        let found = {
            let mut conn = db.pool().acquire().await?;
            user::user_by_api_token(&mut conn, &hash).await?
        };
        let Some((user, last_used_at)) = found else { return Ok(None) };
        if now - last_used_at > LAST_SEEN_RESOLUTION_MS {
            let mut conn = db.write_connection().await?;
            credential::touch_api_token(&mut conn, &hash, now).await?;
        }
        return Ok(Some(user));
    }
    let Some(secret) = session_secret(headers) else { return Ok(None) };
    let hash = secret_hash(secret);
    let found = {
        let mut conn = db.pool().acquire().await?;
        user::user_by_session(&mut conn, &hash, now, now - millis(idle)).await?
    };
    let Some(found) = found else { return Ok(None) };
    if now - found.last_seen_at > LAST_SEEN_RESOLUTION_MS {
        let mut conn = db.write_connection().await?;
        credential::touch_session(&mut conn, &hash, now).await?;
    }
    Ok(Some(found.user))
}

/// Whether the request carries an `Authorization: Bearer` token.
pub fn has_bearer_token(headers: &HeaderMap) -> bool {
    bearer_token(headers).is_some()
}

/// Whether the request carries our session cookie.
pub fn has_session_cookie(headers: &HeaderMap) -> bool {
    session_secret(headers).is_some()
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
}

/// The value of the session cookie, if the request has one.
fn session_secret(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(SESSION_COOKIE)?.strip_prefix('='))
        .filter(|secret| !secret.is_empty())
}

/// The `Set-Cookie` value that starts a session.
pub fn session_cookie(secret: &str, ttl: Duration, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}", ttl.as_secs())
}

/// The `Set-Cookie` value that ends a session.
pub fn expired_session_cookie() -> String {
    format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, "theme=dark; lt_session=abc123; other=1".parse().unwrap());
        assert_eq!(session_secret(&headers), Some("abc123"));
        headers.insert(COOKIE, "lt_sessionx=abc".parse().unwrap());
        assert_eq!(session_secret(&headers), None);
    }

    #[tokio::test]
    async fn passwords_verify_only_against_their_own_hash() {
        let hash = hash_password("correct horse".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(hash.clone(), "correct horse".into()).await);
        assert!(!verify_password(hash, "wrong".into()).await);
    }
}
