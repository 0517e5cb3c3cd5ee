//! Ad spend from the Facebook Marketing API.

use std::time::Duration;

use secrecy::SecretString;

use super::env::{env_parse, env_secret, env_secs, env_string, env_url};
use super::ConfigError;

/// Ad accounts and daily spend from the Facebook Marketing API (`docs/product.md`, "Facebook spend").
#[derive(Debug, Clone)]
pub struct FacebookConfig {
    /// `FACEBOOK_GRAPH_URL`: the Graph API with its version (default
    /// `https://graph.facebook.com/v25.0`).
    pub graph_url: String,
    /// `FACEBOOK_ACCESS_TOKEN`: a system-user token with `ads_read` and
    /// `business_management`; without it nothing is synced.
    pub access_token: Option<SecretString>,
    /// `FACEBOOK_TIMEOUT_SECS`: the whole-request timeout (default 60).
    pub timeout: Duration,
    /// `FACEBOOK_SYNC_EVERY_SECS`: how often spend is synced (default 3600).
    pub sync_every: Duration,
    /// `FACEBOOK_RESYNC_DAYS`: recent days synced again on every run, since Facebook
    /// revises them (default 3).
    pub resync_days: u32,
    /// `FACEBOOK_REPORT_POLL_SECS`: how often an asynchronous report run is polled (default 10).
    pub report_poll: Duration,
    /// `FX_RATES_KZT`: tenge per unit of other currencies, e.g. `USD=505.2,EUR=548` — the
    /// rate for days without a dated rate in the `currency_rate` table.
    pub fallback_rates: Vec<(String, f64)>,
}

impl Default for FacebookConfig {
    fn default() -> Self {
        Self {
            graph_url: "https://graph.facebook.com/v25.0".to_owned(),
            access_token: None,
            timeout: Duration::from_secs(60),
            sync_every: Duration::from_secs(3600),
            resync_days: 3,
            report_poll: Duration::from_secs(10),
            fallback_rates: Vec::new(),
        }
    }
}

impl FacebookConfig {
    pub(super) fn from_env() -> Result<Self, ConfigError> {
        let default = Self::default();
        let fallback_rates = match env_string("FX_RATES_KZT")? {
            Some(text) => parse_rates(&text).ok_or_else(|| ConfigError {
                name: "FX_RATES_KZT",
                message: "expected CUR=rate pairs separated by commas, e.g. USD=505.2".to_owned(),
            })?,
            None => default.fallback_rates,
        };
        Ok(Self {
            graph_url: env_url("FACEBOOK_GRAPH_URL")?.unwrap_or(default.graph_url),
            access_token: env_secret("FACEBOOK_ACCESS_TOKEN")?,
            timeout: env_secs("FACEBOOK_TIMEOUT_SECS")?.unwrap_or(default.timeout),
            sync_every: env_secs("FACEBOOK_SYNC_EVERY_SECS")?.unwrap_or(default.sync_every),
            resync_days: env_parse("FACEBOOK_RESYNC_DAYS")?.unwrap_or(default.resync_days).max(1),
            report_poll: env_secs("FACEBOOK_REPORT_POLL_SECS")?.unwrap_or(default.report_poll),
            fallback_rates,
        })
    }
}

/// `USD=505.2,EUR=548` → `[("USD", 505.2), ("EUR", 548.0)]`; `None` if malformed.
fn parse_rates(text: &str) -> Option<Vec<(String, f64)>> {
    text.split(',')
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (currency, rate) = pair.split_once('=')?;
            let rate: f64 = rate.trim().parse().ok().filter(|rate: &f64| *rate > 0.0)?;
            Some((currency.trim().to_uppercase(), rate))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currency_rates_parse_from_pairs() {
        assert_eq!(parse_rates("usd=505.2, EUR=548"), Some(vec![("USD".into(), 505.2), ("EUR".into(), 548.0)]));
        assert_eq!(parse_rates("USD"), None);
        assert_eq!(parse_rates("USD=-1"), None);
    }
}
