//! The public edge: who a client is, how often it may call, and what it may make us do.
//!
//! Pure pieces the server's middleware and the sign-in stand on: the client's address
//! behind trusted proxies, the intake rate limit, the sign-in backoff and the check that a
//! redirect after sign-in stays on this site.

pub mod client_addr;
pub mod intake_limit;
pub mod local_path;
pub mod sign_in_guard;
pub mod status_token;

/// A wait as the whole seconds a `Retry-After` header gives (rounded up, at least 1).
pub fn retry_after_secs(wait: std::time::Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}
