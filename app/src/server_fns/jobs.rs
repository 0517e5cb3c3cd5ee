//! The job queue as admins see it on `/target` and `/traffic/admin`: failed jobs, retry,
//! resend, integration health.

mod get_integration_health;
mod list_failed_jobs;
mod resend_lead_message;
mod retry_failed_job;

pub use get_integration_health::{get_integration_health, GetIntegrationHealth};
pub use list_failed_jobs::{list_failed_jobs, ListFailedJobs};
pub use resend_lead_message::{resend_lead_message, ResendLeadMessage};
pub use retry_failed_job::{retry_failed_job, RetryFailedJob};
