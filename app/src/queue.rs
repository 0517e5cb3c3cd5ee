//! The durable job queue, generic over what its jobs work with: the [`Job`] trait that
//! every kind implements, the [`Registry`] of kinds, the [`runner`] that claims due rows
//! with a lease and runs them in lanes of bounded concurrency, and the [`recorder`] that
//! commits their outcomes in batches. It knows nothing about leads: what a finished job
//! changes besides its own row is written by that job's [`Job::commit`].
//!
//! Durability comes from the table: a job is `queued` until a worker claims it
//! (`running`, with a lease), and `done` or `failed` only in the transaction that also
//! records its effects. A worker that dies leaves its lease to expire and the job is
//! claimed again, so every kind is written to be safe to run twice.

pub mod pauses;
pub mod recorder;
pub mod runner;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::AnyConnection;
use tokio::sync::Notify;

use crate::config::JobsConfig;
use crate::db::job::{ClaimedJob, NewJob};
use crate::db::Db;
use crate::domain::integration::{Integration, Refusal};

/// A boxed future, for calling a kind through the registry.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the jobs of one registry work with (database, provider clients, settings).
pub trait Context: Clone + Send + Sync + 'static {
    /// Writes that the outcomes of one recorded batch share, made last in its transaction.
    type Batch: BatchWrites;

    /// The database that holds the queue.
    fn db(&self) -> &Db;

    /// Checks whether a paused integration takes our credentials again, with a cheap call
    /// (`subject` names what was refused when narrower than the integration: a chat). Ok
    /// resumes the integration; an error keeps it paused until the next probe.
    fn probe(
        &self,
        integration: Integration,
        subject: Option<&str>,
    ) -> impl Future<Output = Result<(), JobFailure>> + Send;
}

/// Writes gathered from a batch of outcomes and made once, at the end of its transaction
/// (counters, say, in key order: batches that lock rows in one order cannot deadlock).
pub trait BatchWrites: Default + Send + 'static {
    /// Writes what the batch gathered, in the batch's transaction.
    fn flush(&mut self, conn: &mut AnyConnection) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// Notes that a job of `lead_id` finished or failed: the lead's row changed.
    fn lead_changed(&mut self, lead_id: i64);

    /// Runs after the batch's transaction committed.
    fn committed(self, db: &Db);
}

/// Jobs that share a limit on how many run at once: usually one provider's.
#[derive(Debug, Clone, Copy)]
pub struct Lane {
    /// The lane's name; kinds naming the same lane share its permits.
    pub name: &'static str,
    /// How many of its jobs may run at once.
    pub concurrency: fn(&JobsConfig) -> usize,
}

/// What a run of a job came to.
#[derive(Debug)]
pub enum Step<J: Job> {
    /// Finished: [`Job::commit`] writes `J::Output` when the job is closed.
    Done(J::Output),
    /// Not finished (a poll, a chunk of bulk work): run `next` after `after`, with fresh
    /// attempts.
    Again { after: Duration, next: J },
}

/// Why a job did not finish.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobFailure {
    /// Worth another attempt, not before `retry_after` when the provider said so.
    #[error("{message}")]
    Retry { message: String, retry_after: Option<Duration> },
    /// Another attempt cannot help; the job is parked as failed at once.
    #[error("{message}")]
    Permanent { message: String },
    /// The integration refused our credentials or permissions: it is paused, and the job
    /// waits for it without spending the attempt.
    #[error("{0}")]
    Refused(Refusal),
}

impl JobFailure {
    /// A failure that another attempt cannot cure.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self::Permanent { message: message.into() }
    }
}

impl From<sqlx::Error> for JobFailure {
    fn from(error: sqlx::Error) -> Self {
        Self::Retry { message: format!("database: {error}"), retry_after: None }
    }
}

