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
}

impl Integration {
    /// Every integration, in the order the health view lists them.
    pub const ALL: [Self; 5] = [Self::Resend, Self::Mobizon, Self::AmoCrm, Self::Facebook, Self::Telegram];

    /// The stable name in `integration_status` and the health routes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Resend => "resend",
            Self::Mobizon => "mobizon",
            Self::AmoCrm => "amocrm",
            Self::Facebook => "facebook",
            Self::Telegram => "telegram",
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
        }
    }
}
