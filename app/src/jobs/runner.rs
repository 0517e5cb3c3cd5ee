//! The job runner: claims due jobs with a lease, runs them with bounded concurrency per
//! provider, and records each outcome in the transaction that closes the job.
//!
//! Durability comes from the table: a job is `pending` until a worker claims it
//! (`sending`, with a lease), and `sent` or `failed` only in the transaction that also
//! records its effect. Outcomes are written by one recorder task that commits whatever
//! has finished meanwhile in one transaction, so a busy queue costs one commit per batch
//! rather than per job. A worker that dies leaves its lease to expire, and the job is
//! claimed again; handlers are written so that a second run sends nothing twice.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::{mpsc, oneshot, Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::ad_spend::{DiscoverAdAccounts, ScheduleAdSpendSync, SyncAdSpend};
use super::attribution::ReattributeLeads;
use super::notify::{millis, JobContext};
use super::sales::{NotifySale, ProcessCrmEvent};
use super::{
    channel_of_kind, integration_of_kind, CheckSmsStatus, Job, JobFailure, JobOutcome, PushLeadToCrm, SendLeadEmail,
    SendLeadSms,
};
use crate::config::JobsConfig;
use crate::db::delivery::{apply_status_deferring_counts, set_message_id};
use crate::db::integration::{record_integration_news, IntegrationNews};
use crate::db::job::{
    claim_jobs, enqueue_jobs, finish_job, next_due, park_job, release_job, release_orphaned_jobs, Claimable, ClaimedJob,
};
use crate::db::lead::{bump_lead_stats, StatKey};
use crate::db::{Db, Engine};
use crate::domain::delivery::{DeliveryStatus, StatusReport};
use crate::models::LeadStats;
use crate::time::now_ms;

/// Wakes the runner when work was enqueued; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct JobWaker(Arc<Notify>);

impl JobWaker {
    /// Tells the runner to look at the queue now instead of at its next poll.
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

/// Jobs that share a provider, and how many of them may run at once.
#[derive(Debug)]
struct Lane {
    kinds: &'static [&'static str],
    permits: Arc<Semaphore>,
}

/// Works the job table; cheap to clone.
#[derive(Debug, Clone)]
pub struct JobRunner {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    context: JobContext,
    config: JobsConfig,
    /// Names this process's leases; unique per start.
    worker_id: String,
    waker: JobWaker,
    lanes: Vec<Lane>,
    recorder: mpsc::UnboundedSender<Finished>,
}

/// A job that ran, waiting for its outcome to be committed.
struct Finished {
    job: ClaimedJob,
    result: Result<JobOutcome, JobFailure>,
    now: i64,
    recorded: oneshot::Sender<()>,
}

/// The most outcomes committed by one transaction.
const MAX_RECORD_BATCH: usize = 64;
/// Recorder tasks on PostgreSQL. They cannot deadlock each other: every batch locks its
/// leads in id order and its counter rows last, in key order.
const RECORDERS_ON_POSTGRES: usize = 4;

