//! Every kind of background work, one file each, and the registry that lists them once.
//!
//! A kind is a serde struct implementing [`queue::Job`](crate::queue::Job) with
//! [`Services`] as its context; adding one is a new file here and one line in [`JOBS`].
//! A kind missing from [`JOBS`] cannot be enqueued (it does not implement
//! [`Registered`](crate::queue::Registered)).

pub mod apply_delivery_report;
pub mod check_sms_status;
pub mod discover_ad_accounts;
pub mod notify_sale;
pub mod process_crm_event;
pub mod push_lead_to_crm;
pub mod reattribute_leads;
pub mod schedule_ad_spend_sync;
pub mod schedule_crm_sync;
pub mod send_alert;
pub mod send_conversion;
pub mod send_lead_email;
pub mod send_lead_sms;
pub mod sync_ad_spend;

use std::collections::{BTreeMap, BTreeSet};

use sqlx::AnyConnection;

use crate::config::JobsConfig;
use crate::db::lead::{bump_lead_stats, StatKey};
use crate::db::Db;
use crate::domain::integration::{Integration, Refusal};
use crate::live::{Change, LiveChanges};
use crate::models::LeadStats;
use crate::providers::facebook::GraphError;
use crate::providers::{EmailSender, SendError, SmsSender};
use crate::queue::{BatchWrites, Context, JobFailure, Lane};
use crate::services::Services;

pub use apply_delivery_report::ApplyDeliveryReport;
pub use check_sms_status::CheckSmsStatus;
pub use discover_ad_accounts::DiscoverAdAccounts;
pub use notify_sale::NotifySale;
pub use process_crm_event::ProcessCrmEvent;
pub use push_lead_to_crm::PushLeadToCrm;
pub use reattribute_leads::ReattributeLeads;
pub use schedule_ad_spend_sync::ScheduleAdSpendSync;
pub use schedule_crm_sync::ScheduleCrmSync;
pub use send_alert::SendAlert;
pub use send_conversion::SendConversion;
pub use send_lead_email::SendLeadEmail;
pub use send_lead_sms::SendLeadSms;
pub use sync_ad_spend::SyncAdSpend;

crate::registry!(pub static JOBS: [Kind<Services>] = [
    SendLeadEmail,
    SendLeadSms,
    CheckSmsStatus,
    PushLeadToCrm,
    ScheduleCrmSync,
    ProcessCrmEvent,
    NotifySale,
    ReattributeLeads,
    DiscoverAdAccounts,
    SyncAdSpend,
    ScheduleAdSpendSync,
    ApplyDeliveryReport,
    SendConversion,
    SendAlert,
]);

/// The lanes: jobs that share a provider, and how many of them run at once.
pub mod lanes {
    use super::{JobsConfig, Lane};

    /// Resend's sends, `JOBS_EMAIL_CONCURRENCY` at once.
    pub const EMAIL: Lane = Lane { name: "email", concurrency: |config: &JobsConfig| config.email_concurrency };
    /// Mobizon's sends and status checks, `JOBS_SMS_CONCURRENCY` at once.
    pub const SMS: Lane = Lane { name: "sms", concurrency: |config: &JobsConfig| config.sms_concurrency };
    /// Calls to AmoCRM, which allows a few requests a second.
    pub const AMOCRM: Lane = Lane { name: "amocrm", concurrency: |_| 2 };
    /// Stored AmoCRM deliveries, a few at once (each is one short transaction).
    pub const CRM_EVENTS: Lane = Lane { name: "crm_events", concurrency: |_| 4 };
    /// Telegram allows about one message a second per chat.
    pub const TELEGRAM: Lane = Lane { name: "telegram", concurrency: |_| 1 };
    /// Facebook throttles per ad account: one call sequence at a time.
    pub const FACEBOOK: Lane = Lane { name: "facebook", concurrency: |_| 1 };
    /// Stored delivery reports of Resend and Mobizon, a few at once.
    pub const WEBHOOKS: Lane = Lane { name: "webhooks", concurrency: |_| 4 };
    /// Alerts to the admins' chat, apart from the sale announcements.
    pub const ALERTS: Lane = Lane { name: "alerts", concurrency: |_| 1 };
    /// Events to Meta's Conversions API, a couple at a time.
    pub const META: Lane = Lane { name: "meta", concurrency: |_| 2 };
    /// Bulk work over the lead table, one chunk at a time.
    pub const BULK: Lane = Lane { name: "bulk", concurrency: |_| 1 };
}

