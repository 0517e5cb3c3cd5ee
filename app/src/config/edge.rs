//! The public edge: rate limits, trusted proxies and the HTTP server's limits.

use std::time::Duration;

use super::env::{env_list, env_parse, env_secs};
use super::ConfigError;
use crate::edge::client_addr::TrustedProxies;

/// How the server meets the open internet (`docs/security.md`).
#[derive(Debug, Clone)]
pub struct EdgeConfig {
    /// `INTAKE_RATE_PER_MINUTE`: submissions a minute one client address may sustain
    /// (default 30; 0 switches the limit off, for load tests).
    pub intake_rate_per_minute: u32,
    /// `INTAKE_RATE_BURST`: submissions one address may make at once (default 60).
    pub intake_rate_burst: u32,
    /// `TRUSTED_PROXIES`: comma-separated addresses or networks (`127.0.0.1,10.0.0.0/8`)
    /// whose `Forwarded` / `X-Forwarded-For` headers name the client (default none).
    pub trusted_proxies: TrustedProxies,
    /// `HTTP_HEADER_TIMEOUT_SECS`: how long a client may take to send a request's headers
    /// (default 10).
    pub header_timeout: Duration,
    /// `HTTP_REQUEST_TIMEOUT_SECS`: how long one request may take, body included
    /// (default 30).
    pub request_timeout: Duration,
    /// `HTTP_MAX_CONNECTIONS`: open connections at most; more wait to be accepted
    /// (default 2048).
    pub max_connections: usize,
    /// `SHUTDOWN_GRACE_SECS`: how long in-flight requests may finish after SIGTERM before
    /// their connections are closed (default 20).
    pub shutdown_grace: Duration,
}

impl Default for EdgeConfig {
    fn default() -> Self {
        Self {
            intake_rate_per_minute: 30,
            intake_rate_burst: 60,
            trusted_proxies: TrustedProxies::default(),
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_connections: 2048,
            shutdown_grace: Duration::from_secs(20),
        }
    }
}

impl EdgeConfig {
    pub(super) fn from_env() -> Result<Self, ConfigError> {
        let default = Self::default();
        Ok(Self {
            intake_rate_per_minute: env_parse("INTAKE_RATE_PER_MINUTE")?.unwrap_or(default.intake_rate_per_minute),
            intake_rate_burst: env_parse("INTAKE_RATE_BURST")?.unwrap_or(default.intake_rate_burst),
            trusted_proxies: env_list(
                "TRUSTED_PROXIES",
                "addresses or networks (10.0.0.0/8)",
                TrustedProxies::parse_entry,
            )?
            .map(TrustedProxies::new)
            .unwrap_or_default(),
            header_timeout: env_secs("HTTP_HEADER_TIMEOUT_SECS")?.unwrap_or(default.header_timeout),
            request_timeout: env_secs("HTTP_REQUEST_TIMEOUT_SECS")?.unwrap_or(default.request_timeout),
            max_connections: env_parse("HTTP_MAX_CONNECTIONS")?.unwrap_or(default.max_connections).max(1),
            shutdown_grace: env_secs("SHUTDOWN_GRACE_SECS")?.unwrap_or(default.shutdown_grace),
        })
    }
}
