//! Writes job outcomes, many per transaction: a busy queue costs one commit per batch
//! rather than per job. Each outcome closes its row and, while the lease is still this
//! worker's, writes the job's own effects ([`Job::commit`](super::Job::commit)).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use sqlx::AnyConnection;
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

use super::pauses::pause;
use super::{BatchWrites, Context, JobFailure, JobWaker, Kind, Ran};
use crate::config::JobsConfig;
use crate::db::integration::{record_integration_news, IntegrationNews};
use crate::db::job::{finish_jobs, park_job, refusals_of, release_job, requeue_refused, ClaimedJob, FinishedJob};
use crate::db::Db;
use crate::domain::integration::Integration;
use crate::time::millis;

/// A job that ran, waiting for its outcome to be committed.
pub(super) struct Finished<C: Context> {
    pub kind: &'static Kind<C>,
    pub job: ClaimedJob,
    pub result: Result<Ran<C>, JobFailure>,
    pub now: i64,
    pub recorded: oneshot::Sender<()>,
}

/// The most outcomes committed by one transaction.
const MAX_RECORD_BATCH: usize = 64;

/// How often one job may be refused by an integration that then passes its probe before
/// the refusal is taken to be about the job itself, which then fails.
const MAX_REFUSALS: i64 = 10;

/// How long failed jobs wait before their next attempt.
#[derive(Debug, Clone, Copy)]
struct RetryPolicy {
    base: Duration,
    max: Duration,
}

/// Commits outcomes sent by the runner.
pub(super) struct Recorder {
    db: Db,
    worker_id: String,
    max_attempts: u32,
    retry: RetryPolicy,
    /// Told when a recorded refusal paused an integration.
    waker: JobWaker,
}

impl Recorder {
    pub(super) fn new(db: Db, worker_id: String, config: &JobsConfig, waker: JobWaker) -> Self {
        let retry = RetryPolicy { base: config.retry_base, max: config.retry_max };
        Self { db, worker_id, max_attempts: config.max_attempts, retry, waker }
    }

    /// Commits what has finished, batch by batch, until every runner handle is gone.
    pub(super) async fn run<C: Context>(self, finished: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Finished<C>>>>) {
        loop {
            let mut batch = Vec::with_capacity(MAX_RECORD_BATCH);
            if finished.lock().await.recv_many(&mut batch, MAX_RECORD_BATCH).await == 0 {
                return;
            }
            // Rows in lead order, the order every other writer uses, so concurrent
            // transactions (intake, webhooks, another recorder) cannot deadlock with it.
            batch.sort_by_key(|item| (item.job.lead_id, item.job.job_id));
            if let Err(error) = self.record_all(&batch).await {
                // One bad outcome must not hold back the others: record them one by one.
                tracing::warn!(error = %error, jobs = batch.len(), "recording a batch of job outcomes failed; recording each alone");
                for item in &batch {
                    self.record_alone(item).await;
                }
            }
            for item in batch {
                let _ = item.recorded.send(());
            }
        }
    }

    /// Records `items` in one transaction: the rows of the finished ones in one
    /// statement, then each outcome's own writes, the shared writes of the batch last.
    async fn record_all<C: Context>(&self, items: &[Finished<C>]) -> Result<(), sqlx::Error> {
        let mut batch = C::Batch::default();
        let mut tx = self.db.begin_write().await?;
        let finished: Vec<FinishedJob<'_>> = items
            .iter()
            .filter_map(|item| match &item.result {
                Ok(Ran::Done { reference, .. }) => {
                    Some(FinishedJob { job_id: item.job.job_id, reference: reference.as_deref(), at: item.now })
                }
                _ => None,
            })
            .collect();
        let held: HashSet<i64> = finish_jobs(&mut tx, &finished, &self.worker_id).await?.into_iter().collect();
        let mut outcomes = Vec::with_capacity(items.len());
        for item in items {
            let job = &item.job;
            let span =
                tracing::info_span!("job", job.id = job.job_id, job.kind = %job.kind, job.attempt = job.attempts);
            if let Some(outcome) = self.record(&mut tx, item, &held, &mut batch).instrument(span).await? {
                outcomes.push((item.kind.kind, outcome));
            }
        }
        batch.flush(&mut tx).await?;
        for (integration, news) in integration_news(items) {
            record_integration_news(&mut tx, integration.as_str(), &news).await?;
        }
        tx.commit().await?;
        batch.committed(&self.db);
        for (kind, outcome) in outcomes {
            crate::metrics::job_finished(kind, outcome);
        }
        if items.iter().any(|item| matches!(item.result, Err(JobFailure::Refused(_)))) {
            self.waker.pauses_changed();
        }
        Ok(())
    }

