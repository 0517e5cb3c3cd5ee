//! The job runner: one task per lane claims due jobs with a lease, a batch at a time and
//! a little ahead of its free permits, and runs them with the lane's bounded
//! concurrency; each outcome goes to the [`recorder`](super::recorder). A heartbeat renews
//! the leases of every job this process holds, so a job is claimed again only when its
//! process is gone; a prober resumes paused integrations ([`pauses`](super::pauses)).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use super::pauses::run_due_probes;
use super::recorder::{Finished, Recorder};
use super::{Context, JobFailure, JobWaker, Kind, Registry};
use crate::config::JobsConfig;
use crate::db::integration::probe_all_now;
use crate::db::job::{claim_jobs, next_due, renew_leases, unclaim_job, Claimable, ClaimedJob};
use crate::db::Engine;
use crate::domain::integration::Integration;
use crate::supervisor::Supervisor;
use crate::time::{millis, now_ms};

/// The kinds that share one lane's permits.
#[derive(Debug)]
struct Lane<C: Context> {
    name: &'static str,
    kinds: Vec<&'static Kind<C>>,
    concurrency: usize,
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
    /// The jobs this process holds a lease on (claimed, running or being recorded): the
    /// heartbeat renews their leases.
    held: Mutex<HashSet<i64>>,
    /// Held jobs whose lease the heartbeat found in another worker's hands: not started.
    lost: Mutex<HashSet<i64>>,
}

/// The most claimed jobs that may be running or waiting for the recorder at once.
const MAX_UNRECORDED: usize = 512;

/// Recorder tasks on PostgreSQL. They cannot deadlock each other: every batch writes its
/// shared rows last, in key order (see [`BatchWrites`](super::BatchWrites)).
const RECORDERS_ON_POSTGRES: usize = 4;

/// The shortest pause of an idle lane between two looks at the queue when woken: every
/// recorded job wakes the runner, and idle lanes must not query the queue thousands of
/// times a second while busy ones work.
const WOKEN_LOOK_INTERVAL: Duration = Duration::from_millis(100);

/// The shortest sleep of an idle lane until its next due job; also how soon it looks
/// again at a due job that another process holds.
const DUE_LOOK_INTERVAL: Duration = Duration::from_millis(10);

