//! The job runner: claims due jobs with a lease, runs them with bounded concurrency per
//! lane, and hands each outcome to the [`recorder`](super::recorder).

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::recorder::{Finished, Recorder};
use super::{Context, JobFailure, JobWaker, Kind, Registry};
use crate::config::JobsConfig;
use crate::db::job::{claim_jobs, next_due, release_orphaned_jobs, Claimable, ClaimedJob};
use crate::db::Engine;
use crate::time::{millis, now_ms};

/// The kinds that share one lane's permits.
#[derive(Debug)]
struct Lane<C: Context> {
    kinds: Vec<&'static Kind<C>>,
    permits: Arc<Semaphore>,
}

/// Works the job table for the kinds of one registry; cheap to clone.
#[derive(Debug)]
pub struct JobRunner<C: Context> {
    inner: Arc<Inner<C>>,
}

impl<C: Context> Clone for JobRunner<C> {
    fn clone(&self) -> Self {
        Self { inner: self.inner.clone() }
    }
}

#[derive(Debug)]
struct Inner<C: Context> {
    context: C,
    registry: &'static Registry<C>,
    config: JobsConfig,
    /// Names this process's leases; unique per start.
    worker_id: String,
    waker: JobWaker,
    lanes: Vec<Lane<C>>,
    /// Claimed jobs not recorded yet, at most [`MAX_UNRECORDED`]: a lane's permit is free
    /// again when its provider call ends, and this bounds what waits for the recorder.
    unrecorded: Arc<Semaphore>,
    recorder: mpsc::UnboundedSender<Finished<C>>,
}

/// The most claimed jobs that may be running or waiting for the recorder at once.
const MAX_UNRECORDED: usize = 512;

/// Recorder tasks on PostgreSQL. They cannot deadlock each other: every batch writes its
/// shared rows last, in key order (see [`BatchWrites`](super::BatchWrites)).
const RECORDERS_ON_POSTGRES: usize = 4;

impl<C: Context> JobRunner<C> {
    /// A runner of `registry`'s kinds with `context`, woken by `waker`; nothing runs until
    /// [`start`](Self::start) or [`run_due`](Self::run_due).
    ///
    /// # Panics
    /// When the registry names a kind twice or gives one lane two concurrencies.
    pub fn new(context: C, registry: &'static Registry<C>, config: JobsConfig, waker: JobWaker) -> Self {
        if let Err(problem) = registry.validate(&config) {
            panic!("the job registry is inconsistent: {problem}");
        }
        let mut lanes: Vec<Lane<C>> = Vec::new();
        for kind in registry.kinds() {
            match lanes.iter_mut().find(|lane| lane.kinds[0].lane.name == kind.lane.name) {
                Some(lane) => lane.kinds.push(kind),
                None => lanes.push(Lane {
                    kinds: vec![kind],
                    permits: Arc::new(Semaphore::new((kind.lane.concurrency)(&config).max(1))),
                }),
            }
        }
        let worker_id = format!("{}-{:08x}", std::process::id(), rand::thread_rng().gen::<u32>());
        let (recorder, finished) = mpsc::unbounded_channel();
        let finished = Arc::new(tokio::sync::Mutex::new(finished));
        // SQLite commits one transaction at a time; PostgreSQL gains from a few at once.
        let recorders = match context.db().engine() {
            Engine::Sqlite => 1,
            Engine::Postgres => RECORDERS_ON_POSTGRES,
        };
        for _ in 0..recorders {
            let record = Recorder::new(context.db().clone(), worker_id.clone(), &config);
            tokio::spawn(record.run(finished.clone()));
        }
        let unrecorded = Arc::new(Semaphore::new(MAX_UNRECORDED));
        Self { inner: Arc::new(Inner { context, registry, config, worker_id, waker, lanes, unrecorded, recorder }) }
    }

    /// The handle that wakes this runner.
    pub fn waker(&self) -> JobWaker {
        self.inner.waker.clone()
    }

    /// Works the queue in the background until `shutdown`, then stops claiming and waits
    /// for running jobs (at most the configured grace; unfinished ones are re-run later).
    pub fn start(&self, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
        let runner = self.clone();
        tokio::spawn(async move { runner.work_until(shutdown).await })
    }