impl JobRunner {
    /// A runner for `context`'s providers; nothing runs until [`start`](Self::start) or
    /// [`run_due`](Self::run_due).
    pub fn new(context: JobContext, config: JobsConfig) -> Self {
        let mut lanes = vec![
            Lane { kinds: &[SendLeadEmail::KIND], permits: Arc::new(Semaphore::new(config.email_concurrency)) },
            Lane {
                kinds: &[SendLeadSms::KIND, CheckSmsStatus::KIND],
                permits: Arc::new(Semaphore::new(config.sms_concurrency)),
            },
            // Bulk work over the lead table, one chunk at a time.
            Lane { kinds: &[ReattributeLeads::KIND], permits: Arc::new(Semaphore::new(1)) },
            // AmoCRM deliveries, a few at once (each is one short transaction).
            Lane { kinds: &[ProcessCrmEvent::KIND], permits: Arc::new(Semaphore::new(4)) },
            // Telegram allows about one message a second per chat.
            Lane { kinds: &[NotifySale::KIND], permits: Arc::new(Semaphore::new(1)) },
            // Facebook throttles per ad account: one call sequence at a time.
            Lane {
                kinds: &[DiscoverAdAccounts::KIND, SyncAdSpend::KIND, ScheduleAdSpendSync::KIND],
                permits: Arc::new(Semaphore::new(1)),
            },
        ];
        // Without AmoCRM credentials the push jobs wait in the queue rather than fail.
        if context.amocrm.is_some() {
            lanes.push(Lane {
                kinds: &[PushLeadToCrm::KIND, super::crm::ScheduleCrmSync::KIND],
                permits: Arc::new(Semaphore::new(2)),
            });
        }
        let worker_id = format!("{}-{:08x}", std::process::id(), rand::thread_rng().gen::<u32>());
        let (recorder, finished) = mpsc::unbounded_channel();
        let finished = Arc::new(tokio::sync::Mutex::new(finished));
        // SQLite commits one transaction at a time; PostgreSQL gains from a few at once.
        let recorders = match context.db.engine() {
            Engine::Sqlite => 1,
            Engine::Postgres => RECORDERS_ON_POSTGRES,
        };
        for _ in 0..recorders {
            let record =
                Recorder { db: context.db.clone(), worker_id: worker_id.clone(), max_attempts: config.max_attempts };
            tokio::spawn(record.run(finished.clone(), RetryPolicy::of(&config)));
        }
        Self { inner: Arc::new(Inner { context, config, worker_id, waker: JobWaker::default(), lanes, recorder }) }
    }

    /// The handle that wakes this runner.
    pub fn waker(&self) -> JobWaker {
        self.inner.waker.clone()
    }

    /// The providers and database the jobs use.
    pub fn context(&self) -> &JobContext {
        &self.inner.context
    }

    /// Works the queue in the background until `shutdown`, then stops claiming and waits
    /// for running jobs (at most the configured grace; unfinished ones are re-run later).
    pub fn start(&self, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
        let runner = self.clone();
        tokio::spawn(async move { runner.work_until(shutdown).await })
    }

