//! Who may call what. The request edge resolves the user of every request once — a bearer
//! token, else the session cookie — and keeps it in the request's extensions as a
//! [`Viewer`]; pages, server functions ([`as_user`], [`as_admin`]) and JSON routes (the
//! [`SignedIn`] and [`Admin`] extractors) all read it from there.

use std::future::Future;
use std::sync::atomic::Ordering;

use axum::extract::FromRequestParts;
use http::request::Parts;
use http::HeaderMap;

use crate::auth::authenticate;
use crate::error::{respond_with, AppError};
use crate::models::{CurrentUser, Role};
use crate::state::{app_state, AppState};

/// The user a request was made by, if any; resolved once per request.
#[derive(Debug, Clone)]
pub struct Viewer(pub Option<CurrentUser>);

/// Looks the user of `headers` up (the only place that does); counts the look-ups.
pub async fn resolve_viewer(state: &AppState, headers: &HeaderMap) -> Result<Viewer, AppError> {
    state.credential_lookups.fetch_add(1, Ordering::Relaxed);
    Ok(Viewer(authenticate(&state.db, headers, state.config.web.session_idle).await?))
}

/// The viewer of a request: from its extensions, else looked up (a request that did not
/// pass the edge's middleware, as in unit tests).
async fn viewer_of(state: &AppState, parts: &Parts) -> Result<Viewer, AppError> {
    match parts.extensions.get::<Viewer>() {
        Some(viewer) => Ok(viewer.clone()),
        None => resolve_viewer(state, &parts.headers).await,
    }
}

/// The signed-in user, or `Unauthorized`.
fn signed_in(viewer: Viewer) -> Result<CurrentUser, AppError> {
    viewer.0.ok_or(AppError::Unauthorized)
}

/// The signed-in admin: `Unauthorized` without a user, `Forbidden` for another role.
fn admin(viewer: Viewer) -> Result<CurrentUser, AppError> {
    let user = signed_in(viewer)?;
    match user.role {
        Role::Admin => Ok(user),
        _ => Err(AppError::Forbidden),
    }
}

/// The signed-in user of the current server-function call, or `Unauthorized`.
pub async fn require_user() -> Result<CurrentUser, AppError> {
    let state = app_state()?;
    let parts = leptos::prelude::use_context::<Parts>().ok_or_else(|| {
        AppError::internal("server function without request parts", anyhow::anyhow!("missing context"))
    })?;
    signed_in(viewer_of(&state, &parts).await?)
}

/// Runs a server function's body for a signed-in user, with the state, and sets the
/// response's status from its error.
pub async fn as_user<T, F, Fut>(body: F) -> Result<T, AppError>
where
    F: FnOnce(AppState, CurrentUser) -> Fut,
    Fut: Future<Output = Result<T, AppError>>,
{
    respond_with(
        async {
            let user = require_user().await?;
            body(app_state()?, user).await
        }
        .await,
    )
}

/// Like [`as_user`], for admins only (`Forbidden` for anyone else).
pub async fn as_admin<T, F, Fut>(body: F) -> Result<T, AppError>
where
    F: FnOnce(AppState, CurrentUser) -> Fut,
    Fut: Future<Output = Result<T, AppError>>,
{
    as_user(|state, user| async move {
        let user = admin(Viewer(Some(user)))?;
        body(state, user).await
    })
    .await
}

/// A JSON route's signed-in user (session or bearer token); 401 otherwise.
#[derive(Debug, Clone)]
pub struct SignedIn(pub CurrentUser);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        signed_in(viewer_of(state, parts).await?).map(Self)
    }
}

/// A JSON route's admin; 401 without a user, 403 for another role.
#[derive(Debug, Clone)]
pub struct Admin(pub CurrentUser);

impl FromRequestParts<AppState> for Admin {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        admin(viewer_of(state, parts).await?).map(Self)
    }
}