impl<C: Context> JobRunner<C> {
    /// A runner of `registry`'s kinds with `context`, woken by `waker`, its recorders
    /// running under `supervisor`; no job runs until [`start`](Self::start) or
    /// [`run_due`](Self::run_due).
    ///
    /// # Panics
    /// When the registry names a kind twice or gives one lane two concurrencies.
    pub fn new(
        context: C,
        registry: &'static Registry<C>,
        config: JobsConfig,
        waker: JobWaker,
        supervisor: &Supervisor,
    ) -> Self {
        if let Err(problem) = registry.validate(&config) {
            panic!("the job registry is inconsistent: {problem}");
        }
        let mut lanes: Vec<Lane<C>> = Vec::new();
        for kind in registry.kinds() {
            match lanes.iter_mut().find(|lane| lane.name == kind.lane.name) {
                Some(lane) => lane.kinds.push(kind),
                None => {
                    let concurrency = (kind.lane.concurrency)(&config).max(1);
                    let permits = Arc::new(Semaphore::new(concurrency));
                    lanes.push(Lane { name: kind.lane.name, kinds: vec![kind], concurrency, permits });
                }
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
            let (db, worker_id, config, finished, waker) =
                (context.db().clone(), worker_id.clone(), config.clone(), finished.clone(), waker.clone());
            supervisor.spawn("job recorder", move || {
                Recorder::new(db.clone(), worker_id.clone(), &config, waker.clone()).run(finished.clone())
            });
        }
        let unrecorded = Arc::new(Semaphore::new(MAX_UNRECORDED));
        Self {
            inner: Arc::new(Inner {
                context,
                registry,
                config,
                worker_id,
                waker,
                lanes,
                unrecorded,
                recorder,
                held: Mutex::default(),
                lost: Mutex::default(),
            }),
        }
    }

    /// The handle that wakes this runner.
    pub fn waker(&self) -> JobWaker {
        self.inner.waker.clone()
    }

    /// Works the queue in the background until `shutdown`, then stops claiming, gives
    /// back what it claimed but had not started, and waits for running jobs (at most the
    /// configured grace; unfinished ones are run again later).
    pub fn start(&self, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
        let runner = self.clone();
        tokio::spawn(async move { runner.work_until(shutdown).await })
    }

    /// What a process does once before it works the queue: a paused integration is
    /// probed at once, since a restart is how new credentials arrive.
    pub async fn prepare(&self) {
        let db = self.inner.context.db();
        let probed = match db.write_connection().await {
            Ok(mut conn) => probe_all_now(&mut conn, now_ms()).await,
            Err(error) => Err(error),
        };
        match probed {
            Ok(0) => {}
            Ok(count) => tracing::info!(integrations = count, "paused integrations are probed at start"),
            Err(error) => tracing::error!(error = %error, "scheduling the probes of paused integrations failed"),
        }
    }

    async fn work_until(self, shutdown: CancellationToken) {
        self.prepare().await;
        tracing::info!(worker = %self.inner.worker_id, "job runner started");
        let running = TaskTracker::new();
        let mut lanes = JoinSet::new();
        for lane in 0..self.inner.lanes.len() {
            lanes.spawn(self.clone().work_lane(lane, shutdown.clone(), running.clone()));
        }
        let heartbeat = tokio::spawn(self.clone().beat_until(shutdown.clone()));
        let prober = tokio::spawn(self.clone().probe_until(shutdown.clone()));
        while lanes.join_next().await.is_some() {}
        let _ = prober.await;
        running.close();
        let in_flight = running.len();
        // Leases stay renewed while the running jobs finish.
        match tokio::time::timeout(self.inner.config.shutdown_grace, running.wait()).await {
            Ok(()) => tracing::info!(jobs = in_flight, "job runner stopped after finishing its running jobs"),
            Err(_) => tracing::warn!(jobs = running.len(), "job runner stopped; unfinished jobs will run again"),
        }
        heartbeat.abort();
    }

    /// Renews the leases of the jobs this process holds, a third of a lease apart, until
    /// the runner stops (a job that outlives its first lease keeps it while it runs).
    async fn beat_until(self, shutdown: CancellationToken) {
        let period = (self.inner.config.lease / 3).max(Duration::from_millis(50));
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            self.renew_held().await;
            if shutdown.is_cancelled() && self.held_ids().is_empty() {
                return;
            }
        }
    }

    /// One heartbeat: extends every held lease; a job whose lease another worker holds
    /// now is marked lost and will not start here.
    pub async fn renew_held(&self) {
        let held = self.held_ids();
        if held.is_empty() {
            return;
        }
        let db = self.inner.context.db();
        let now = now_ms();
        let lease_until = now + millis(self.inner.config.lease);
        let renewed = match db.write_connection().await {
            Ok(mut conn) => renew_leases(&mut conn, &held, &self.inner.worker_id, lease_until, now).await,
            Err(error) => Err(error),
        };
        let renewed: HashSet<i64> = match renewed {
            Ok(renewed) => renewed.into_iter().collect(),
            Err(error) if db.is_outage(&error) => return,
            Err(error) => {
                tracing::error!(error = %error, jobs = held.len(), "renewing the leases of running jobs failed");
                return;
            }
        };
        let current = self.held_ids();
        let mut lost = self.inner.lost.lock().expect("the lost-lease set is never poisoned");
        // Ids recorded meanwhile left the held set; only those still held can be lost (a
        // job finished between the two looks is not: it is released at once).
        for job_id in held.into_iter().filter(|id| !renewed.contains(id) && current.contains(id)) {
            tracing::debug!(job.id = job_id, "a held job's lease was not renewed");
            lost.insert(job_id);
        }
    }

