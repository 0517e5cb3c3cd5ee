//! The outbound integrations, by the names the health view and the database know them by.

/// A provider the product talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Integration {
    /// Resend, which sends the leads' emails.
    Resend,
    /// Mobizon, which sends the leads' SMS.
    Mobizon,
    /// AmoCRM: leads pushed as deals, won deals read back.
    AmoCrm,
    /// The Facebook Marketing API: ad accounts and spend.
    Facebook,
    /// The Telegram bot that announces sales.
    Telegram,
    /// Meta's Conversions API: leads and sales sent back to the ads.
    MetaConversions,
}

impl Integration {
    /// Every integration, in the order the health view lists them.
    pub const ALL: [Self; 6] =
        [Self::Resend, Self::Mobizon, Self::AmoCrm, Self::Facebook, Self::Telegram, Self::MetaConversions];

    /// The stable name in `integration_status` and the health routes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Resend => "resend",
            Self::Mobizon => "mobizon",
            Self::AmoCrm => "amocrm",
            Self::Facebook => "facebook",
            Self::Telegram => "telegram",
            Self::MetaConversions => "meta_conversions",
        }
    }

    /// The integration named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|integration| integration.as_str() == name)
    }

    /// The health view's title.
    pub fn title(self) -> &'static str {
        match self {
            Self::Resend => "Resend (email)",
            Self::Mobizon => "Mobizon (SMS)",
            Self::AmoCrm => "AmoCRM (сделки)",
            Self::Facebook => "Facebook (расходы)",
            Self::Telegram => "Telegram (продажи)",
            Self::MetaConversions => "Meta Conversions API (лиды и продажи в рекламу)",
        }
    }
}

/// An integration refused our credentials or permissions (a 401, a blocked account, a bot
/// removed from its chat): its work waits until a probe passes, instead of failing job by
/// job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Who refused.
    pub integration: Integration,
    /// Why, in Russian, for the admin page; includes the provider's own words.
    pub reason: String,
    /// What was refused when it is narrower than the integration: a Telegram chat id.
    pub subject: Option<String>,
}

impl Refusal {
    /// A refusal of the whole integration.
    pub fn new(integration: Integration, reason: impl Into<String>) -> Self {
        Self { integration, reason: reason.into(), subject: None }
    }

    /// A refusal of one `subject` of the integration (a chat).
    pub fn of(integration: Integration, subject: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { integration, reason: reason.into(), subject: Some(subject.into()) }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

/// How long a paused integration waits for its next probe after `failed_probes` probes
/// that did not pass: one minute, doubling, at most fifteen.
pub fn probe_backoff(failed_probes: i64) -> std::time::Duration {
    let minutes = 1_u64 << failed_probes.clamp(0, 4);
    std::time::Duration::from_secs(60 * minutes.min(15))
}

/// What an integration is doing now, as the health view shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntegrationState {
    /// Its last call worked (or it has made none).
    Ok,
    /// Its last call failed with a passing error (a timeout, an outage, a rate limit).
    Degraded,
    /// It refused our credentials or permissions; its work waits for a probe to pass.
    Paused,
}

impl IntegrationState {
    /// The state of an integration with this history.
    pub fn of(paused: bool, last_success_at: Option<i64>, last_error_at: Option<i64>) -> Self {
        match (paused, last_error_at) {
            (true, _) => Self::Paused,
            (false, Some(error_at)) if error_at > last_success_at.unwrap_or(i64::MIN) => Self::Degraded,
            _ => Self::Ok,
        }
    }

    /// `ok`, `degraded` or `paused`, as the health API answers it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Degraded => "degraded",
            Self::Paused => "paused",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_back_off_from_one_to_fifteen_minutes() {
        let minutes: Vec<u64> = (0..7).map(|probes| probe_backoff(probes).as_secs() / 60).collect();
        assert_eq!(minutes, [1, 2, 4, 8, 15, 15, 15]);
    }

    #[test]
    fn the_state_follows_the_pause_and_the_latest_outcome() {
        assert_eq!(IntegrationState::of(false, None, None), IntegrationState::Ok);
        assert_eq!(IntegrationState::of(false, Some(10), Some(5)), IntegrationState::Ok);
        assert_eq!(IntegrationState::of(false, Some(5), Some(10)), IntegrationState::Degraded);
        assert_eq!(IntegrationState::of(false, None, Some(10)), IntegrationState::Degraded);
        assert_eq!(IntegrationState::of(true, Some(50), Some(10)), IntegrationState::Paused);
    }
}
