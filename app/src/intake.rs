//! Accepting leads. Submissions queue up for a writer that stores each batch — the
//! leads, their jobs, their counters and sources — in one transaction, then answers every
//! submission of the batch. Nobody gets an answer before their lead is committed.
//!
//! Batching is what makes the intake fast: under load one commit carries many leads,
//! and when idle a batch is a single lead, so nothing waits for company.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, Mutex};

use crate::db::job::enqueue_jobs;
use crate::db::lead::{
    bump_lead_stats, find_lead_by_submission_key, insert_leads, next_lead_ids, remember_sources, LeadToInsert, StatKey,
};
use crate::db::team::attribution_rules;
use crate::db::{Db, Engine};
use crate::domain::attribution::{Attribution, Attributor, UtmTags};
use crate::domain::lead_input::NewLead;
use crate::jobs::{PushLeadToCrm, SendLeadEmail, SendLeadSms};
use crate::models::LeadStats;
use crate::queue::{JobWaker, Registered};
use crate::supervisor::Supervisor;
use crate::time::almaty_day;

/// The most leads stored by one transaction (well inside both engines' bind limits).
const MAX_BATCH: usize = 256;
/// Submissions waiting for a writer; senders wait when it is full.
const QUEUE_CAPACITY: usize = 4 * MAX_BATCH;

/// The outcome of an accepted submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcceptedLead {
    pub lead_id: i64,
    /// False when the submission repeated an earlier idempotency key.
    pub created: bool,
}

/// A submission could not be stored; the cause was logged by the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the lead could not be stored")]
pub struct IntakeFailed;

/// The handle through which requests submit leads; cheap to clone.
#[derive(Debug, Clone)]
pub struct IntakeQueue {
    sender: mpsc::Sender<Submission>,
}

#[derive(Debug)]
struct Submission {
    lead: NewLead,
    submission_key: Option<String>,
    received_at: i64,
    reply: oneshot::Sender<Result<AcceptedLead, IntakeFailed>>,
}

impl IntakeQueue {
    /// Starts the writers under `supervisor` (one on SQLite, which writes one transaction
    /// at a time; two on PostgreSQL). They finish the queued work and stop once every
    /// handle is dropped.
    pub fn start(db: Db, notify_delay: Duration, waker: JobWaker, supervisor: &Supervisor) -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE_CAPACITY);
        let receiver = Arc::new(Mutex::new(receiver));
        let writers = match db.engine() {
            Engine::Sqlite => 1,
            Engine::Postgres => 2,
        };
        for _ in 0..writers {
            let (db, receiver, waker) = (db.clone(), receiver.clone(), waker.clone());
            supervisor.spawn("intake writer", move || {
                write_batches(db.clone(), receiver.clone(), notify_delay, waker.clone())
            });
        }
        Self { sender }
    }

    /// Stores `lead` with its email and SMS jobs (due after the notification delay) and
    /// its CRM push (due now); returns after the commit. A `submission_key` already used
    /// returns the earlier lead and stores nothing.
    pub async fn submit(
        &self,
        lead: NewLead,
        submission_key: Option<String>,
        received_at: i64,
    ) -> Result<AcceptedLead, IntakeFailed> {
        let (reply, answer) = oneshot::channel();
        self.sender.send(Submission { lead, submission_key, received_at, reply }).await.map_err(|_| IntakeFailed)?;
        answer.await.map_err(|_| IntakeFailed)?
    }
}

/// Takes whatever has queued up (at least one submission, at most [`MAX_BATCH`]),
/// stores it, answers, and repeats until the queue closes.
async fn write_batches(
    db: Db,
    receiver: Arc<Mutex<mpsc::Receiver<Submission>>>,
    notify_delay: Duration,
    waker: JobWaker,
) {
    loop {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        if receiver.lock().await.recv_many(&mut batch, MAX_BATCH).await == 0 {
            return;
        }
        match store_batch(&db, &batch, notify_delay).await {
            Ok(accepted) => {
                waker.wake();
                for (submission, accepted) in batch.into_iter().zip(accepted) {
                    // A caller that went away no longer needs the answer; its lead is stored.
                    let _ = submission.reply.send(Ok(accepted));
                }
            }
            Err(error) => {
                tracing::error!(
                    error = format!("{error:#}"),
                    batch.size = batch.len(),
                    "storing a batch of leads failed"
                );
                for submission in batch {
                    let _ = submission.reply.send(Err(IntakeFailed));
                }
            }
        }
    }
}

/// Stores a batch in one transaction; the answers are in submission order.
async fn store_batch(db: &Db, batch: &[Submission], notify_delay: Duration) -> Result<Vec<AcceptedLead>, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let ids = next_lead_ids(&mut tx, db.engine(), batch.len()).await?;
    // Read per batch, in the batch's transaction: a rule changed a moment ago applies.
    let attributor = Attributor::new(&attribution_rules(&mut tx).await?);
    let attributions: Vec<Attribution> = batch
        .iter()
        .map(|submission| {
            let tracking = &submission.lead.tracking;
            attributor.attribute(UtmTags {
                source: tracking.utm_source.as_deref(),
                medium: tracking.utm_medium.as_deref(),
                campaign: tracking.utm_campaign.as_deref(),
            })
        })
        .collect();
    let rows: Vec<LeadToInsert<'_>> = batch
        .iter()
        .zip(ids)
        .zip(&attributions)
        .map(|((submission, lead_id), attribution)| LeadToInsert {
            lead_id,
            lead: &submission.lead,
            submission_key: submission.submission_key.as_deref(),
            created_at: submission.received_at,
            day: almaty_day(submission.received_at),
            attribution,
        })
        .collect();
    let inserted: HashSet<i64> = insert_leads(&mut tx, &rows).await?.into_iter().collect();

    let delay_ms = i64::try_from(notify_delay.as_millis()).unwrap_or(i64::MAX / 2);
    let mut jobs = Vec::with_capacity(3 * inserted.len());
    let mut deltas: BTreeMap<StatKey, LeadStats> = BTreeMap::new();
    let mut sources = BTreeSet::new();
    for row in rows.iter().filter(|row| inserted.contains(&row.lead_id)) {
        let (lead_id, notify_at) = (row.lead_id, row.created_at + delay_ms);
        jobs.push(SendLeadEmail { lead_id }.queued(Some(lead_id), format!("lead-{lead_id}-email"), notify_at));
        jobs.push(SendLeadSms { lead_id }.queued(Some(lead_id), format!("lead-{lead_id}-sms"), notify_at));
        jobs.push(PushLeadToCrm { lead_id }.queued(Some(lead_id), format!("lead-{lead_id}-crm"), row.created_at));
        deltas.entry(StatKey::of(lead_id, row.day, &row.lead.source)).or_default().total += 1;
        sources.insert(row.lead.source.as_str());
    }
    let now = batch.iter().map(|submission| submission.received_at).max().unwrap_or_default();
    enqueue_jobs(&mut tx, &jobs, now).await?;
    bump_lead_stats(&mut tx, &deltas).await?;
    remember_sources(&mut tx, &sources, now).await?;

    let mut accepted = Vec::with_capacity(rows.len());
    for row in &rows {
        if inserted.contains(&row.lead_id) {
            accepted.push(AcceptedLead { lead_id: row.lead_id, created: true });
        } else {
            let key = row.submission_key.unwrap_or_default();
            let lead_id = find_lead_by_submission_key(&mut tx, key).await?.ok_or(sqlx::Error::RowNotFound)?;
            accepted.push(AcceptedLead { lead_id, created: false });
        }
    }
    tx.commit().await?;
    Ok(accepted)
}
