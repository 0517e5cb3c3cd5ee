//! Integrations that refused our credentials or permissions. A refused job pauses its
//! integration (in the recorder's transaction); the runner keeps a snapshot of what is
//! paused and claims no job that waits for a paused integration, so those jobs wait in
//! the queue without spending attempts. A probe — a cheap call through the context, on a
//! backoff from one to fifteen minutes — resumes the integration when it passes.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{Context, JobFailure};
use crate::db::integration::{
    due_probes, integration_status, pause_integration, paused_integrations, probe_failed, resume_integration,
    take_probe,
};
use crate::db::Db;
use crate::domain::integration::{probe_backoff, Integration, Refusal};
use crate::time::millis;

/// How old the snapshot of paused integrations may get before the runner reads it again:
/// another process's pause or resume reaches this one within it.
const SNAPSHOT_AGE: Duration = Duration::from_millis(250);

/// The runner's view of the paused integrations; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct PauseView {
    snapshot: Arc<Mutex<Snapshot>>,
    /// Set when this process paused or resumed one: read again before the next claim.
    stale: Arc<AtomicBool>,
}

#[derive(Debug, Default)]
struct Snapshot {
    read_at: Option<Instant>,
    paused: Vec<Integration>,
}

impl PauseView {
    /// The paused integrations, read from the database when the snapshot is old or stale.
    /// A failed read keeps the last snapshot (the claim that follows fails the same way).
    pub async fn paused(&self, db: &Db) -> Vec<Integration> {
        let fresh = {
            let snapshot = self.snapshot.lock().expect("the pause snapshot lock is never poisoned");
            let young = snapshot.read_at.is_some_and(|read_at| read_at.elapsed() < SNAPSHOT_AGE);
            (young && !self.stale.load(Ordering::Acquire)).then(|| snapshot.paused.clone())
        };
        if let Some(paused) = fresh {
            return paused;
        }
        self.stale.store(false, Ordering::Release);
        let read = match db.pool().acquire().await {
            Ok(mut conn) => paused_integrations(&mut conn).await,
            Err(error) => Err(error),
        };
        let mut snapshot = self.snapshot.lock().expect("the pause snapshot lock is never poisoned");
        match read {
            Ok(names) => {
                snapshot.paused = names.iter().filter_map(|name| Integration::parse(name)).collect();
                snapshot.read_at = Some(Instant::now());
            }
            Err(error) if db.is_outage(&error) => {}
            Err(error) => tracing::warn!(error = %error, "reading the paused integrations failed"),
        }
        snapshot.paused.clone()
    }

    /// Makes the next look read the database: this process paused or resumed one.
    pub fn invalidate(&self) {
        self.stale.store(true, Ordering::Release);
    }
}

/// Pauses `refusal.integration` (see [`pause_integration`]), in the caller's transaction.
pub async fn pause(conn: &mut sqlx::AnyConnection, refusal: &Refusal, now: i64) -> Result<(), sqlx::Error> {
    tracing::warn!(
        integration = refusal.integration.as_str(),
        reason = %refusal.reason,
        "the integration refused our credentials; its work waits for a probe"
    );
    pause_integration(conn, refusal.integration.as_str(), &refusal.reason, refusal.subject.as_deref(), now).await
}

/// What a probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// It works: a paused integration is resumed.
    Passed,
    /// It still refuses, or the probe itself failed; the text says why.
    Failed(String),
}

/// Runs the probes of paused integrations that are due at `now` and records what they
/// found. Taking a probe moves its time on first, so one process probes each. True when
/// one resumed.
pub async fn run_due_probes<C: Context>(context: &C, now: i64) -> Result<bool, sqlx::Error> {
    let db = context.db();
    let due = {
        let mut conn = db.pool().acquire().await?;
        due_probes(&mut conn, now).await?
    };
    let mut resumed = false;
    for probe in due {
        let Some(integration) = Integration::parse(&probe.integration) else { continue };
        let provisional_next = now + millis(probe_backoff(probe.probes + 1));
        let taken = {
            let mut conn = db.write_connection().await?;
            take_probe(&mut conn, &probe.integration, now, provisional_next).await?
        };
        if taken {
            let outcome = probe_and_record(context, integration, probe.pause_subject.as_deref(), probe.probes, now);
            resumed |= outcome.await? == ProbeOutcome::Passed;
        }
    }
    Ok(resumed)
}

/// Probes `integration` now, whether or not it is paused (an admin's «Проверить сейчас»):
/// a paused one that passes resumes, a working one that is refused pauses.
pub async fn probe_now<C: Context>(
    context: &C,
    integration: Integration,
    now: i64,
) -> Result<ProbeOutcome, sqlx::Error> {
    let status = {
        let mut conn = context.db().pool().acquire().await?;
        integration_status(&mut conn, integration.as_str()).await?
    };
    match status {
        Some(status) if status.paused_at.is_some() => {
            probe_and_record(context, integration, status.pause_subject.as_deref(), status.probes, now).await
        }
        _ => match context.probe(integration, None).await {
            Ok(()) => Ok(ProbeOutcome::Passed),
            Err(JobFailure::Refused(refusal)) => {
                let mut tx = context.db().begin_write().await?;
                pause(&mut tx, &refusal, now).await?;
                tx.commit().await?;
                Ok(ProbeOutcome::Failed(refusal.reason))
            }
            Err(failure) => Ok(ProbeOutcome::Failed(failure.to_string())),
        },
    }
}

/// Runs one probe of a paused integration and records it: resumed, or the next probe
/// after the grown backoff.
async fn probe_and_record<C: Context>(
    context: &C,
    integration: Integration,
    subject: Option<&str>,
    failed_probes: i64,
    now: i64,
) -> Result<ProbeOutcome, sqlx::Error> {
    let outcome = context.probe(integration, subject).await;
    let mut tx = context.db().begin_write().await?;
    let found = match outcome {
        Ok(()) => {
            resume_integration(&mut tx, integration.as_str(), now).await?;
            tracing::info!(integration = integration.as_str(), "the integration passed its probe and works again");
            ProbeOutcome::Passed
        }
        Err(failure) => {
            let reason = match &failure {
                JobFailure::Refused(refusal) => Some(refusal.reason.as_str()),
                _ => None,
            };
            let error = failure.to_string();
            probe_failed(&mut tx, integration.as_str(), &error, reason, failed_probes + 1, now).await?;
            tracing::warn!(integration = integration.as_str(), error = %error, "the paused integration failed its probe");
            ProbeOutcome::Failed(error)
        }
    };
    tx.commit().await?;
    Ok(found)
}