    async fn work_until(self, shutdown: CancellationToken) {
        let db = &self.inner.context.db;
        if db.engine() == Engine::Sqlite {
            // One process works a SQLite queue: whatever is `sending` was ours when we died.
            let _permit = db.write_permit().await;
            match db.pool().acquire().await {
                Ok(mut conn) => match release_orphaned_jobs(&mut conn, now_ms()).await {
                    Ok(0) => {}
                    Ok(count) => tracing::info!(jobs = count, "jobs interrupted by the last stop are queued again"),
                    Err(error) => tracing::error!(error = %error, "releasing interrupted jobs failed"),
                },
                Err(error) => tracing::error!(error = %error, "releasing interrupted jobs failed"),
            }
        }
        tracing::info!(worker = %self.inner.worker_id, "job runner started");
        let mut running = JoinSet::new();
        // Expired leases are looked for once per poll interval; due jobs on every round.
        let mut orphans_checked_at = 0;
        loop {
            let notified = self.inner.waker.0.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if shutdown.is_cancelled() {
                break;
            }
            while running.try_join_next().is_some() {}
            let now = now_ms();
            let orphans = now - orphans_checked_at >= millis(self.inner.config.poll_interval);
            if orphans {
                orphans_checked_at = now;
            }
            let claimed = match self.claim_round(now, orphans).await {
                Ok(claimed) => claimed,
                Err(error) => {
                    tracing::error!(error = %error, "claiming jobs failed");
                    Vec::new()
                }
            };
            if !claimed.is_empty() {
                for (job, permit) in claimed {
                    running.spawn(self.clone().execute(job, permit, None));
                }
                continue;
            }
            let wait = self.idle_wait().await;
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.cancelled() => break,
            }
        }
        let in_flight = running.len();
        let drained = tokio::time::timeout(self.inner.config.shutdown_grace, async {
            while running.join_next().await.is_some() {}
        })
        .await;
        match drained {
            Ok(()) => tracing::info!(jobs = in_flight, "job runner stopped after finishing its running jobs"),
            Err(_) => tracing::warn!(jobs = running.len(), "job runner stopped; unfinished jobs will run again"),
        }
    }

    /// Runs every job due at `at` (UTC milliseconds), including jobs its runs make due,
    /// and returns how many ran. Tests use it to drive the queue without waiting.
    pub async fn run_due(&self, at: i64) -> anyhow::Result<usize> {
        let mut ran = 0;
        loop {
            let claimed = self.claim_round(at, true).await?;
            if claimed.is_empty() {
                return Ok(ran);
            }
            ran += claimed.len();
            let mut running = JoinSet::new();
            for (job, permit) in claimed {
                running.spawn(self.clone().execute(job, permit, Some(at)));
            }
            while running.join_next().await.is_some() {}
        }
    }

    /// Claims, for each lane, as many jobs as it has free permits: jobs with an expired
    /// lease first (when `orphans` asks to look for them), then due ones.
    async fn claim_round(
        &self,
        now: i64,
        orphans: bool,
    ) -> Result<Vec<(ClaimedJob, OwnedSemaphorePermit)>, sqlx::Error> {
        let db = &self.inner.context.db;
        let lease_until = now + millis(self.inner.config.lease);
        let which: &[Claimable] = if orphans { &[Claimable::LeaseExpired, Claimable::Due] } else { &[Claimable::Due] };
        let mut claimed = Vec::new();
        for lane in &self.inner.lanes {
            let claims: Vec<(&'static str, Claimable)> =
                lane.kinds.iter().flat_map(|kind| which.iter().map(|which| (*kind, *which))).collect();
            for (kind, which) in claims {
                let free = lane.permits.available_permits();
                if free == 0 {
                    break;
                }
                let jobs = {
                    let _permit = db.write_permit().await;
                    let mut conn = db.pool().acquire().await?;
                    let worker = &self.inner.worker_id;
                    claim_jobs(&mut conn, db.engine(), which, worker, kind, free, now, lease_until).await?
                };
                for job in jobs {
                    let permit = lane.permits.clone().try_acquire_owned().expect("claims never exceed free permits");
                    claimed.push((job, permit));
                }
            }
        }
        Ok(claimed)
    }

    /// How long to sleep when nothing was claimable: until the next due job of a lane
    /// with room, at most the poll interval (which also finds expired leases).
    async fn idle_wait(&self) -> Duration {
        let poll = self.inner.config.poll_interval;
        let db = &self.inner.context.db;
        let Ok(mut conn) = db.pool().acquire().await else { return poll };
        let mut earliest: Option<i64> = None;
        for lane in self.inner.lanes.iter().filter(|lane| lane.permits.available_permits() > 0) {
            for kind in lane.kinds {
                if let Ok(Some(due)) = next_due(&mut conn, kind).await {
                    earliest = Some(earliest.map_or(due, |earliest| earliest.min(due)));
                }
            }
        }
        match earliest {
            // Due but not claimed: another process holds it; look again shortly.
            Some(due) => Duration::from_millis(u64::try_from(due - now_ms()).unwrap_or(0).max(20)).min(poll),
            None => poll,
        }
    }

    /// Runs one claimed job in its own task (a panic fails the job, not the runner) and
    /// records the outcome.
    async fn execute(self, job: ClaimedJob, permit: OwnedSemaphorePermit, at: Option<i64>) {
        let span = tracing::info_span!("job", job.id = job.job_id, job.kind = %job.kind, job.attempt = job.attempts);
        let context = self.inner.context.clone();
        let task_job = job.clone();
        let result = tokio::spawn(async move { context.run(&task_job).await }.instrument(span.clone()))
            .await
            .unwrap_or_else(|error| {
                let message = if error.is_panic() { "the job handler panicked" } else { "the job was cancelled" };
                Err(JobFailure::Retry { message: message.to_owned(), retry_after: None })
            });
        let (recorded, done) = oneshot::channel();
        let finished = Finished { job, result, now: at.unwrap_or_else(now_ms), recorded };
        if self.inner.recorder.send(finished).is_ok() {
            // Dropped unanswered only if recording failed for good; the lease then expires
            // and the job runs again.
            let _ = done.instrument(span).await;
        }
        drop(permit);
        self.inner.waker.wake();
    }
}

