//! Which phone numbers the follow-up SMS may go to (`SMS_ALLOWED_NUMBERS`).
//!
//! Intake accepts any valid number — the lead is stored and pushed to AmoCRM whatever it
//! is — but an SMS costs money and goes out under the academy's name, so it is sent only
//! to numbers the policy allows: by default Kazakhstan's mobile numbers. And one person
//! who submits three times within `NOTIFY_DEDUP_HOURS` gets one email and one SMS.

use std::time::Duration;

use phonenumber::country::Id as Country;
use phonenumber::metadata::DATABASE;
use phonenumber::Type;

use super::phone::is_kazakh_mobile;

/// One entry of the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmsAllowance {
    /// The mobile numbers of a country, by its ISO code (`KZ`, `KG`, `UZ`).
    CountryMobiles(Country),
    /// Every number that starts with these E.164 digits (`+99655`, `+7700`).
    Prefix(String),
}

impl SmsAllowance {
    /// Reads `KZ` (a country's mobiles) or `+99655` (a prefix).
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if let Some(digits) = text.strip_prefix('+') {
            let valid = !digits.is_empty() && digits.len() <= 15 && digits.chars().all(|c| c.is_ascii_digit());
            return valid.then(|| Self::Prefix(text.to_owned()));
        }
        if text.len() != 2 || !text.chars().all(|c| c.is_ascii_alphabetic()) {
            return None;
        }
        text.to_ascii_uppercase().parse().ok().map(Self::CountryMobiles)
    }

    fn allows(&self, phone_e164: &str) -> bool {
        match self {
            Self::Prefix(prefix) => phone_e164.starts_with(prefix.as_str()),
            Self::CountryMobiles(Country::KZ) => is_kazakh_mobile(phone_e164),
            Self::CountryMobiles(country) => {
                let Ok(number) = phonenumber::parse(None, phone_e164) else { return false };
                number.country().id() == Some(*country)
                    && matches!(number.number_type(&DATABASE), Type::Mobile | Type::FixedLineOrMobile)
            }
        }
    }
}

/// The numbers an SMS may go to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsPolicy(Vec<SmsAllowance>);

impl Default for SmsPolicy {
    /// Kazakhstan's mobile numbers.
    fn default() -> Self {
        Self(vec![SmsAllowance::CountryMobiles(Country::KZ)])
    }
}

impl SmsPolicy {
    /// A policy of these entries.
    pub fn new(allowances: Vec<SmsAllowance>) -> Self {
        Self(allowances)
    }

    /// Whether an SMS may go to `phone_e164`; if not, the reason in Russian.
    pub fn check(&self, phone_e164: &str) -> Result<(), String> {
        if self.0.iter().any(|allowance| allowance.allows(phone_e164)) {
            Ok(())
        } else {
            Err(format!("номер {phone_e164} не входит в разрешённые для SMS (SMS_ALLOWED_NUMBERS)"))
        }
    }
}

/// Why a message is not sent: within `window` its recipient is written to by lead `holder`.
pub fn duplicate_reason(holder: i64, window: Duration) -> String {
    let hours = window.as_secs() / 3600;
    format!("повтор: этому получателю уже пишем по лиду #{holder} (не чаще раза в {hours} ч, NOTIFY_DEDUP_HOURS)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_default_only_kazakh_mobiles_get_an_sms() {
        let policy = SmsPolicy::default();
        assert!(policy.check("+77051234567").is_ok());
        assert!(policy.check("+77471234567").is_ok());
        let landline = policy.check("+77272501234").unwrap_err();
        assert!(landline.contains("+77272501234"), "{landline}");
        assert!(policy.check("+447012345678").is_err(), "a UK personal number");
        assert!(policy.check("+79161234567").is_err(), "a Russian mobile shares +7");
    }

    #[test]
    fn countries_and_prefixes_widen_it() {
        let entries = ["KZ", "kg", "+4470"].map(|entry| SmsAllowance::parse(entry).unwrap());
        let policy = SmsPolicy::new(entries.to_vec());
        assert!(policy.check("+996555123456").is_ok(), "a Kyrgyz mobile");
        assert!(policy.check("+996312123456").is_err(), "a Bishkek landline");
        assert!(policy.check("+447012345678").is_ok(), "by prefix");
        assert!(policy.check("+447911123456").is_err());
    }

    #[test]
    fn entries_that_are_neither_country_nor_prefix_are_refused() {
        for bad in ["", "+", "+7a", "KAZ", "K1", "XX", "7705", "+1234567890123456"] {
            assert_eq!(SmsAllowance::parse(bad), None, "{bad:?}");
        }
    }
}
