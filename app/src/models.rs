//! Types that cross the wire between the server and the pages.

use serde::{Deserialize, Serialize};

/// What a signed-in user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Sees and manages everything.
    Admin,
    /// Sees only their own team.
    Targetologist,
}

impl Role {
    /// Where a user lands after signing in or opening `/`.
    pub fn start_page(self) -> &'static str {
        match self {
            Self::Admin => "/target",
            Self::Targetologist => "/traffic/cabinet",
        }
    }

    /// The value stored in `app_user.role`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Targetologist => "targetologist",
        }
    }

    /// Parses the stored value.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "admin" => Some(Self::Admin),
            "targetologist" => Some(Self::Targetologist),
            _ => None,
        }
    }
}

/// The user behind the current request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub user_id: i64,
    pub login: String,
    pub role: Role,
    pub team_id: Option<i64>,
}

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
    pub email_status: String,
    /// When the email reached its status, `dd.mm.yyyy hh:mm` Almaty time.
    pub email_status_at_local: Option<String>,
    /// The provider's explanation of an email error or bounce.
    pub email_error: Option<String>,
    pub sms_status: String,
    /// When the SMS reached its status, `dd.mm.yyyy hh:mm` Almaty time.
    pub sms_status_at_local: Option<String>,
    /// The provider's explanation of an SMS error.
    pub sms_error: Option<String>,
    pub crm_deal_id: Option<i64>,
    /// The team attribution gave the lead.
    pub team: Option<String>,
    /// `high`, `medium` or `low`.
    pub attribution_confidence: Option<String>,
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
    /// Emails or SMS go to the development outbox instead of real providers.
    pub test_mode: bool,
}

/// A background job that failed for good, as the dashboard lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedJob {
    pub job_id: i64,
    /// The job's kind (`send_lead_email`, …).
    pub kind: String,
    /// What the job did, in Russian (`Email`, `SMS`, …).
    pub what: String,
    pub lead_id: Option<i64>,
    pub lead_name: Option<String>,
    pub attempts: i64,
    pub last_error: Option<String>,
    /// When it was parked, UTC milliseconds.
    pub failed_at: i64,
    /// `dd.mm.yyyy hh:mm`, Almaty time.
    pub failed_at_local: String,
}

/// The newest failed jobs and how many there are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedJobs {
    pub total: i64,
    pub jobs: Vec<FailedJob>,
}

/// A team as the team constructor shows and edits it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamView {
    pub team_id: i64,
    pub name: String,
    pub direction: String,
    /// `#rrggbb`.
    pub color: String,
    pub emoji: String,
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    /// Case-insensitive substrings of UTM tags (`docs/product.md`, "Attribution").
    pub patterns: Vec<String>,
    pub telegram_chat_id: Option<String>,
    pub archived: bool,
}

/// UTM tags seen on leads and sales that no team claims, with how many carry them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnattributedTags {
    pub utm_source: Option<String>,
    pub utm_campaign: Option<String>,
    pub leads: i64,
    pub sales: i64,
}

/// Attribution at a glance: re-attribution progress and what is left unattributed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributionOverview {
    /// Percent of leads already attributed again, while a re-attribution runs.
    pub reattribution_percent: Option<i64>,
    /// Unattributed leads of the last 30 days (Almaty).
    pub unattributed_leads: i64,
    /// Unattributed sales of the last 30 days (Almaty), cancelled ones left out.
    pub unattributed_sales: i64,
    /// The most frequent tags among them.
    pub unattributed_tags: Vec<UnattributedTags>,
}

/// The team constructor's form as posted (fields named `team[name]` and so on); checked
/// on the server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamInput {
    /// Empty for a new team.
    #[serde(default)]
    pub team_id: Option<i64>,
    pub name: String,
    #[serde(default)]
    pub direction: String,
    #[serde(default)]
    pub color: String,
    #[serde(default)]
    pub emoji: String,
    #[serde(default)]
    pub utm_source: String,
    #[serde(default)]
    pub utm_medium: String,
    /// Separated by commas or new lines.
    #[serde(default)]
    pub patterns: String,
    #[serde(default)]
    pub telegram_chat_id: String,
}

/// An outbound integration's health (`docs/product.md`, "Dashboards", "Monitoring API").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntegrationHealth {
    /// `resend`, `mobizon`, …
    pub name: String,
    /// What people call it, e.g. `Resend (email)`.
    pub title: String,
    /// Real credentials are set; otherwise it runs in test mode.
    pub configured: bool,
    /// UTC milliseconds.
    pub last_success_at: Option<i64>,
    /// `dd.mm.yyyy hh:mm`, Almaty time.
    pub last_success_local: Option<String>,
    pub last_error: Option<String>,
    /// UTC milliseconds.
    pub last_error_at: Option<i64>,
    /// `dd.mm.yyyy hh:mm`, Almaty time.
    pub last_error_local: Option<String>,
    /// Jobs waiting to run.
    pub pending: i64,
    /// Jobs parked as failed.
    pub failed: i64,
    /// Percent of the provider's request quota in use, where it reports one (Facebook).
    pub usage_percent: Option<u32>,
    /// When the stored OAuth access token expires (AmoCRM), UTC milliseconds.
    pub token_expires_at: Option<i64>,
    /// The same, `dd.mm.yyyy hh:mm` Almaty time.
    pub token_expires_local: Option<String>,
}

