//! The one user-facing error type, shared by server functions, JSON routes and pages.
//!
//! Internals never cross this boundary: database and other unexpected failures are
//! logged once with their cause chain where they are converted, and reach the user as
//! [`AppError::Internal`].

use http::StatusCode;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// What went wrong, in terms the caller can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum AppError {
    /// The thing asked for does not exist.
    #[error("не найдено")]
    NotFound,
    /// No valid session or API token came with the request.
    #[error("требуется вход")]
    Unauthorized,
    /// Signed in, but not allowed to see or do this.
    #[error("доступ запрещён")]
    Forbidden,
    /// One input field is wrong; `field` names it as the client sent it.
    #[error("{field}: {message}")]
    Validation { field: String, message: String },
    /// The request conflicts with the current state (for example a duplicate name).
    #[error("{0}")]
    Conflict(String),
    /// Something failed on our side; the details are in the server log.
    #[error("внутренняя ошибка сервера")]
    Internal,
    /// The database does not answer; try again in a minute (landing pages' leads are kept).
    #[error("база данных временно недоступна — попробуйте через минуту")]
    Unavailable,
    /// Too many requests from one address or for one login; answered with `Retry-After`.
    #[error("слишком много попыток — повторите через {retry_after_secs} с")]
    TooManyRequests { retry_after_secs: u64 },
}

impl AppError {
    /// A validation error for `field`.
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation { field: field.into(), message: message.into() }
    }

    /// The HTTP status this error is answered with.
    pub fn status_code(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // The arguments of a server function failed to parse: the caller's fault.
            ServerFnErrorErr::Args(message) => Self::validation("arguments", message),
            _ => Self::Internal,
        }
    }
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::AppError;

    impl AppError {
        /// Logs an unexpected failure with its cause chain and hides it behind `Internal`.
        pub fn internal(context: &str, error: impl Into<anyhow::Error>) -> Self {
            let error = error.into();
            tracing::error!(error = format!("{error:#}"), "{context}");
            Self::Internal
        }
    }

    impl From<sqlx::Error> for AppError {
        fn from(error: sqlx::Error) -> Self {
            match error {
                // Not a bug but an outage: the page says so plainly.
                sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                    tracing::warn!(error = %error, "the database does not answer");
                    Self::Unavailable
                }
                error => Self::internal("database query failed", error),
            }
        }
    }

    impl axum::response::IntoResponse for AppError {
        fn into_response(self) -> axum::response::Response {
            let body = match &self {
                AppError::Validation { field, message } => serde_json::json!({
                    "success": false, "error": self.to_string(), "field": field, "message": message,
                }),
                _ => serde_json::json!({ "success": false, "error": self.to_string() }),
            };
            let mut response = (self.status_code(), axum::Json(body)).into_response();
            if let AppError::TooManyRequests { retry_after_secs } = self {
                response.headers_mut().insert(http::header::RETRY_AFTER, retry_after_secs.into());
            }
            response
        }
    }

    /// Sets the HTTP status of the current server-function response from its result.
    pub fn respond_with<T>(result: Result<T, AppError>) -> Result<T, AppError> {
        if let Err(error) = &result {
            if let Some(options) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
                options.set_status(error.status_code());
                if let AppError::TooManyRequests { retry_after_secs } = error {
                    options.insert_header(http::header::RETRY_AFTER, (*retry_after_secs).into());
                }
            }
        }
        result
    }
}

#[cfg(feature = "ssr")]
pub use ssr::respond_with;