/// A kind of background work: a serde struct stored as the row's payload, with what the
/// runner needs to schedule, run and close it.
pub trait Job: Serialize + DeserializeOwned + Send + Sync + Sized + 'static {
    /// What the job works with.
    type Context: Context;
    /// What a finished run hands to [`commit`](Self::commit).
    type Output: Send + Sync + 'static;

    /// The stable name stored in `job.kind`; never rename one that has shipped.
    const KIND: &'static str;
    /// The kind in Russian, for the dashboard.
    const DESCRIPTION: &'static str;
    /// The lane whose permits its runs take.
    const LANE: Lane;
    /// The outbound integration it talks to, if any, for the health view.
    const INTEGRATION: Option<Integration> = None;

    /// Whether jobs of this kind may be claimed now; those that may not wait in the queue
    /// (an integration that is not configured, say).
    fn is_ready(_context: &Self::Context) -> bool {
        true
    }

    /// Does the work. Runs outside any transaction and may run twice for one row.
    fn run(
        self,
        job: &ClaimedJob,
        context: &Self::Context,
    ) -> impl Future<Output = Result<Step<Self>, JobFailure>> + Send;

    /// The provider's reference of what a finished run did (a message id), kept on the row.
    fn reference(_output: &Self::Output) -> Option<&str> {
        None
    }

    /// Writes the effects of a finished run, in the transaction that marks the job done
    /// (and only while this worker still holds its lease).
    fn commit(
        _output: &Self::Output,
        _job: &ClaimedJob,
        _conn: &mut AnyConnection,
        _batch: &mut <Self::Context as Context>::Batch,
        _now: i64,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send {
        async { Ok(()) }
    }

    /// Writes what parking the job as failed means beyond its row, in that transaction.
    fn on_parked(
        &self,
        _error: &str,
        _conn: &mut AnyConnection,
        _batch: &mut <Self::Context as Context>::Batch,
        _now: i64,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send {
        async { Ok(()) }
    }

    /// Writes what an admin's retry of the failed job means beyond its row, in that transaction.
    fn on_retried(&self, _conn: &mut AnyConnection, _now: i64) -> impl Future<Output = Result<(), sqlx::Error>> + Send {
        async { Ok(()) }
    }
}

/// A kind listed in a [`Registry`]. Only the [`registry!`](crate::registry) macro
/// implements it, so a kind that is not listed cannot be enqueued: it does not compile.
///
/// ```compile_fail
/// use app::queue::{Job, Lane, Step, JobFailure};
/// use app::services::Services;
///
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Unlisted {}
///
/// impl Job for Unlisted {
///     type Context = Services;
///     type Output = ();
///     const KIND: &'static str = "unlisted";
///     const DESCRIPTION: &'static str = "Не в реестре";
///     const LANE: Lane = Lane { name: "unlisted", concurrency: |_| 1 };
///     async fn run(self, _: &app::db::job::ClaimedJob, _: &Services) -> Result<Step<Self>, JobFailure> {
///         Ok(Step::Done(()))
///     }
/// }
///
/// let _ = Unlisted {}.queued(None, "key".into(), 0);
/// ```
pub trait Registered: Job {
    /// This job as a queue row due at `run_at`, unique by `idempotency_key`.
    fn queued(&self, lead_id: Option<i64>, idempotency_key: String, run_at: i64) -> NewJob {
        NewJob {
            kind: Self::KIND,
            payload: serde_json::to_string(self).expect("job payloads serialise"),
            lead_id,
            idempotency_key,
            run_at,
        }
    }
}

/// Lists every job kind once and implements [`Registered`] for each:
/// `registry!(pub static JOBS: [Kind<Services>] = [SendLeadEmail, SendLeadSms]);`
#[macro_export]
macro_rules! registry {
    ($vis:vis static $name:ident: [Kind<$context:ty>] = [$($kind:ty),+ $(,)?]) => {
        $(impl $crate::queue::Registered for $kind {})+
        $vis static $name: $crate::queue::Registry<$context> =
            $crate::queue::Registry::new(&[$($crate::queue::Kind::of::<$kind>()),+]);
    };
}

/// A job run, its output boxed until the recorder commits it.
pub(crate) enum Ran<C: Context> {
    Done { output: Box<dyn Commit<C>>, reference: Option<String> },
    Again { after: Duration, payload: String },
}

/// A finished run's [`Job::commit`], callable without knowing the kind.
pub(crate) trait Commit<C: Context>: Send + Sync {
    fn commit<'a>(
        &'a self,
        job: &'a ClaimedJob,
        conn: &'a mut AnyConnection,
        batch: &'a mut C::Batch,
        now: i64,
    ) -> BoxFuture<'a, Result<(), sqlx::Error>>;
}