    async fn work_until(self, shutdown: CancellationToken) {
        let db = self.inner.context.db();
        if db.engine() == Engine::Sqlite {
            // One process works a SQLite queue: whatever is `running` was ours when we died.
            match db.write_connection().await {
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
            let notified = self.inner.waker.notified();
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
                for claim in claimed {
                    running.spawn(self.clone().execute(claim, None));
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
            for claim in claimed {
                running.spawn(self.clone().execute(claim, Some(at)));
            }
            while running.join_next().await.is_some() {}
        }
    }

    /// Claims, for each lane, as many jobs as it has free permits: jobs with an expired
    /// lease first (when `orphans` asks to look for them), then due ones.
    async fn claim_round(&self, now: i64, orphans: bool) -> Result<Vec<Claim<C>>, sqlx::Error> {
        let db = self.inner.context.db();
        let lease_until = now + millis(self.inner.config.lease);
        let which: &[Claimable] = if orphans { &[Claimable::LeaseExpired, Claimable::Due] } else { &[Claimable::Due] };
        let mut claimed = Vec::new();
        for lane in &self.inner.lanes {
            let mut claims: Vec<(&'static Kind<C>, Claimable)> = Vec::new();
            for kind in &lane.kinds {
                if kind.is_ready(&self.inner.context) {
                    claims.extend(which.iter().map(|which| (*kind, *which)));
                }
            }
            for (kind, which) in claims {
                let free = lane.permits.available_permits().min(self.inner.unrecorded.available_permits());
                if free == 0 {
                    break;
                }
                let jobs = {
                    let mut conn = db.write_connection().await?;
                    let worker = &self.inner.worker_id;
                    claim_jobs(&mut conn, db.engine(), which, worker, kind.kind, free, now, lease_until).await?
                };
                for job in jobs {
                    // Only this task takes permits, so what it counted as free is still free.
                    let lane_permit =
                        lane.permits.clone().try_acquire_owned().expect("claims never exceed free permits");
                    let unrecorded =
                        self.inner.unrecorded.clone().try_acquire_owned().expect("claims stay under the bound");
                    claimed.push(Claim { kind, job, lane_permit, unrecorded });
                }
            }
        }
        Ok(claimed)
    }

    /// How long to sleep when nothing was claimable: until the next due job of a lane
    /// with room, at most the poll interval (which also finds expired leases).
    async fn idle_wait(&self) -> Duration {
        let poll = self.inner.config.poll_interval;
        let Ok(mut conn) = self.inner.context.db().pool().acquire().await else { return poll };
        let mut earliest: Option<i64> = None;
        if self.inner.unrecorded.available_permits() == 0 {
            return poll;
        }
        for lane in self.inner.lanes.iter().filter(|lane| lane.permits.available_permits() > 0) {
            let ready: Vec<&'static str> =
                lane.kinds.iter().filter(|kind| kind.is_ready(&self.inner.context)).map(|kind| kind.kind).collect();
            for kind in ready {
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

    /// Runs one claimed job in its own task (a panic fails the job, not the runner), frees
    /// its lane for the next job, and waits until its outcome is recorded.
    async fn execute(self, claim: Claim<C>, at: Option<i64>) {
        let Claim { kind, job, lane_permit, unrecorded } = claim;
        let span = tracing::info_span!("job", job.id = job.job_id, job.kind = %job.kind, job.attempt = job.attempts);
        let run = kind.run(job.clone(), self.inner.context.clone());
        let result = tokio::spawn(run.instrument(span.clone())).await.unwrap_or_else(|error| {
            let message = if error.is_panic() { "the job handler panicked" } else { "the job was cancelled" };
            Err(JobFailure::Retry { message: message.to_owned(), retry_after: None })
        });
        // The provider is done with it: another job of the lane may start while this one's
        // outcome waits for the recorder (still under its lease).
        drop(lane_permit);
        self.inner.waker.wake();
        let (recorded, done) = oneshot::channel();
        let finished = Finished { kind, job, result, now: at.unwrap_or_else(now_ms), recorded };
        if self.inner.recorder.send(finished).is_ok() {
            // Dropped unanswered only if recording failed for good; the lease then expires
            // and the job runs again.
            let _ = done.instrument(span).await;
        }
        drop(unrecorded);
        self.inner.waker.wake();
    }

    /// The registry this runner works.
    pub fn registry(&self) -> &'static Registry<C> {
        self.inner.registry
    }
}

/// A claimed job with its kind and the permits it holds.
struct Claim<C: Context> {
    kind: &'static Kind<C>,
    job: ClaimedJob,
    /// Its lane's: held while it runs.
    lane_permit: OwnedSemaphorePermit,
    /// Held until its outcome is recorded.
    unrecorded: OwnedSemaphorePermit,
}
