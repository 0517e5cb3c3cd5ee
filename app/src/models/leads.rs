//! The leads dashboard: the query, the page of leads, the counters, the AmoCRM sync's result.

use serde::{Deserialize, Serialize};

use super::{Confidence, DeliveryStatus, DeliveryStep};

/// Filters and the page position of the leads table; every field is a URL query parameter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadQuery {
    /// Free text: part of a name, email or phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// Exact lead source (`proftest`, `proftest_<slug>`, `express`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// First Almaty day, `YYYY-MM-DD`, inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Last Almaty day, `YYYY-MM-DD`, inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// The team attribution gave the lead, by name; `none` for leads without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// The email's status (`pending`, `sent`, `delivered`, `opened`, `clicked`, `bounced`,
    /// `error`, `skipped`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_status: Option<String>,
    /// The SMS's status (`pending`, `sent`, `delivered`, `error`, `skipped`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms_status: Option<String>,
    /// `linked`: pushed to AmoCRM (a deal id); `unlinked`: not there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crm: Option<String>,
    /// Part of the UTM campaign, any case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_campaign: Option<String>,
    /// Show leads older than this lead id (the next page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<i64>,
    /// Show leads newer than this lead id (the previous page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<i64>,
}

/// One row of the leads table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadListItem {
    pub lead_id: i64,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub source: String,
    pub utm_source: Option<String>,
    pub utm_campaign: Option<String>,
    pub email_status: DeliveryStatus,
    /// When the email reached its status, `dd.mm.yyyy hh:mm` Almaty time.
    pub email_status_at_local: Option<String>,
    /// The provider's explanation of an email error or bounce, or why it was skipped.
    pub email_error: Option<String>,
    /// A skipped duplicate email: the lead whose email went to the same address.
    #[serde(default)]
    pub email_duplicate_of: Option<i64>,
    /// Every status the email reached, oldest first.
    #[serde(default)]
    pub email_history: Vec<DeliveryStep>,
    pub sms_status: DeliveryStatus,
    /// When the SMS reached its status, `dd.mm.yyyy hh:mm` Almaty time.
    pub sms_status_at_local: Option<String>,
    /// The provider's explanation of an SMS error, or why it was skipped.
    pub sms_error: Option<String>,
    /// A skipped duplicate SMS: the lead whose SMS went to the same number.
    #[serde(default)]
    pub sms_duplicate_of: Option<i64>,
    /// Every status the SMS reached, oldest first.
    #[serde(default)]
    pub sms_history: Vec<DeliveryStep>,
    pub crm_deal_id: Option<i64>,
    /// The team attribution gave the lead.
    pub team: Option<String>,
    /// `high`, `medium` or `low`.
    pub attribution_confidence: Option<Confidence>,
    /// Why: the rule that matched, in Russian.
    pub attribution_rule: Option<String>,
    /// UTC milliseconds.
    pub created_at: i64,
    /// `dd.mm.yyyy hh:mm`, Almaty time.
    pub created_at_local: String,
    /// Changes whenever the row changes; the table re-renders a row when it does.
    pub updated_at: i64,
}

/// One page of the leads table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadPage {
    pub leads: Vec<LeadListItem>,
    /// Cursor for older leads, when there are any.
    pub next_before: Option<i64>,
    /// Cursor for newer leads, when this is not the first page.
    pub prev_after: Option<i64>,
}

/// The stat cards above the leads table, for the same filters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadStats {
    pub total: i64,
    pub in_crm: i64,
    pub email_sent: i64,
    pub email_opened: i64,
    pub sms_sent: i64,
    pub sms_delivered: i64,
    /// Emails not sent by the notification policy (a recipient already written to).
    #[serde(default)]
    pub email_skipped: i64,
    /// SMS not sent by the notification policy (a number outside it, or a duplicate).
    #[serde(default)]
    pub sms_skipped: i64,
}

impl LeadStats {
    /// Adds `other` (counts or changes of counts) to these.
    pub fn add(&mut self, other: &Self) {
        self.total += other.total;
        self.in_crm += other.in_crm;
        self.email_sent += other.email_sent;
        self.email_opened += other.email_opened;
        self.sms_sent += other.sms_sent;
        self.sms_delivered += other.sms_delivered;
        self.email_skipped += other.email_skipped;
        self.sms_skipped += other.sms_skipped;
    }
}

/// Settings the `/target` page needs from the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadsPageSettings {
    /// Seconds between automatic refreshes.
    pub refresh_secs: u32,
    /// The AmoCRM account address for deal links, when configured.
    pub crm_base_url: Option<String>,
    /// Every lead source seen so far, for the filter.
    pub sources: Vec<String>,
    /// The teams' names in their display order, for the filter.
    #[serde(default)]
    pub teams: Vec<String>,
    /// Emails or SMS go to the development outbox instead of real providers.
    pub test_mode: bool,
}

/// What a sync with AmoCRM found (`docs/product.md`, "AmoCRM").
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrmSyncCounts {
    /// Recent deals read from the express pipeline.
    pub fetched: i64,
    /// Deals matched to a lead (by deal id, phone or email).
    pub matched: i64,
    /// Leads whose deal or stage changed.
    pub updated: i64,
    /// Deals with no lead here.
    pub not_found: i64,
    /// Won deals recorded as sales by this sync (their webhook never came).
    pub sales_recorded: i64,
    /// Our leads since `missing_since` that AmoCRM has no deal for (their push never
    /// happened or has not yet): `/target?crm=unlinked&from=<missing_since>` lists them.
    #[serde(default)]
    pub missing_in_crm: i64,
    /// The first Almaty day of that window, `YYYY-MM-DD`.
    #[serde(default)]
    pub missing_since: String,
}
