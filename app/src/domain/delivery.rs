//! Delivery statuses of a lead's email and SMS, and the rule that they never go backwards.
//!
//! Reports arrive from our own send result, provider webhooks, status polling and the
//! compatibility routes, in any order and any number of times. Each status has a rank;
//! a report only applies when it ranks above the current status, so a late `delivered`
//! never undoes `opened`, and a replay changes nothing. Starting a new attempt (an admin
//! retry or resend) resets the status to `pending` explicitly.

use std::fmt;

use crate::models::LeadStats;

pub use crate::models::{Channel, DeliveryStatus};

impl DeliveryStatus {
    /// Later in a message's life ranks higher. A provider failure outranks `sent` (the
    /// provider accepted it, then could not deliver) but not `delivered`.
    /// Where the status comes in a message's life: later statuses rank higher.
    pub fn rank(self) -> u8 {
        match self {
            Self::Pending => 0,
            Self::Sent => 20,
            Self::Error => 25,
            Self::Delivered => 30,
            Self::Bounced => 35,
            Self::Opened => 40,
            Self::Clicked => 50,
            // Decided before sending; no report about a message never sent can follow.
            Self::Skipped => 60,
        }
    }

    /// Whether a report of `next` replaces this status.
    pub fn is_overtaken_by(self, next: Self) -> bool {
        next.rank() > self.rank()
    }

    /// What this status adds to the dashboard counters of `channel`.
    pub fn counts(self, channel: Channel) -> LeadStats {
        let sent = matches!(self, Self::Sent | Self::Delivered | Self::Opened | Self::Clicked);
        match channel {
            Channel::Email => LeadStats {
                email_sent: i64::from(sent),
                email_opened: i64::from(matches!(self, Self::Opened | Self::Clicked)),
                email_skipped: i64::from(self == Self::Skipped),
                ..LeadStats::default()
            },
            Channel::Sms => LeadStats {
                sms_sent: i64::from(sent),
                sms_delivered: i64::from(self == Self::Delivered),
                sms_skipped: i64::from(self == Self::Skipped),
                ..LeadStats::default()
            },
        }
    }

    /// The counter changes of moving from `self` to `next` on `channel`.
    pub fn count_delta(self, next: Self, channel: Channel) -> LeadStats {
        let (before, after) = (self.counts(channel), next.counts(channel));
        LeadStats {
            total: 0,
            in_crm: 0,
            email_sent: after.email_sent - before.email_sent,
            email_opened: after.email_opened - before.email_opened,
            sms_sent: after.sms_sent - before.sms_sent,
            sms_delivered: after.sms_delivered - before.sms_delivered,
            email_skipped: after.email_skipped - before.email_skipped,
            sms_skipped: after.sms_skipped - before.sms_skipped,
        }
    }
}

impl fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One status report about one lead's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReport {
    pub lead_id: i64,
    pub channel: Channel,
    pub status: DeliveryStatus,
    /// When the provider says it happened, UTC milliseconds.
    pub at: i64,
    /// The provider's explanation, for `error` and `bounced`.
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use DeliveryStatus::*;

    #[test]
    fn a_status_never_goes_backwards() {
        assert!(Sent.is_overtaken_by(Delivered));
        assert!(Delivered.is_overtaken_by(Opened));
        assert!(Opened.is_overtaken_by(Clicked));
        assert!(!Opened.is_overtaken_by(Delivered));
        assert!(!Clicked.is_overtaken_by(Opened));
        assert!(!Sent.is_overtaken_by(Sent), "a replay changes nothing");
        assert!(!Delivered.is_overtaken_by(Sent));
    }

    #[test]
    fn a_failure_after_acceptance_applies_but_not_after_delivery() {
        assert!(Sent.is_overtaken_by(Error));
        assert!(Pending.is_overtaken_by(Error));
        assert!(!Delivered.is_overtaken_by(Error));
        assert!(Delivered.is_overtaken_by(Bounced));
    }

    #[test]
    fn a_skipped_message_stays_skipped_and_counts_apart() {
        assert!(Pending.is_overtaken_by(Skipped));
        for later in [Sent, Error, Delivered, Opened, Clicked] {
            assert!(!Skipped.is_overtaken_by(later), "{later}");
        }
        let delta = Pending.count_delta(Skipped, Channel::Sms);
        assert_eq!((delta.sms_sent, delta.sms_skipped, delta.email_skipped), (0, 1, 0));
        let delta = Skipped.count_delta(Pending, Channel::Email);
        assert_eq!(delta.email_skipped, -1, "an admin's resend takes it back");
    }

    #[test]
    fn sms_has_no_email_only_statuses() {
        assert_eq!(DeliveryStatus::parse(Channel::Sms, "opened"), None);
        assert_eq!(DeliveryStatus::parse(Channel::Sms, "DELIVERED"), Some(Delivered));
        assert_eq!(DeliveryStatus::parse(Channel::Email, "clicked"), Some(Clicked));
        assert_eq!(DeliveryStatus::parse(Channel::Email, "read"), None);
    }

    #[test]
    fn counters_follow_the_status() {
        let delta = Sent.count_delta(Opened, Channel::Email);
        assert_eq!((delta.email_sent, delta.email_opened), (0, 1));
        let delta = Sent.count_delta(Error, Channel::Sms);
        assert_eq!((delta.sms_sent, delta.sms_delivered), (-1, 0));
        let delta = Pending.count_delta(Delivered, Channel::Sms);
        assert_eq!((delta.sms_sent, delta.sms_delivered), (1, 1));
    }
}
