//! `server check-config`: what in a configuration is missing or unsafe for production.

use super::Config;

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Production cannot work as documented without it.
    Missing,
    /// Set, but in a way that exposes or loses something in production.
    Unsafe,
    /// Worth knowing; not wrong in itself.
    Note,
}

/// One thing to look at, with the variable that fixes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    pub variable: &'static str,
    pub message: &'static str,
}

/// Everything about `config` that a production deployment should fix or know, judged as
/// production whatever `APP_ENV` says.
pub fn production_findings(config: &Config) -> Vec<Finding> {
    use Severity::{Missing, Note, Unsafe};

    let allow_outbox = config.allow_dev_senders;
    let mut findings = Vec::new();
    let mut add = |when: bool, severity, variable, message| {
        if when {
            findings.push(Finding { severity, variable, message });
        }
    };
    add(!config.production, Note, "APP_ENV", "not production: checked as if it were");
    add(
        config.email.api_key.is_none() && !allow_outbox,
        Missing,
        "RESEND_API_KEY",
        "emails would go to the outbox table",
    );
    add(config.sms.api_key.is_none() && !allow_outbox, Missing, "MOBIZON_API_KEY", "SMS would go to the outbox table");
    add(allow_outbox, Unsafe, "ALLOW_DEV_SENDERS", "messages without provider keys are silently kept in the outbox");
    add(config.email.webhook_secret.is_none(), Missing, "RESEND_WEBHOOK_SECRET", "email statuses cannot arrive");
    add(config.sms.webhook_secret.is_none(), Missing, "MOBIZON_WEBHOOK_SECRET", "SMS delivery reports are refused");
    let crm_credentials = config.crm.access_token.is_some() || config.crm.refresh_token.is_some();
    add(!crm_credentials, Missing, "AMOCRM_ACCESS_TOKEN", "leads are not pushed to AmoCRM (or AMOCRM_REFRESH_TOKEN)");
    add(config.crm.base_url.is_none(), Missing, "AMOCRM_BASE_URL", "no AmoCRM account to push to");
    add(config.crm.webhook_secret.is_none(), Missing, "AMOCRM_WEBHOOK_SECRET", "sales from AmoCRM cannot arrive");
    add(
        config.telegram.bot_token.is_none(),
        Missing,
        "TELEGRAM_BOT_TOKEN",
        "sale announcements wait until a bot token is set",
    );
    add(
        config.facebook.access_token.is_none(),
        Note,
        "FACEBOOK_ACCESS_TOKEN",
        "no ad spend: the funnel shows no costs",
    );
    add(!config.conversions.enabled(), Note, "FB_CAPI_TOKEN", "sales are not sent back to Meta (with FB_PIXEL_ID)");
    add(
        config.conversions.test_event_code.is_some(),
        Unsafe,
        "FB_CAPI_TEST_EVENT_CODE",
        "events go to Meta's Test Events tool, not to the ads",
    );
    add(
        config.intake.cors_allowed_origins.is_empty(),
        Missing,
        "CORS_ALLOWED_ORIGINS",
        "landing pages cannot post from browsers",
    );
    add(!config.web.cookie_secure, Unsafe, "COOKIE_SECURE", "session cookies would travel over plain HTTP");
    add(
        config.edge.intake_rate_per_minute == 0,
        Unsafe,
        "INTAKE_RATE_PER_MINUTE",
        "no limit on submissions per address",
    );
    add(config.intake.notify_dedup.is_zero(), Unsafe, "NOTIFY_DEDUP_HOURS", "a repeated submission is messaged again");
    add(
        config.edge.trusted_proxies == Default::default(),
        Note,
        "TRUSTED_PROXIES",
        "empty: behind a reverse proxy every client would share the proxy's address",
    );
    add(
        config.database.url.starts_with("sqlite:"),
        Note,
        "DATABASE_URL",
        "SQLite: run one server process; use PostgreSQL for more",
    );
    add(!config.metrics.enabled(), Note, "METRICS_ADDR", "no /metrics for monitoring (or METRICS_TOKEN)");
    let public_metrics = config.metrics.addr.is_some_and(|addr| match addr.ip() {
        std::net::IpAddr::V4(ip) => !(ip.is_loopback() || ip.is_private()),
        std::net::IpAddr::V6(ip) => !ip.is_loopback(),
    });
    add(public_metrics, Unsafe, "METRICS_ADDR", "not a loopback or private address: metrics would be public");
    findings
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;

    #[test]
    fn a_development_configuration_lists_what_production_needs() {
        let config = Config::for_tests("sqlite://test.db");
        let findings = production_findings(&config);
        let missing: Vec<&str> =
            findings.iter().filter(|f| f.severity == Severity::Missing).map(|f| f.variable).collect();
        for variable in ["RESEND_API_KEY", "MOBIZON_API_KEY", "MOBIZON_WEBHOOK_SECRET", "AMOCRM_WEBHOOK_SECRET"] {
            assert!(missing.contains(&variable), "{variable} in {missing:?}");
        }
        let unsafe_ones: Vec<&str> =
            findings.iter().filter(|f| f.severity == Severity::Unsafe).map(|f| f.variable).collect();
        assert!(unsafe_ones.contains(&"COOKIE_SECURE") && unsafe_ones.contains(&"INTAKE_RATE_PER_MINUTE"));
    }

    #[test]
    fn metrics_on_a_public_address_are_unsafe() {
        let mut config = Config::for_tests("postgres://db/leads");
        for (addr, public) in [("0.0.0.0:9100", true), ("203.0.113.5:9100", true), ("10.0.0.5:9100", false)] {
            config.metrics.addr = Some(addr.parse().unwrap());
            let unsafe_metrics = production_findings(&config)
                .iter()
                .any(|f| f.variable == "METRICS_ADDR" && f.severity == Severity::Unsafe);
            assert_eq!(unsafe_metrics, public, "{addr}");
        }
    }

    #[test]
    fn a_complete_production_configuration_has_only_notes() {
        let secret = || Some(SecretString::from("s"));
        let mut config = Config::for_tests("postgres://db/leads");
        config.production = true;
        config.email.api_key = secret();
        config.email.webhook_secret = secret();
        config.sms.api_key = secret();
        config.sms.webhook_secret = secret();
        config.crm.access_token = secret();
        config.crm.base_url = Some("https://academy.amocrm.ru".to_owned());
        config.crm.webhook_secret = secret();
        config.telegram.bot_token = secret();
        config.facebook.access_token = secret();
        config.intake.cors_allowed_origins = vec!["https://landing.example.com".to_owned()];
        config.web.cookie_secure = true;
        config.edge = super::super::EdgeConfig::default();
        config.intake.notify_dedup = std::time::Duration::from_secs(24 * 3600);
        config.metrics.addr = Some("127.0.0.1:9100".parse().unwrap());
        let findings = production_findings(&config);
        assert!(findings.iter().all(|f| f.severity == Severity::Note), "{findings:?}");
    }
}
