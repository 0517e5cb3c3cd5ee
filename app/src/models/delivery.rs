//! Channels and delivery statuses, as the server stores them and the pages show them.

use serde::{Deserialize, Serialize};

/// Which message a status belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    /// The channel of a lowercase name (`email`, `sms`).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "email" => Some(Self::Email),
            "sms" => Some(Self::Sms),
            _ => None,
        }
    }

    /// The lowercase name used in routes, logs and column names.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Sms => "sms",
        }
    }
}

/// A delivery status; not every status exists on both channels.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Not sent yet.
    #[default]
    Pending,
    /// Accepted by the provider.
    Sent,
    /// The provider could not deliver it, or refused it.
    Error,
    /// Reached the recipient's mailbox or phone.
    Delivered,
    /// The mailbox rejected it (email only).
    Bounced,
    /// The recipient opened it (email only).
    Opened,
    /// The recipient followed a link (email only).
    Clicked,
    /// Not sent, by the notification policy: a number SMS may not go to, or a recipient
    /// already written to within the window. Final.
    Skipped,
}

impl DeliveryStatus {
    /// Every status, in the order a message lives through them (skipped last).
    pub const ALL: [Self; 8] = [
        Self::Pending,
        Self::Sent,
        Self::Delivered,
        Self::Opened,
        Self::Clicked,
        Self::Bounced,
        Self::Error,
        Self::Skipped,
    ];

    /// The statuses `channel` has, in [`ALL`](Self::ALL)'s order.
    pub fn of_channel(channel: Channel) -> impl Iterator<Item = Self> {
        Self::ALL.into_iter().filter(move |status| status.exists_on(channel))
    }

    /// Parses a stored or reported status of `channel`.
    pub fn parse(channel: Channel, value: &str) -> Option<Self> {
        let status = match value.trim().to_ascii_lowercase().as_str() {
            "pending" => Self::Pending,
            "sent" => Self::Sent,
            "error" | "failed" => Self::Error,
            "delivered" => Self::Delivered,
            "bounced" => Self::Bounced,
            "opened" => Self::Opened,
            "clicked" => Self::Clicked,
            "skipped" => Self::Skipped,
            _ => return None,
        };
        status.exists_on(channel).then_some(status)
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Error => "error",
            Self::Delivered => "delivered",
            Self::Bounced => "bounced",
            Self::Opened => "opened",
            Self::Clicked => "clicked",
            Self::Skipped => "skipped",
        }
    }

    /// Whether `channel` has this status (SMS has no bounce, open or click).
    pub fn exists_on(self, channel: Channel) -> bool {
        channel == Channel::Email || !matches!(self, Self::Bounced | Self::Opened | Self::Clicked)
    }
}

/// One status a message reached and when, as the dashboard shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryStep {
    pub status: DeliveryStatus,
    /// `dd.mm.yyyy hh:mm`, Almaty time.
    pub at_local: String,
}

/// A lead template rendered for a sample lead, for the admins' preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplatePreview {
    /// Which leads get it, in Russian.
    pub kind: String,
    pub subject: String,
    pub email_text: String,
    pub sms_text: String,
}
