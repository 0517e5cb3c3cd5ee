//! The job runner: attempts, backoff, leases, lanes.

use std::time::Duration;

use super::env::{env_parse, env_secs};
use super::ConfigError;

/// How the job runner works the queue.
#[derive(Debug, Clone)]
pub struct JobsConfig {
    /// `JOB_MAX_ATTEMPTS`: attempts before a job is parked as failed (default 8).
    pub max_attempts: u32,
    /// `JOB_RETRY_BASE_SECS`: the first retry delay, doubled on each attempt (default 5).
    pub retry_base: Duration,
    /// `JOB_RETRY_MAX_SECS`: the longest retry delay (default 3600).
    pub retry_max: Duration,
    /// `JOB_LEASE_SECS`: how long a claimed job is ours before another process may take it
    /// over; renewed a third of it apart while the job runs, so it bounds how long the job
    /// of a process that died waits (default 30).
    pub lease: Duration,
    /// `JOB_POLL_MS`: the fallback poll interval; enqueueing wakes the runner anyway (default 5000).
    pub poll_interval: Duration,
    /// `EMAIL_CONCURRENCY`: emails in flight at once (default 8).
    pub email_concurrency: usize,
    /// `SMS_CONCURRENCY`: SMS calls in flight at once (default 8).
    pub sms_concurrency: usize,
    /// `JOB_SHUTDOWN_GRACE_SECS`: how long shutdown waits for running jobs (default 20).
    pub shutdown_grace: Duration,
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            retry_base: Duration::from_secs(5),
            retry_max: Duration::from_secs(3600),
            lease: Duration::from_secs(30),
            poll_interval: Duration::from_secs(5),
            email_concurrency: 8,
            sms_concurrency: 8,
            shutdown_grace: Duration::from_secs(20),
        }
    }
}

impl JobsConfig {
    pub(super) fn from_env() -> Result<Self, ConfigError> {
        let default = Self::default();
        Ok(Self {
            max_attempts: env_parse("JOB_MAX_ATTEMPTS")?.unwrap_or(default.max_attempts).max(1),
            retry_base: env_secs("JOB_RETRY_BASE_SECS")?.unwrap_or(default.retry_base),
            retry_max: env_secs("JOB_RETRY_MAX_SECS")?.unwrap_or(default.retry_max),
            lease: env_secs("JOB_LEASE_SECS")?.unwrap_or(default.lease),
            poll_interval: env_parse("JOB_POLL_MS")?.map(Duration::from_millis).unwrap_or(default.poll_interval),
            email_concurrency: env_parse("EMAIL_CONCURRENCY")?.unwrap_or(default.email_concurrency).max(1),
            sms_concurrency: env_parse("SMS_CONCURRENCY")?.unwrap_or(default.sms_concurrency).max(1),
            shutdown_grace: env_secs("JOB_SHUTDOWN_GRACE_SECS")?.unwrap_or(default.shutdown_grace),
        })
    }
}