struct Output<J: Job>(J::Output);

impl<J: Job> Commit<J::Context> for Output<J> {
    fn commit<'a>(
        &'a self,
        job: &'a ClaimedJob,
        conn: &'a mut AnyConnection,
        batch: &'a mut <J::Context as Context>::Batch,
        now: i64,
    ) -> BoxFuture<'a, Result<(), sqlx::Error>> {
        Box::pin(J::commit(&self.0, job, conn, batch, now))
    }
}

type RunFn<C> = fn(ClaimedJob, C) -> BoxFuture<'static, Result<Ran<C>, JobFailure>>;
type ParkedFn<C> = for<'a> fn(
    &'a ClaimedJob,
    &'a str,
    &'a mut AnyConnection,
    &'a mut <C as Context>::Batch,
    i64,
) -> BoxFuture<'a, Result<(), sqlx::Error>>;
type RetriedFn = for<'a> fn(&'a ClaimedJob, &'a mut AnyConnection, i64) -> BoxFuture<'a, Result<(), sqlx::Error>>;

/// One registered kind: its constants and its trait functions, callable by name.
pub struct Kind<C: Context> {
    /// [`Job::KIND`].
    pub kind: &'static str,
    /// [`Job::DESCRIPTION`].
    pub description: &'static str,
    /// [`Job::LANE`].
    pub lane: Lane,
    /// [`Job::INTEGRATION`].
    pub integration: Option<Integration>,
    is_ready: fn(&C) -> bool,
    run: RunFn<C>,
    parked: ParkedFn<C>,
    retried: RetriedFn,
}

impl<C: Context> Kind<C> {
    /// The entry of `J`.
    pub const fn of<J: Job<Context = C>>() -> Self {
        Self {
            kind: J::KIND,
            description: J::DESCRIPTION,
            lane: J::LANE,
            integration: J::INTEGRATION,
            is_ready: J::is_ready,
            run: run_erased::<J>,
            parked: parked_erased::<J>,
            retried: retried_erased::<J>,
        }
    }

    /// Whether its jobs may be claimed now.
    pub fn is_ready(&self, context: &C) -> bool {
        (self.is_ready)(context)
    }

    pub(crate) fn run(&self, job: ClaimedJob, context: C) -> BoxFuture<'static, Result<Ran<C>, JobFailure>> {
        (self.run)(job, context)
    }

    pub(crate) fn parked<'a>(
        &self,
        job: &'a ClaimedJob,
        error: &'a str,
        conn: &'a mut AnyConnection,
        batch: &'a mut C::Batch,
        now: i64,
    ) -> BoxFuture<'a, Result<(), sqlx::Error>> {
        (self.parked)(job, error, conn, batch, now)
    }

    /// Runs [`Job::on_retried`] of the failed `job`, in the caller's transaction.
    pub async fn retried(&self, job: &ClaimedJob, conn: &mut AnyConnection, now: i64) -> Result<(), sqlx::Error> {
        (self.retried)(job, conn, now).await
    }
}

impl<C: Context> std::fmt::Debug for Kind<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kind").field("kind", &self.kind).field("lane", &self.lane.name).finish_non_exhaustive()
    }
}

fn parse<J: Job>(job: &ClaimedJob) -> Result<J, JobFailure> {
    serde_json::from_str(&job.payload)
        .map_err(|error| JobFailure::permanent(format!("unreadable {} payload: {error}", job.kind)))
}