/// How long failed jobs wait before their next attempt.
#[derive(Debug, Clone, Copy)]
struct RetryPolicy {
    base: Duration,
    max: Duration,
}

impl RetryPolicy {
    fn of(config: &JobsConfig) -> Self {
        Self { base: config.retry_base, max: config.retry_max }
    }
}

/// Writes job outcomes, many per transaction.
struct Recorder {
    db: Db,
    worker_id: String,
    max_attempts: u32,
}

impl Recorder {
    /// Commits what has finished, batch by batch, until every runner handle is gone.
    async fn run(self, finished: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Finished>>>, retry: RetryPolicy) {
        loop {
            let batch = {
                let mut finished = finished.lock().await;
                let Some(first) = finished.recv().await else { return };
                let mut batch = vec![first];
                while batch.len() < MAX_RECORD_BATCH {
                    match finished.try_recv() {
                        Ok(next) => batch.push(next),
                        Err(_) => break,
                    }
                }
                batch
            };
            if let Err(error) = self.record_all(&batch, retry).await {
                // One bad outcome must not hold back the others: record them one by one.
                tracing::warn!(error = %error, jobs = batch.len(), "recording a batch of job outcomes failed; recording each alone");
                for item in &batch {
                    self.record_alone(item, retry).await;
                }
            }
            for item in batch {
                let _ = item.recorded.send(());
            }
        }
    }

    /// Records `batch` in one transaction. Leads are updated in id order and counters once
    /// at the end in key order, the orders every other writer uses, so concurrent
    /// transactions (intake, webhooks, another process's recorder) cannot deadlock with it.
    async fn record_all(&self, batch: &[Finished], retry: RetryPolicy) -> Result<(), sqlx::Error> {
        let mut ordered: Vec<&Finished> = batch.iter().collect();
        ordered.sort_by_key(|item| (item.job.lead_id, item.job.job_id));
        let mut deltas = BTreeMap::new();
        let _permit = self.db.write_permit().await;
        let mut tx = self.db.pool().begin().await?;
        for item in ordered {
            let job = &item.job;
            let span =
                tracing::info_span!("job", job.id = job.job_id, job.kind = %job.kind, job.attempt = job.attempts);
            self.record(&mut tx, item, retry, &mut deltas).instrument(span).await?;
        }
        bump_lead_stats(&mut tx, &deltas).await?;
        for (integration, news) in integration_news(batch) {
            record_integration_news(&mut tx, integration, &news).await?;
        }
        tx.commit().await
    }

    /// A few tries for one outcome; after that the lease is left to expire.
    async fn record_alone(&self, item: &Finished, retry: RetryPolicy) {
        for attempt in 1..=3 {
            match self.record_all(std::slice::from_ref(item), retry).await {
                Ok(()) => return,
                Err(error) if attempt < 3 => {
                    tracing::warn!(job.id = item.job.job_id, error = %error, "recording the job outcome failed; trying again");
                    tokio::time::sleep(Duration::from_millis(100 * attempt)).await;
                }
                Err(error) => {
                    tracing::error!(job.id = item.job.job_id, error = %error, "recording the job outcome failed")
                }
            }
        }
    }

