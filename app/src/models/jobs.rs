//! The queue and the integrations as admins see them: failed jobs, integration health.

use serde::{Deserialize, Serialize};

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
    /// How many failed of each kind, for «Повторить все».
    pub by_kind: Vec<FailedKind>,
}

/// How many jobs of one kind failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedKind {
    /// The job's kind (`send_lead_sms`, …).
    pub kind: String,
    /// What it does, in Russian.
    pub what: String,
    /// The integration it talks to (`mobizon`, …), if any.
    pub integration: Option<String>,
    pub count: i64,
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
    /// `ok`, `degraded` (its last call failed with a passing error) or `paused` (it refused
    /// our credentials; its jobs wait for a probe to pass).
    pub state: String,
    /// When it was paused, UTC milliseconds.
    pub paused_at: Option<i64>,
    /// The same, `dd.mm.yyyy hh:mm` Almaty time.
    pub paused_local: Option<String>,
    /// Why it is paused, in Russian.
    pub pause_reason: Option<String>,
    /// When the next probe runs, UTC milliseconds.
    pub next_probe_at: Option<i64>,
    /// The same, `dd.mm.yyyy hh:mm` Almaty time.
    pub next_probe_local: Option<String>,
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

/// A sale announcement whose outcome is unknown: Telegram took the request and never
/// answered, or a run was cut off while sending. An admin looks in the chat and settles it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UncertainNotice {
    pub sale_id: i64,
    /// `express`, `flagship` or `other`.
    pub product: String,
    /// Whole tenge.
    pub amount: i64,
    pub contact_name: Option<String>,
    pub team_name: Option<String>,
    /// Why we cannot tell whether it arrived.
    pub reason: Option<String>,
    /// `dd.mm.yyyy hh:mm`, Almaty time.
    pub at_local: Option<String>,
}

/// The newest uncertain announcements and how many there are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UncertainNotices {
    pub total: i64,
    pub notices: Vec<UncertainNotice>,
}

/// An alert as `/traffic/admin` lists it: open, or cleared («решено»).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertView {
    pub alert_id: i64,
    /// What is wrong, in Russian.
    pub title: String,
    /// The figures when it was raised.
    pub detail: String,
    /// `dd.mm.yyyy hh:mm`, Almaty time.
    pub raised_local: String,
    /// When it cleared; `None` while open.
    pub cleared_local: Option<String>,
    /// What became of its Telegram notice, in Russian; empty without an alert chat.
    pub notice: String,
}
