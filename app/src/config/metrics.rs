//! Where Prometheus may read the metrics; nowhere unless one of the two is set.

use std::net::SocketAddr;

use secrecy::SecretString;

use super::env::{env_parse, env_secret};
use super::ConfigError;

/// How `/metrics` is served (`docs/deploy.md`, "Metrics").
#[derive(Debug, Clone, Default)]
pub struct MetricsConfig {
    /// `METRICS_ADDR`: a second address serving only `/metrics`, without a token; bind it
    /// to a private interface (`127.0.0.1:9100`) (default none).
    pub addr: Option<SocketAddr>,
    /// `METRICS_TOKEN`: also serve `/metrics` on the main address, to
    /// `Authorization: Bearer <token>` only (default none: not served there).
    pub token: Option<SecretString>,
}

impl MetricsConfig {
    pub(super) fn from_env() -> Result<Self, ConfigError> {
        Ok(Self { addr: env_parse("METRICS_ADDR")?, token: env_secret("METRICS_TOKEN")? })
    }

    /// Whether metrics are collected at all.
    pub fn enabled(&self) -> bool {
        self.addr.is_some() || self.token.is_some()
    }
}