    /// Writes one outcome. Each first statement checks that this worker still holds the
    /// lease; the effects follow only if it does (otherwise the new holder records them).
    async fn record(
        &self,
        tx: &mut sqlx::AnyConnection,
        item: &Finished,
        retry: RetryPolicy,
        deltas: &mut BTreeMap<StatKey, LeadStats>,
    ) -> Result<(), sqlx::Error> {
        let (job, now, worker) = (&item.job, item.now, self.worker_id.as_str());
        let held = match &item.result {
            Ok(JobOutcome::Sent { channel, lead_id, message_id, follow_up }) => {
                let held = finish_job(tx, job.job_id, worker, Some(message_id), now).await?;
                if held {
                    set_message_id(tx, *lead_id, *channel, message_id).await?;
                    let report = StatusReport {
                        lead_id: *lead_id,
                        channel: *channel,
                        status: DeliveryStatus::Sent,
                        at: now,
                        error: None,
                    };
                    apply_status_deferring_counts(tx, &report, now, deltas).await?;
                    if let Some(follow_up) = follow_up {
                        enqueue_jobs(tx, std::slice::from_ref(follow_up), now).await?;
                    }
                }
                held
            }
            Ok(JobOutcome::Done) => finish_job(tx, job.job_id, worker, None, now).await?,
            Ok(JobOutcome::Again { after, payload }) => {
                release_job(tx, job.job_id, worker, now + millis(*after), Some(payload), None, true, now).await?
            }
            Err(JobFailure::Retry { message, retry_after }) if job.attempts < i64::from(self.max_attempts) => {
                let delay = retry_after.unwrap_or_else(|| backoff(retry, job.attempts));
                tracing::warn!(error = %redact(message), retry_in_ms = millis(delay), "the job failed; it will be retried");
                release_job(tx, job.job_id, worker, now + millis(delay), None, Some(message), false, now).await?
            }
            Err(failure) => {
                let message = failure.to_string();
                tracing::error!(error = %redact(&message), "the job failed for good and is parked");
                let held = park_job(tx, job.job_id, worker, &message, now).await?;
                if let (true, Some(channel), Some(lead_id)) = (held, channel_of_kind(&job.kind), job.lead_id) {
                    let report =
                        StatusReport { lead_id, channel, status: DeliveryStatus::Error, at: now, error: Some(message) };
                    apply_status_deferring_counts(tx, &report, now, deltas).await?;
                }
                held
            }
        };
        if !held {
            tracing::warn!("the job's lease passed to another worker; its outcome is left to that worker");
        }
        Ok(())
    }
}

/// What a batch of outcomes says about each provider: its latest success and error.
fn integration_news(batch: &[Finished]) -> BTreeMap<&'static str, IntegrationNews> {
    let mut news: BTreeMap<&'static str, IntegrationNews> = BTreeMap::new();
    for item in batch {
        let Some(integration) = integration_of_kind(&item.job.kind) else { continue };
        let entry = news.entry(integration).or_default();
        match &item.result {
            Ok(_) => entry.last_success_at = Some(item.now),
            Err(failure) => entry.last_error = Some((failure.to_string(), item.now)),
        }
    }
    news
}

/// The wait before attempt `attempts + 1`: the base doubled per attempt, capped, ±20 %.
fn backoff(policy: RetryPolicy, attempts: i64) -> Duration {
    let exponent = u32::try_from(attempts.saturating_sub(1)).unwrap_or(0).min(20);
    let plain = policy.base.saturating_mul(2u32.pow(exponent)).min(policy.max);
    plain.mul_f64(rand::thread_rng().gen_range(0.8..=1.2))
}

/// A provider's error text without email addresses or phone numbers, for the log.
fn redact(message: &str) -> String {
    message
        .split(' ')
        .map(|word| {
            let digits = word.chars().filter(char::is_ascii_digit).count();
            if word.contains('@') || digits >= 7 {
                "[скрыто]"
            } else {
                word
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_jitter_and_is_capped() {
        let config = RetryPolicy { base: Duration::from_secs(10), max: Duration::from_secs(60) };
        for _ in 0..50 {
            let first = backoff(config, 1);
            assert!(first >= Duration::from_secs(8) && first <= Duration::from_secs(12), "{first:?}");
            let third = backoff(config, 3);
            assert!(third >= Duration::from_secs(32) && third <= Duration::from_secs(48), "{third:?}");
            assert!(backoff(config, 30) <= Duration::from_secs(72));
        }
    }

    #[test]
    fn logs_never_carry_addresses_or_phones() {
        assert_eq!(redact("Invalid `to`: lead@example.com rejected"), "Invalid `to`: [скрыто] rejected");
        assert_eq!(redact("recipient 77051234567 blocked"), "recipient [скрыто] blocked");
        assert_eq!(redact("Mobizon: code 30"), "Mobizon: code 30");
    }
}
