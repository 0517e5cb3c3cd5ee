//! Alerts about silent outages.

use std::time::Duration;

use super::env::{env_parse, env_secs, env_string};
use super::ConfigError;
use crate::domain::alerts::{Thresholds, WorkHours};

/// What is watched and where alerts go (`docs/product.md`, "Alerts").
#[derive(Debug, Clone)]
pub struct AlertsConfig {
    /// `TELEGRAM_ALERT_CHAT_ID`: the admins' chat for alerts and their «решено»; without it
    /// alerts are only listed on `/traffic/admin`.
    pub chat_id: Option<String>,
    /// `ALERT_CHECK_EVERY_SECS`: how often the watcher looks (default 60).
    pub check_every: Duration,
    /// The rules' thresholds:
    /// `ALERT_WORK_HOURS` (Almaty, default `9-21`): quiet sources are watched only then;
    /// `ALERT_QUIET_SOURCES` (`proftest=45,express=0`): a source's quiet limit in minutes,
    /// 0 to leave it alone (default: learnt from its usual rate);
    /// `ALERT_INTEGRATION_MINUTES` (15): an integration paused or failing that long;
    /// `ALERT_FAILED_JOBS` (10): that many failed jobs;
    /// `ALERT_QUEUE_LAG_MINUTES` (10): the oldest due job waiting that long;
    /// `ALERT_NO_LEAD_HOUR` (13): a team with spend today and no lead by that Almaty hour.
    pub thresholds: Thresholds,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        Self { chat_id: None, check_every: Duration::from_secs(60), thresholds: Thresholds::default() }
    }
}

impl AlertsConfig {
    pub(super) fn from_env() -> Result<Self, ConfigError> {
        let default = Self::default();
        let defaults = default.thresholds;
        let hours = match env_string("ALERT_WORK_HOURS")? {
            Some(text) => WorkHours::parse(&text).ok_or_else(|| ConfigError {
                name: "ALERT_WORK_HOURS",
                message: "expected hours like 9-21".to_owned(),
            })?,
            None => defaults.hours,
        };
        let quiet_sources = match env_string("ALERT_QUIET_SOURCES")? {
            Some(text) => parse_minutes(&text).ok_or_else(|| ConfigError {
                name: "ALERT_QUIET_SOURCES",
                message: "expected source=minutes pairs separated by commas, e.g. proftest=45".to_owned(),
            })?,
            None => Vec::new(),
        };
        Ok(Self {
            chat_id: env_string("TELEGRAM_ALERT_CHAT_ID")?,
            check_every: env_secs("ALERT_CHECK_EVERY_SECS")?.unwrap_or(default.check_every),
            thresholds: Thresholds {
                hours,
                quiet_sources,
                integration_minutes: env_parse("ALERT_INTEGRATION_MINUTES")?.unwrap_or(defaults.integration_minutes),
                failed_jobs: env_parse("ALERT_FAILED_JOBS")?.unwrap_or(defaults.failed_jobs),
                queue_lag_minutes: env_parse("ALERT_QUEUE_LAG_MINUTES")?.unwrap_or(defaults.queue_lag_minutes),
                no_lead_hour: env_parse("ALERT_NO_LEAD_HOUR")?.unwrap_or(defaults.no_lead_hour),
            },
        })
    }
}

/// `proftest=45, express=0` → `[("proftest", 45), ("express", 0)]`; `None` if malformed.
fn parse_minutes(text: &str) -> Option<Vec<(String, i64)>> {
    text.split(',')
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (source, minutes) = pair.split_once('=')?;
            let minutes: i64 = minutes.trim().parse().ok().filter(|minutes| *minutes >= 0)?;
            Some((source.trim().to_owned(), minutes))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_limits_parse_from_pairs() {
        assert_eq!(parse_minutes("proftest=45, express=0"), Some(vec![("proftest".into(), 45), ("express".into(), 0)]));
        assert_eq!(parse_minutes("proftest"), None);
        assert_eq!(parse_minutes("proftest=-5"), None);
    }
}