    /// Runs the due probes of paused integrations every poll interval until `shutdown`.
    async fn probe_until(self, shutdown: CancellationToken) {
        loop {
            match run_due_probes(&self.inner.context, now_ms()).await {
                Ok(true) => self.inner.waker.pauses_changed(),
                Ok(false) => {}
                Err(error) if self.inner.context.db().is_outage(&error) => {}
                Err(error) => tracing::error!(error = %error, "probing the paused integrations failed"),
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(self.inner.config.poll_interval) => {}
            }
        }
    }

    fn held_ids(&self) -> Vec<i64> {
        self.inner.held.lock().expect("the held-job set is never poisoned").iter().copied().collect()
    }

    fn hold(&self, jobs: &[(&'static Kind<C>, ClaimedJob)]) {
        self.inner
            .held
            .lock()
            .expect("the held-job set is never poisoned")
            .extend(jobs.iter().map(|(_, job)| job.job_id));
    }

    /// Forgets a job this process no longer holds; true when its lease had been lost.
    fn release(&self, job_id: i64) -> bool {
        self.inner.held.lock().expect("the held-job set is never poisoned").remove(&job_id);
        self.inner.lost.lock().expect("the lost-lease set is never poisoned").remove(&job_id)
    }

    /// Starts the jobs of one lane as its permits free up, from what its
    /// [claimer](Self::claim_ahead) has claimed, until `shutdown`.
    async fn work_lane(self, lane: usize, shutdown: CancellationToken, running: TaskTracker) {
        let permits = self.inner.lanes[lane].permits.clone();
        // Room for one batch, a job per permit: each waits for about one run at most.
        let (ahead, mut claimed) = mpsc::channel(self.inner.lanes[lane].concurrency);
        let claimer = tokio::spawn(self.clone().claim_ahead(lane, ahead, shutdown.clone()));
        loop {
            let permit = tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                permit = permits.clone().acquire_owned() => permit.expect("lane permits are never closed"),
            };
            let claim = tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                claim = claimed.recv() => match claim {
                    Some(claim) => claim,
                    None => break,
                },
            };
            running.spawn(self.clone().execute(claim, permit, None));
        }
        let _ = claimer.await;
        claimed.close();
        while let Ok(claim) = claimed.try_recv() {
            self.unclaim(&claim.job).await;
            self.release(claim.job.job_id);
        }
    }

    /// Claims jobs of one lane a batch (one per permit) at a time, whenever the jobs it
    /// claimed before have all started; an idle lane sleeps until its next due job, a
    /// wake, or the poll interval.
    async fn claim_ahead(self, lane_index: usize, ahead: mpsc::Sender<Claim<C>>, shutdown: CancellationToken) {
        let lane = &self.inner.lanes[lane_index];
        let batch = lane.concurrency;
        let mut orphans_checked_at = 0;
        let mut round = 0;
        loop {
            let room = tokio::select! {
                biased;
                _ = shutdown.cancelled() => return,
                room = ahead.reserve_many(batch) => match room {
                    Ok(room) => room,
                    Err(_) => return,
                },
            };
            let mut unrecorded = tokio::select! {
                biased;
                _ = shutdown.cancelled() => return,
                permits = self.inner.unrecorded.clone().acquire_many_owned(u32::try_from(batch).unwrap_or(u32::MAX)) => {
                    permits.expect("the bound on unrecorded jobs is never closed")
                }
            };
            let now = now_ms();
            let orphans = now - orphans_checked_at >= millis(self.inner.config.poll_interval);
            if orphans {
                orphans_checked_at = now;
            }
            round += 1;
            match self.claim_for_lane(lane, batch, now, orphans, round).await {
                Ok(jobs) if !jobs.is_empty() => {
                    for ((kind, job), slot) in jobs.into_iter().zip(room) {
                        let unrecorded = unrecorded.split(1).expect("one permit was taken per claimable job");
                        slot.send(Claim { kind, job, unrecorded });
                    }
                    // A backlog may hold more: look again as soon as there is room.
                    continue;
                }
                Ok(_) => {}
                Err(error) if self.inner.context.db().is_outage(&error) => {}
                Err(error) => tracing::error!(lane = lane.name, error = %error, "claiming jobs failed"),
            }
            drop((room, unrecorded));
            if !self.wait_until_due(lane, &shutdown).await {
                return;
            }
        }
    }