    /// A few tries for one outcome; after that the lease is left to expire.
    async fn record_alone<C: Context>(&self, item: &Finished<C>) {
        for attempt in 1..=3 {
            match self.record_all(std::slice::from_ref(item)).await {
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

    /// Writes one outcome. Its row's update checks that this worker still holds the lease
    /// (for finished jobs, `finished_held` says whether it did); the effects follow only if
    /// it does (otherwise the new holder records them). Returns what became of the run
    /// (`done`, `again`, `refused`, `retried`, `failed`), or `None` when it was not ours
    /// to record.
    async fn record<C: Context>(
        &self,
        tx: &mut AnyConnection,
        item: &Finished<C>,
        finished_held: &HashSet<i64>,
        batch: &mut C::Batch,
    ) -> Result<Option<&'static str>, sqlx::Error> {
        let (job, now, worker) = (&item.job, item.now, self.worker_id.as_str());
        let (held, outcome) = match &item.result {
            Ok(Ran::Done { output, .. }) => {
                let held = finished_held.contains(&job.job_id);
                if held {
                    output.commit(job, tx, batch, now).await?;
                    if let Some(lead_id) = job.lead_id {
                        batch.lead_changed(lead_id);
                    }
                }
                (held, "done")
            }
            Ok(Ran::Again { after, payload }) => {
                let after = now + millis(*after);
                (release_job(tx, job.job_id, worker, after, Some(payload), None, true, now).await?, "again")
            }
            Err(JobFailure::Refused(refusal)) if refusals_of(tx, job.job_id).await? + 1 < MAX_REFUSALS => {
                // Not the job's fault: it waits, its attempt given back, and the
                // integration pauses until a probe passes.
                let message = refusal.to_string();
                let waiting = refusal.integration.as_str();
                let held = requeue_refused(tx, job.job_id, worker, waiting, &message, now).await?;
                if held {
                    pause(tx, refusal, now).await?;
                }
                (held, "refused")
            }
            Err(JobFailure::Retry { message, retry_after }) if job.attempts < i64::from(self.max_attempts) => {
                let delay = retry_after.unwrap_or_else(|| backoff(self.retry, job.attempts));
                tracing::warn!(error = %redact(message), retry_in_ms = millis(delay), "the job failed; it will be retried");
                (
                    release_job(tx, job.job_id, worker, now + millis(delay), None, Some(message), false, now).await?,
                    "retried",
                )
            }
            Err(failure) => {
                let message = failure.to_string();
                tracing::error!(error = %redact(&message), "the job failed for good and is parked");
                let held = park_job(tx, job.job_id, worker, &message, now).await?;
                if held {
                    item.kind.parked(job, &message, tx, batch, now).await?;
                    if let Some(lead_id) = job.lead_id {
                        batch.lead_changed(lead_id);
                    }
                }
                (held, "failed")
            }
        };
        if !held {
            tracing::warn!("the job's lease passed to another worker; its outcome is left to that worker");
        }
        Ok(held.then_some(outcome))
    }
}

/// What a batch of outcomes says about each provider: its latest success and error.
fn integration_news<C: Context>(items: &[Finished<C>]) -> BTreeMap<Integration, IntegrationNews> {
    let mut news: BTreeMap<Integration, IntegrationNews> = BTreeMap::new();
    for item in items {
        let Some(integration) = item.kind.integration else { continue };
        let entry = news.entry(integration).or_default();
        match &item.result {
            Ok(_) => entry.last_success_at = Some(item.now),
            // A refusal is written with the pause it causes.
            Err(JobFailure::Refused(_)) => {}
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