/// What the outcomes of one recorded batch share: the dashboard counters, and the leads
/// whose rows changed, for the live dashboards.
#[derive(Debug, Default)]
pub struct CounterDeltas {
    pub counters: BTreeMap<StatKey, LeadStats>,
    changed_leads: BTreeSet<i64>,
}

impl BatchWrites for CounterDeltas {
    async fn flush(&mut self, conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
        bump_lead_stats(conn, &std::mem::take(&mut self.counters)).await
    }

    fn lead_changed(&mut self, lead_id: i64) {
        self.changed_leads.insert(lead_id);
    }

    fn committed(self, db: &Db) {
        let mut changes = LiveChanges::default();
        for lead_id in self.changed_leads {
            changes.push(Change::Status { lead_id });
        }
        changes.publish(db.live());
    }
}

impl Context for Services {
    type Batch = CounterDeltas;

    fn db(&self) -> &Db {
        &self.db
    }

    /// AmoCRM's account (within the 20 s health timeout), Resend's domains, Mobizon's
    /// balance, the Telegram bot (and the refused chat), the Facebook token's user, the
    /// Conversions API's dataset. An integration without credentials has nothing to refuse,
    /// except Telegram and the Conversions API: without them their work waits.
    async fn probe(&self, integration: Integration, subject: Option<&str>) -> Result<(), JobFailure> {
        match (integration, &self.email, &self.sms) {
            (Integration::AmoCrm, ..) => {
                if let Some(client) = &self.amocrm {
                    client.check_account().await?;
                }
            }
            (Integration::Resend, EmailSender::Resend(client), _) => client.check_key().await?,
            (Integration::Mobizon, _, SmsSender::Mobizon(client)) => client.check_key().await?,
            (Integration::Telegram, ..) => match &self.telegram {
                Some(client) => client.check(subject).await?,
                // Announcements wait for a bot rather than being dropped.
                None => return Err(JobFailure::Refused(notify_sale::no_bot())),
            },
            (Integration::Facebook, ..) => {
                if let Some(client) = &self.facebook {
                    client.check_token().await?;
                }
            }
            (Integration::MetaConversions, ..) => match &self.conversions {
                Some(client) => client.check().await.map_err(send_conversion::failure)?,
                // Recorded events wait for a pixel and a token rather than being dropped.
                None => return Err(JobFailure::Refused(send_conversion::not_configured())),
            },
            // The development outbox refuses nothing.
            (Integration::Resend | Integration::Mobizon, ..) => {}
        }
        Ok(())
    }
}

impl From<SendError> for JobFailure {
    fn from(error: SendError) -> Self {
        match error {
            SendError::Retryable { message, retry_after } => Self::Retry { message, retry_after },
            SendError::Rejected { message } => Self::Permanent { message },
            SendError::Refused(refusal) => Self::Refused(refusal),
            // Providers that can tell whether a send happened look before trying again.
            SendError::Uncertain { message } => Self::Retry { message, retry_after: None },
        }
    }
}

impl From<GraphError> for JobFailure {
    fn from(error: GraphError) -> Self {
        match error {
            GraphError::RateLimited { message, retry_after } => Self::Retry { message, retry_after: Some(retry_after) },
            GraphError::Transient { message } | GraphError::TooMuchData { message } => {
                Self::Retry { message, retry_after: None }
            }
            GraphError::Token { message } => Self::Refused(Refusal::new(
                Integration::Facebook,
                format!("Токен Facebook недействителен или истёк — замените FACEBOOK_ACCESS_TOKEN: {message}"),
            )),
            // A permission or parameter error about this call's account or object.
            GraphError::Refused { message } => Self::Permanent { message },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::{Job, Kind, Registry};

    #[test]
    fn every_kind_is_registered_once_with_one_concurrency_per_lane() {
        assert_eq!(JOBS.validate(&JobsConfig::default()), Ok(()));
        let kinds: Vec<&str> = JOBS.kinds().iter().map(|kind| kind.kind).collect();
        assert_eq!(kinds.len(), 14);
        assert_eq!(JOBS.describe(<SendLeadSms as Job>::KIND), "SMS");
        assert_eq!(JOBS.describe("no_such_kind"), "Задача");
    }

    #[test]
    fn a_registry_that_names_a_kind_twice_is_refused() {
        static TWICE: Registry<Services> = Registry::new(&[Kind::of::<SendLeadEmail>(), Kind::of::<SendLeadEmail>()]);
        assert_eq!(TWICE.validate(&JobsConfig::default()), Err("job kind send_lead_email is registered twice".into()));
    }
}
