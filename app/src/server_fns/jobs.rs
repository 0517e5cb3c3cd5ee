//! The job queue as admins see it on `/target` and `/traffic/admin`: failed jobs, retry
//! (one or all of a kind), resend, integration health and its check, sale announcements
//! whose outcome is unknown, alerts.

mod check_integration;
mod get_integration_health;
mod list_alerts;
mod list_failed_jobs;
mod list_uncertain_notices;
mod resend_lead_message;
mod retry_failed_job;
mod retry_failed_jobs;
mod settle_uncertain_notice;

pub use check_integration::{check_integration, CheckIntegration};
pub use get_integration_health::{get_integration_health, GetIntegrationHealth};
pub use list_alerts::{list_alerts, ListAlerts};
pub use list_failed_jobs::{list_failed_jobs, ListFailedJobs};
pub use list_uncertain_notices::{list_uncertain_notices, ListUncertainNotices};
pub use resend_lead_message::{resend_lead_message, ResendLeadMessage};
pub use retry_failed_job::{retry_failed_job, RetryFailedJob};
pub use retry_failed_jobs::{retry_failed_jobs, RetryFailedJobs};
pub use settle_uncertain_notice::{settle_uncertain_notice, SettleUncertainNotice};