    /// Sleeps while `lane` has nothing due: until its next due job, at most the poll
    /// interval. A wake (new work somewhere) makes it read the next due time again, at
    /// most every [`WOKEN_LOOK_INTERVAL`]; reading costs no write, claiming would. False
    /// on shutdown.
    async fn wait_until_due(&self, lane: &Lane<C>, shutdown: &CancellationToken) -> bool {
        loop {
            let notified = self.inner.waker.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let looked_at = Instant::now();
            let next_look = looked_at + self.idle_wait(lane).await;
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => return false,
                _ = &mut notified => {
                    tokio::time::sleep_until(next_look.min(looked_at + WOKEN_LOOK_INTERVAL).into()).await;
                    if Instant::now() >= next_look {
                        return true;
                    }
                }
                _ = tokio::time::sleep_until(next_look.into()) => return true,
            }
        }
    }

    /// Runs every job due at `at` (UTC milliseconds), including jobs its runs make due,
    /// and returns how many ran; the probes of paused integrations due at `at` run first.
    /// Tests use it to drive the queue without waiting.
    pub async fn run_due(&self, at: i64) -> anyhow::Result<usize> {
        run_due_probes(&self.inner.context, at).await?;
        let mut ran = 0;
        loop {
            self.inner.waker.pauses().invalidate();
            let mut running = JoinSet::new();
            for lane in &self.inner.lanes {
                let free = lane.permits.available_permits().min(self.inner.unrecorded.available_permits());
                for (kind, job) in self.claim_for_lane(lane, free, at, true, 0).await? {
                    let permit = lane.permits.clone().try_acquire_owned().expect("claims never exceed free permits");
                    let unrecorded =
                        self.inner.unrecorded.clone().try_acquire_owned().expect("claims stay under the bound");
                    let claim = Claim { kind, job, unrecorded };
                    running.spawn(self.clone().execute(claim, permit, Some(at)));
                }
            }
            if running.is_empty() {
                return Ok(ran);
            }
            ran += running.len();
            while running.join_next().await.is_some() {}
        }
    }

    /// Claims up to `limit` jobs of `lane`'s ready kinds, `round` saying which kind goes
    /// first (so that one kind's backlog does not starve the others): jobs with an
    /// expired lease first (when `orphans` asks to look for them), then due ones. Kinds of
    /// a paused integration and jobs waiting for one are left in the queue.
    async fn claim_for_lane(
        &self,
        lane: &Lane<C>,
        limit: usize,
        now: i64,
        orphans: bool,
        round: usize,
    ) -> Result<Vec<(&'static Kind<C>, ClaimedJob)>, sqlx::Error> {
        let db = self.inner.context.db();
        let lease_until = now + millis(self.inner.config.lease);
        let which: &[Claimable] = if orphans { &[Claimable::LeaseExpired, Claimable::Due] } else { &[Claimable::Due] };
        let paused = self.inner.waker.pauses().paused(db).await;
        let paused_names: Vec<&str> = paused.iter().map(|integration| integration.as_str()).collect();
        let first = round % lane.kinds.len();
        let kinds = lane.kinds[first..].iter().chain(&lane.kinds[..first]);
        let mut claimed = Vec::new();
        for kind in kinds.filter(|kind| self.may_claim(kind, &paused)) {
            for which in which {
                let wanted = limit - claimed.len();
                if wanted == 0 {
                    self.hold(&claimed);
                    return Ok(claimed);
                }
                let mut conn = db.write_connection().await?;
                let worker = &self.inner.worker_id;
                let jobs = claim_jobs(
                    &mut conn,
                    db.engine(),
                    *which,
                    worker,
                    kind.kind,
                    wanted,
                    now,
                    lease_until,
                    &paused_names,
                )
                .await?;
                claimed.extend(jobs.into_iter().map(|job| (*kind, job)));
            }
        }
        self.hold(&claimed);
        Ok(claimed)
    }

    /// Whether jobs of `kind` may be claimed now: it is ready, and its integration is not
    /// paused.
    fn may_claim(&self, kind: &Kind<C>, paused: &[Integration]) -> bool {
        kind.is_ready(&self.inner.context) && kind.integration.is_none_or(|integration| !paused.contains(&integration))
    }

    /// How long an idle lane sleeps: until its next due job, at most the poll interval
    /// (which also finds expired leases), at least [`DUE_LOOK_INTERVAL`].
    async fn idle_wait(&self, lane: &Lane<C>) -> Duration {
        let poll = self.inner.config.poll_interval;
        let paused = self.inner.waker.pauses().paused(self.inner.context.db()).await;
        let paused_names: Vec<&str> = paused.iter().map(|integration| integration.as_str()).collect();
        let Ok(mut conn) = self.inner.context.db().pool().acquire().await else { return poll };
        let mut earliest: Option<i64> = None;
        for kind in lane.kinds.iter().filter(|kind| self.may_claim(kind, &paused)) {
            if let Ok(Some(due)) = next_due(&mut conn, kind.kind, &paused_names).await {
                earliest = Some(earliest.map_or(due, |earliest| earliest.min(due)));
            }
        }
        match earliest {
            // Due but not claimed: another process holds it; look again shortly.
            Some(due) => {
                Duration::from_millis(u64::try_from(due - now_ms()).unwrap_or(0)).clamp(DUE_LOOK_INTERVAL, poll)
            }
            None => poll,
        }
    }

    /// Runs one claimed job in its own task (a panic fails the job, not the runner), frees
    /// its lane for the next job, and waits until its outcome is recorded. A job whose
    /// lease the heartbeat found in another worker's hands while it waited for its permit
    /// is left to that worker.
    async fn execute(self, claim: Claim<C>, lane_permit: OwnedSemaphorePermit, at: Option<i64>) {
        let Claim { kind, job, unrecorded } = claim;
        let span = tracing::info_span!("job", job.id = job.job_id, job.kind = %job.kind, job.attempt = job.attempts);
        if self.inner.lost.lock().expect("the lost-lease set is never poisoned").contains(&job.job_id) {
            span.in_scope(|| {
                tracing::warn!("the job's lease passed to another worker while it waited; left to that one")
            });
            self.release(job.job_id);
            return;
        }
        let job_id = job.job_id;
        let run = kind.run(job.clone(), self.inner.context.clone());
        let result = tokio::spawn(run.instrument(span.clone())).await.unwrap_or_else(|error| {
            let message = if error.is_panic() { "the job handler panicked" } else { "the job was cancelled" };
            Err(JobFailure::Retry { message: message.to_owned(), retry_after: None })
        });
        // The provider is done with it: another job of the lane may start while this one's
        // outcome waits for the recorder (still under its lease).
        drop(lane_permit);
        let (recorded, done) = oneshot::channel();
        let finished = Finished { kind, job, result, now: at.unwrap_or_else(now_ms), recorded };
        if self.inner.recorder.send(finished).is_ok() {
            // Dropped unanswered only if recording failed for good; the job is no longer
            // held, so its lease expires and it runs again.
            let _ = done.instrument(span).await;
        }
        self.release(job_id);
        drop(unrecorded);
        // Its outcome may have made other work due (a follow-up, a next step).
        self.inner.waker.wake();
    }

    /// Gives a claimed job that never started back to the queue at once, rather than
    /// after its lease.
    async fn unclaim(&self, job: &ClaimedJob) {
        let db = self.inner.context.db();
        let unclaimed = match db.write_connection().await {
            Ok(mut conn) => unclaim_job(&mut conn, job.job_id, &self.inner.worker_id, now_ms()).await,
            Err(error) => Err(error),
        };
        if let Err(error) = unclaimed {
            tracing::warn!(job.id = job.job_id, error = %error, "returning an unstarted job failed; its lease will expire");
        }
    }

    /// The registry this runner works.
    pub fn registry(&self) -> &'static Registry<C> {
        self.inner.registry
    }
}

/// A claimed job with its kind, waiting for a permit of its lane.
struct Claim<C: Context> {
    kind: &'static Kind<C>,
    job: ClaimedJob,
    /// Held until its outcome is recorded.
    unrecorded: OwnedSemaphorePermit,
}