fn run_erased<J: Job>(job: ClaimedJob, context: J::Context) -> BoxFuture<'static, Result<Ran<J::Context>, JobFailure>> {
    Box::pin(async move {
        match parse::<J>(&job)?.run(&job, &context).await? {
            Step::Done(output) => {
                let reference = J::reference(&output).map(str::to_owned);
                Ok(Ran::Done { output: Box::new(Output::<J>(output)), reference })
            }
            Step::Again { after, next } => {
                Ok(Ran::Again { after, payload: serde_json::to_string(&next).expect("job payloads serialise") })
            }
        }
    })
}

fn parked_erased<'a, J: Job>(
    job: &'a ClaimedJob,
    error: &'a str,
    conn: &'a mut AnyConnection,
    batch: &'a mut <J::Context as Context>::Batch,
    now: i64,
) -> BoxFuture<'a, Result<(), sqlx::Error>> {
    Box::pin(async move {
        match parse::<J>(job) {
            Ok(parsed) => parsed.on_parked(error, conn, batch, now).await,
            Err(_) => Ok(()),
        }
    })
}

fn retried_erased<'a, J: Job>(
    job: &'a ClaimedJob,
    conn: &'a mut AnyConnection,
    now: i64,
) -> BoxFuture<'a, Result<(), sqlx::Error>> {
    Box::pin(async move {
        match parse::<J>(job) {
            Ok(parsed) => parsed.on_retried(conn, now).await,
            Err(_) => Ok(()),
        }
    })
}

/// Every job kind of an application, each once.
pub struct Registry<C: Context> {
    kinds: &'static [Kind<C>],
}

impl<C: Context> Registry<C> {
    /// A registry of `kinds`; built by [`registry!`](crate::registry).
    pub const fn new(kinds: &'static [Kind<C>]) -> Self {
        Self { kinds }
    }

    /// Every kind, in the order they were listed.
    pub fn kinds(&self) -> &'static [Kind<C>] {
        self.kinds
    }

    /// The kind named `kind`.
    pub fn get(&self, kind: &str) -> Option<&'static Kind<C>> {
        self.kinds.iter().find(|entry| entry.kind == kind)
    }

    /// The dashboard's name of `kind`.
    pub fn describe(&self, kind: &str) -> &'static str {
        self.get(kind).map_or("Задача", |entry| entry.description)
    }

    /// The names of the kinds that talk to `integration`.
    pub fn kinds_of(&self, integration: Integration) -> Vec<&'static str> {
        self.kinds.iter().filter(|entry| entry.integration == Some(integration)).map(|entry| entry.kind).collect()
    }

    /// Refuses a registry that names a kind twice, or one lane with two concurrencies.
    pub fn validate(&self, config: &JobsConfig) -> Result<(), String> {
        for (index, entry) in self.kinds.iter().enumerate() {
            for other in &self.kinds[index + 1..] {
                if other.kind == entry.kind {
                    return Err(format!("job kind {} is registered twice", entry.kind));
                }
                if other.lane.name == entry.lane.name
                    && (other.lane.concurrency)(config) != (entry.lane.concurrency)(config)
                {
                    return Err(format!("lane {} has two concurrencies", entry.lane.name));
                }
            }
        }
        Ok(())
    }
}

impl<C: Context> std::fmt::Debug for Registry<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.kinds.iter().map(|kind| kind.kind)).finish()
    }
}

/// The runner's handle for the rest of the application: wakes it when work was enqueued
/// or an integration resumed, and holds its view of the paused integrations; cheap to
/// clone.
#[derive(Debug, Clone, Default)]
pub struct JobWaker {
    notify: Arc<Notify>,
    pauses: pauses::PauseView,
}

impl JobWaker {
    /// Tells the runner's idle lanes to look at the queue now instead of at their next
    /// poll.
    pub fn wake(&self) {
        self.notify.notify_waiters();
    }

    /// Tells the runner that an integration was paused or resumed here: it reads the
    /// pauses again before its next claim, and looks at the queue now.
    pub fn pauses_changed(&self) {
        self.pauses.invalidate();
        self.wake();
    }

    /// The runner's view of the paused integrations.
    pub fn pauses(&self) -> &pauses::PauseView {
        &self.pauses
    }

    fn notified(&self) -> tokio::sync::futures::Notified<'_> {
        self.notify.notified()
    }
}