/// Which funnel to show: a team (by name) or all, and the date range. Every field is a URL
/// query parameter of `/traffic/cabinet/:team` or `GET /api/traffic-dashboard/funnel`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunnelQuery {
    /// A team's name; `None` or `all` for every team (admins only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// `today`, `yesterday`, `7d`, `30d`, `90d`, `month`; ignored when `start` is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<String>,
    /// First Almaty day, `yyyy-mm-dd`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// Last Almaty day, `yyyy-mm-dd`, inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
}

/// One of the four stages of the funnel (`docs/product.md`, "Dashboards").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunnelStage {
    /// `spend`, `quiz_leads`, `express_sales`, `flagship_sales`.
    pub key: String,
    /// Clicks for the spend stage; leads or sales for the others.
    pub count: i64,
    /// Spend for the first stage, revenue for the sales stages, 0 for leads; whole tenge.
    pub money: i64,
    /// Percent of the previous stage's count; `None` when that is 0 (and for the first stage).
    pub conversion: Option<f64>,
    /// Spend per click, lead or sale, whole tenge; `None` when the count is 0.
    pub cost_per_result: Option<i64>,
}

/// One Almaty day of the funnel, for the daily chart and table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunnelDay {
    /// `yyyy-mm-dd`.
    pub date: String,
    /// Whole tenge.
    pub spend: i64,
    pub clicks: i64,
    pub quiz_leads: i64,
    pub express_sales: i64,
    pub flagship_sales: i64,
    /// Both products, whole tenge.
    pub revenue: i64,
}

/// A team the viewer may open in the cabinet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamChip {
    pub name: String,
    pub emoji: String,
    pub color: String,
}

/// The funnel of one team or all teams over a range of Almaty days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunnelReport {
    /// The team shown; `None` for all teams.
    pub team: Option<TeamChip>,
    /// First day, `yyyy-mm-dd`.
    pub start: String,
    /// Last day, `yyyy-mm-dd`, inclusive.
    pub end: String,
    /// The preset the range came from, if any.
    pub range: Option<String>,
    pub stages: Vec<FunnelStage>,
    pub impressions: i64,
    /// Whole tenge.
    pub spend: i64,
    /// Express and flagship revenue, whole tenge.
    pub revenue: i64,
    /// `(revenue − spend) / spend` in percent; `None` without spend.
    pub roi: Option<f64>,
    /// Every day of the range, oldest first.
    pub daily: Vec<FunnelDay>,
    /// The teams the viewer may switch to; empty for a targetologist.
    pub switchable: Vec<TeamChip>,
}

/// The range and grouping of the sales tables on `/traffic/admin`; URL query parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesReportQuery {
    /// A preset as in [`FunnelQuery::range`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// `day`, `week` or `month` (default `day`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

/// One team's sales over the range; `team` is «Без команды» for unattributed sales.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamSales {
    pub team: String,
    pub express_sales: i64,
    pub flagship_sales: i64,
    /// Won deals of other pipelines.
    pub other_sales: i64,
    /// Whole tenge, every product.
    pub revenue: i64,
}

/// One team's sales in one day, week or month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodSales {
    /// `22.11.2026`, `16.11–22.11.2026` or `Ноябрь 2026`.
    pub period: String,
    pub team: String,
    pub sales: i64,
    /// Whole tenge.
    pub revenue: i64,
}

/// Leads, sales and revenue of a UTM source (and campaign).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UtmRow {
    pub utm_source: String,
    pub utm_campaign: String,
    pub leads: i64,
    pub sales: i64,
    /// Whole tenge.
    pub revenue: i64,
    /// Sales per lead, percent; `None` without leads.
    pub conversion: Option<f64>,
}

/// The sales tables of `/traffic/admin`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SalesReport {
    /// `yyyy-mm-dd`.
    pub start: String,
    /// `yyyy-mm-dd`, inclusive.
    pub end: String,
    pub range: Option<String>,
    /// `day`, `week` or `month`.
    pub by: String,
    pub by_team: Vec<TeamSales>,
    pub by_period: Vec<PeriodSales>,
    pub sources: Vec<UtmRow>,
    pub campaigns: Vec<UtmRow>,
}

/// A Facebook ad account on the settings page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdAccountView {
    /// `act_<n>`.
    pub account_id: String,
    pub name: String,
    pub business_name: Option<String>,
    pub currency: String,
    pub timezone: Option<String>,
    /// `active`, `disabled`, …
    pub status: String,
    pub team_id: Option<i64>,
    pub sync_enabled: bool,
    /// `dd.mm.yyyy hh:mm`, Almaty time.
    pub last_synced_local: Option<String>,
    pub last_error: Option<String>,
}

/// What a sync with AmoCRM found (`docs/product.md`, "AmoCRM").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrmSyncCounts {
    /// Recent deals read from the express pipeline.
    pub fetched: i64,
    /// Deals matched to a lead (by deal id, phone or email).
    pub matched: i64,
    /// Leads whose deal or stage changed.
    pub updated: i64,
    /// Deals with no lead here.
    pub not_found: i64,
}
