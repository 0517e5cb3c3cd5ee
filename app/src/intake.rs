//! Accepting leads. Submissions queue up for a writer that stores each batch — the
//! leads, their jobs, their counters and sources — in one transaction, then answers every
//! submission of the batch. Nobody gets an answer before their lead is committed.
//!
//! Batching is what makes the intake fast: under load one commit carries many leads,
//! and when idle a batch is a single lead, so nothing waits for company.
//!
//! When the database cannot take a submission in time (it is down, or stuck), the
//! submission goes to the [`spool`] instead — on disk before the answer — and the answer is
//! a receipt. While anything waits in the spool, new submissions join it (so they are
//! stored in order), and a replayer stores them as soon as the database takes writes
//! again, each once. A submission a writer had not taken yet is withdrawn from it, so only
//! the spool stores it; one a writer had taken is *in doubt* (its batch may commit after
//! all): the replayer waits until that batch has ended and stores it only if no lead has
//! its `Idempotency-Key` or, without one, its email, phone and arrival millisecond.

pub mod notifications;
pub mod spool;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{mpsc, oneshot, Mutex, Notify};

use self::notifications::{settle, Outgoing};
use self::spool::{Orphan, Spool, SpooledSubmission};

pub use self::notifications::NotifyRules;

use crate::db::delivery::record_skipped;
use crate::db::job::{enqueue_jobs, NewJob};
use crate::db::lead::{
    bump_lead_stats, find_lead_by_arrival, find_lead_by_submission_key, insert_leads, next_lead_ids,
    remember_campaigns, remember_sources, LeadToInsert, StatKey,
};
use crate::db::meta_event::{insert_lead_clients, insert_meta_events, LeadClient};
use crate::db::team::attribution_rules;
use crate::db::{Db, Engine};
use crate::domain::attribution::{Attribution, Attributor, UtmTags};
use crate::domain::conversions::LeadEvents;
use crate::domain::delivery::Channel;
use crate::domain::lead_input::{LeadKind, NewLead};
use crate::jobs::{PushLeadToCrm, SendConversion, SendLeadEmail, SendLeadSms};
use crate::live::{Change, LiveChanges};
use crate::models::LeadStats;
use crate::queue::{JobWaker, Registered};
use crate::supervisor::Supervisor;
use crate::time::almaty_day;

/// The most leads stored by one transaction (well inside both engines' bind limits).
const MAX_BATCH: usize = 256;
/// Submissions waiting for a writer; senders wait when it is full.
const QUEUE_CAPACITY: usize = 4 * MAX_BATCH;
/// How often the replayer looks at the spool and, during an outage, at the database.
const REPLAY_INTERVAL: Duration = Duration::from_millis(500);
/// The longest a replayed batch may take before the database counts as still down.
const REPLAY_TIMEOUT: Duration = Duration::from_secs(5);

/// The outcome of an accepted submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcceptedLead {
    pub lead_id: i64,
    /// False when the submission repeated an earlier idempotency key.
    pub created: bool,
}

/// How a submission was accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// Committed to the database.
    Stored(AcceptedLead),
    /// The database could not take it in time: it is on disk in the spool and will be
    /// stored once; `receipt` names it.
    Spooled { receipt: String },
}

/// A submission could not be stored; the cause was logged by the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the lead could not be stored")]
pub struct IntakeFailed;

/// The handle through which requests submit leads; cheap to clone.
#[derive(Debug, Clone)]
pub struct IntakeQueue {
    sender: mpsc::Sender<Submission>,
    db: Db,
    spool: Arc<Spool>,
    /// How long a submission may wait for its commit before it goes to the spool.
    spool_after: Duration,
    /// Set while this process's spool holds submissions not stored yet.
    spooling: Arc<AtomicBool>,
    /// Cleared while the server waits to migrate a database that does not answer yet:
    /// submissions are spooled and the spool is not replayed.
    schema_ready: Arc<AtomicBool>,
    /// Wakes the replayer.
    replay: Arc<Notify>,
    /// Spooled submissions that a writer had taken, by receipt, until they are replayed.
    in_doubt: Arc<std::sync::Mutex<HashMap<String, Arc<Handoff>>>>,
}

/// A lead to store, as the writer gets it.
#[derive(Debug)]
struct PendingLead {
    lead: NewLead,
    submission_key: Option<String>,
    received_at: i64,
    /// A spooled submission that a writer may have stored too: stored only if no lead has
    /// its key or, without one, its email, phone and arrival time.
    in_doubt: bool,
}

#[derive(Debug)]
struct Submission {
    pending: PendingLead,
    reply: oneshot::Sender<Result<AcceptedLead, IntakeFailed>>,
    handoff: Arc<Handoff>,
}

/// Whose a submission handed to the writers is: still waiting (the request may withdraw
/// it and spool it instead), taken by a writer's batch, or that batch has ended.
#[derive(Debug, Default)]
struct Handoff(std::sync::atomic::AtomicU8);

impl Handoff {
    const WAITING: u8 = 0;
    const TAKEN: u8 = 1;
    const WITHDRAWN: u8 = 2;
    const ENDED: u8 = 3;

    /// A writer takes it into a batch; false when the request withdrew it.
    fn take(&self) -> bool {
        self.swap_from(Self::WAITING, Self::TAKEN)
    }

    /// The request takes it back for the spool; false when a writer took it already.
    fn withdraw(&self) -> bool {
        self.swap_from(Self::WAITING, Self::WITHDRAWN)
    }

    /// Its batch committed or failed.
    fn end(&self) {
        self.0.store(Self::ENDED, Ordering::Release);
    }

    fn has_ended(&self) -> bool {
        self.0.load(Ordering::Acquire) == Self::ENDED
    }

    fn swap_from(&self, from: u8, to: u8) -> bool {
        self.0.compare_exchange(from, to, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }
}

/// How the intake stores leads.
#[derive(Debug, Clone)]
pub struct IntakeSettings {
    /// From arrival to the email and SMS.
    pub notify_delay: Duration,
    /// How long a submission may wait for its commit before it goes to the spool.
    pub spool_after: Duration,
    /// Where the spool files live.
    pub spool_dir: std::path::PathBuf,
    /// Which messages of new leads go out.
    pub notify: NotifyRules,
    /// Which new leads send a `Lead` event to Meta (`Off` without the Conversions API).
    pub lead_events: LeadEvents,
}

impl IntakeQueue {
    /// Starts the writers under `supervisor` (one on SQLite, which writes one transaction
    /// at a time; two on PostgreSQL) and the spool's replayer. The writers finish the
    /// queued work and stop once every handle is dropped.
    pub fn start(db: Db, settings: IntakeSettings, waker: JobWaker, supervisor: &Supervisor) -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE_CAPACITY);
        let receiver = Arc::new(Mutex::new(receiver));
        let writers = match db.engine() {
            Engine::Sqlite => 1,
            Engine::Postgres => 2,
        };
        let settings = Arc::new(settings);
        for _ in 0..writers {
            let (db, receiver, settings, waker) = (db.clone(), receiver.clone(), settings.clone(), waker.clone());
            supervisor.spawn("intake writer", move || {
                write_batches(db.clone(), receiver.clone(), settings.clone(), waker.clone())
            });
        }
        let queue = Self {
            sender,
            db,
            spool: Spool::start(&settings.spool_dir),
            spool_after: settings.spool_after,
            spooling: Arc::default(),
            schema_ready: Arc::new(AtomicBool::new(true)),
            replay: Arc::default(),
            in_doubt: Arc::default(),
        };
        let replayer = Replayer { queue: queue.clone(), settings, waker, from: Arc::default() };
        supervisor.spawn("intake spool replayer", move || replayer.clone().run());
        queue
    }

    /// Stores `lead` (parsed from `body`, sent to the `kind` route) with its email and SMS
    /// jobs (due after the notification delay) and its CRM push (due now), and answers
    /// after the commit; a `submission_key` already used returns the earlier lead and
    /// stores nothing. When the database cannot take it within the spool delay, or while
    /// earlier submissions wait in the spool, it is spooled instead.
    ///
    /// Errors: the database cannot take it and the spool cannot be written either.
    pub async fn accept(
        &self,
        kind: LeadKind,
        body: &Value,
        lead: NewLead,
        submission_key: Option<String>,
        received_at: i64,
    ) -> Result<Accepted, IntakeFailed> {
        let direct = self.schema_ready.load(Ordering::Acquire) && !self.spooling.load(Ordering::Acquire);
        let handoff = Arc::new(Handoff::default());
        let mut in_doubt = false;
        if direct && !self.db.is_unreachable() {
            let stored = self.submit(lead, submission_key.clone(), received_at, handoff.clone());
            match tokio::time::timeout(self.spool_after, stored).await {
                Ok(Ok(accepted)) => return Ok(Accepted::Stored(accepted)),
                Ok(Err(IntakeFailed)) => {}
                Err(_) => tracing::warn!("the database did not take a submission in time; it goes to the spool"),
            }
            self.db.mark_unreachable();
            // A writer's batch that took it may still commit it (or did, and then failed).
            in_doubt = !handoff.withdraw();
        }
        let receipt = crate::auth::new_secret()[..24].to_owned();
        if in_doubt {
            self.in_doubt.lock().expect("the in-doubt map is never poisoned").insert(receipt.clone(), handoff);
        }
        let spooled = SpooledSubmission {
            kind: kind.as_str().to_owned(),
            body: body.clone(),
            submission_key,
            received_at,
            receipt: receipt.clone(),
            in_doubt,
        };
        // Set first: from now on submissions join the spool behind this one.
        self.spooling.store(true, Ordering::Release);
        if let Err(error) = self.spool.append(&spooled).await {
            tracing::error!(error = %error, "writing a submission to the spool failed; it is lost");
            return Err(IntakeFailed);
        }
        self.replay.notify_one();
        Ok(Accepted::Spooled { receipt })
    }

    /// Stores `lead` through the writers and waits for the commit.
    async fn submit(
        &self,
        lead: NewLead,
        submission_key: Option<String>,
        received_at: i64,
        handoff: Arc<Handoff>,
    ) -> Result<AcceptedLead, IntakeFailed> {
        let (reply, answer) = oneshot::channel();
        let pending = PendingLead { lead, submission_key, received_at, in_doubt: false };
        self.sender.send(Submission { pending, reply, handoff }).await.map_err(|_| IntakeFailed)?;
        answer.await.map_err(|_| IntakeFailed)?
    }

    /// Whether this process's spool holds submissions not stored yet.
    pub fn is_spooling(&self) -> bool {
        self.spooling.load(Ordering::Acquire)
    }

    /// Whether the database is migrated (see [`wait_for_schema`](Self::wait_for_schema)).
    pub fn is_schema_ready(&self) -> bool {
        self.schema_ready.load(Ordering::Acquire)
    }

    /// Spools every submission until [`schema_ready`](Self::schema_ready): the server
    /// started before its database answered, and has not migrated it yet.
    pub fn wait_for_schema(&self) {
        self.schema_ready.store(false, Ordering::Release);
    }

    /// The database is migrated: what waits in the spool is stored, and submissions go to
    /// the database again.
    pub fn schema_ready(&self) {
        self.schema_ready.store(true, Ordering::Release);
        self.replay.notify_one();
    }
}

/// Stores what the spool holds once the database takes writes again: the files of gone
/// processes first, then this process's own, in order; then lets submissions go to the
/// database directly again.
#[derive(Debug, Clone)]
struct Replayer {
    queue: IntakeQueue,
    settings: Arc<IntakeSettings>,
    waker: JobWaker,
    /// How far into this process's file everything is stored.
    from: Arc<std::sync::atomic::AtomicU64>,
}

impl Replayer {
    async fn run(self) {
        loop {
            tokio::select! {
                () = self.queue.replay.notified() => {}
                () = tokio::time::sleep(REPLAY_INTERVAL) => {}
            }
            if let Err(error) = self.replay_once().await {
                // The database being away was logged once, when it was noticed.
                if error.downcast_ref::<DatabaseAway>().is_none() {
                    tracing::warn!(error = format!("{error:#}"), "the spool could not be stored yet; trying again");
                }
                self.queue.db.mark_unreachable();
                tokio::time::sleep(REPLAY_INTERVAL).await;
            }
        }
    }

    /// One round: while the database is known to be away, only a look at whether it
    /// answers again; then orphaned files and this process's own file.
    async fn replay_once(&self) -> anyhow::Result<()> {
        if !self.queue.schema_ready.load(Ordering::Acquire) {
            return Ok(());
        }
        let db = &self.queue.db;
        if db.is_unreachable() && !db.answers_within(REPLAY_TIMEOUT).await {
            return Err(DatabaseAway.into());
        }
        for path in self.queue.spool.orphans() {
            let Some(orphan) = Orphan::take(&path)? else { continue };
            let submissions = orphan.read().await?;
            self.store(&submissions).await?;
            orphan.remove()?;
            tracing::info!(leads = submissions.len(), "a spool left by a stopped process is stored");
        }
        let from = self.from.load(Ordering::Acquire);
        let spool = &self.queue.spool;
        if !spool.has_own_after(from).await {
            self.queue.spooling.store(false, Ordering::Release);
            return Ok(());
        }
        let (submissions, end) = spool.read_own(from).await?;
        // A writer's batch that took one of these has not ended: it may still commit it.
        if submissions.iter().any(|spooled| !self.writer_done_with(spooled)) {
            return Err(DatabaseAway.into());
        }
        self.store(&submissions).await?;
        {
            let mut in_doubt = self.queue.in_doubt.lock().expect("the in-doubt map is never poisoned");
            for spooled in &submissions {
                in_doubt.remove(&spooled.receipt);
            }
        }
        tracing::info!(leads = submissions.len(), "spooled leads are stored");
        // The database takes writes again: new submissions go to it directly, and what was
        // appended meanwhile is stored by the next round.
        db.mark_reachable();
        self.queue.spooling.store(false, Ordering::Release);
        if spool.empty_if_ends_at(end).await? {
            self.from.store(0, Ordering::Release);
        } else {
            self.from.store(end, Ordering::Release);
            self.queue.replay.notify_one();
        }
        Ok(())
    }

    /// Whether no writer of this process may still store `spooled`.
    fn writer_done_with(&self, spooled: &SpooledSubmission) -> bool {
        let in_doubt = self.queue.in_doubt.lock().expect("the in-doubt map is never poisoned");
        in_doubt.get(&spooled.receipt).is_none_or(|handoff| handoff.has_ended())
    }

    /// Stores spooled submissions in order, a batch per transaction, each at most once. A
    /// batch the database refuses while it answers is stored one by one, and a submission
    /// it refuses alone is set aside in the spool folder (`rejected.jsonl`) for an operator,
    /// so that it cannot hold up the others.
    async fn store(&self, submissions: &[SpooledSubmission]) -> anyhow::Result<()> {
        let pending: Vec<(PendingLead, &SpooledSubmission)> =
            submissions.iter().filter_map(|spooled| pending_of(spooled).map(|pending| (pending, spooled))).collect();
        for batch in pending.chunks(MAX_BATCH) {
            let leads: Vec<&PendingLead> = batch.iter().map(|(pending, _)| pending).collect();
            match self.store_batch(&leads).await {
                Ok(()) => {}
                Err(Some(error)) => {
                    tracing::error!(error = %error, "a spooled batch was refused; storing it lead by lead");
                    for (pending, spooled) in batch {
                        match self.store_batch(&[pending]).await {
                            Ok(()) => {}
                            Err(Some(error)) => {
                                tracing::error!(error = %error, receipt = %spooled.receipt, "a spooled lead was refused; set aside");
                                self.queue.spool.set_aside(spooled).await?;
                            }
                            Err(None) => return Err(DatabaseAway.into()),
                        }
                    }
                }
                Err(None) => return Err(DatabaseAway.into()),
            }
            self.waker.wake();
        }
        Ok(())
    }

    /// Stores one batch; `Err(Some(error))` when the database refused it (a statement
    /// error, not an outage), `Err(None)` when it is unavailable or did not answer in time.
    async fn store_batch(&self, leads: &[&PendingLead]) -> Result<(), Option<sqlx::Error>> {
        match tokio::time::timeout(REPLAY_TIMEOUT, store_batch(&self.queue.db, leads, &self.settings)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) if !crate::db::is_unavailable(&error) => Err(Some(error)),
            Ok(Err(_)) | Err(_) => Err(None),
        }
    }
}

/// The database does not answer or take writes yet: the replay waits for it.
#[derive(Debug, thiserror::Error)]
#[error("the database does not take writes yet")]
struct DatabaseAway;

/// A spooled submission parsed again, as it was when it arrived.
fn pending_of(spooled: &SpooledSubmission) -> Option<PendingLead> {
    let kind = match spooled.kind.as_str() {
        "express" => LeadKind::Express,
        _ => LeadKind::Proftest,
    };
    match NewLead::parse(kind, &spooled.body) {
        Ok(lead) => Some(PendingLead {
            lead,
            submission_key: spooled.submission_key.clone(),
            received_at: spooled.received_at,
            in_doubt: spooled.in_doubt,
        }),
        Err(error) => {
            tracing::error!(error = %error, receipt = %spooled.receipt, "a spooled submission no longer parses; skipped");
            None
        }
    }
}

/// Takes whatever has queued up (at least one submission, at most [`MAX_BATCH`]),
/// stores it, answers, and repeats until the queue closes.
async fn write_batches(
    db: Db,
    receiver: Arc<Mutex<mpsc::Receiver<Submission>>>,
    settings: Arc<IntakeSettings>,
    waker: JobWaker,
) {
    loop {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        if receiver.lock().await.recv_many(&mut batch, MAX_BATCH).await == 0 {
            return;
        }
        // Submissions their request withdrew (they went to the spool) are not stored here.
        let (pending, replies): (Vec<PendingLead>, Vec<_>) = batch
            .into_iter()
            .filter(|submission| submission.handoff.take())
            .map(|submission| (submission.pending, (submission.reply, submission.handoff)))
            .unzip();
        if pending.is_empty() {
            continue;
        }
        let leads: Vec<&PendingLead> = pending.iter().collect();
        let stored = store_batch(&db, &leads, &settings).await;
        let replies: Vec<_> = replies
            .into_iter()
            .map(|(reply, handoff)| {
                handoff.end();
                reply
            })
            .collect();
        match stored {
            Ok(accepted) => {
                crate::metrics::intake_batch(accepted.len());
                waker.wake();
                for (reply, accepted) in replies.into_iter().zip(accepted) {
                    // A caller that went away no longer needs the answer; its lead is stored.
                    let _ = reply.send(Ok(accepted));
                }
            }
            Err(error) => {
                tracing::error!(
                    error = format!("{error:#}"),
                    batch.size = replies.len(),
                    "storing a batch of leads failed"
                );
                for reply in replies {
                    let _ = reply.send(Err(IntakeFailed));
                }
            }
        }
    }
}

/// Stores a batch in one transaction; the answers are in submission order.
async fn store_batch(
    db: &Db,
    submitted: &[&PendingLead],
    settings: &IntakeSettings,
) -> Result<Vec<AcceptedLead>, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    // An in-doubt submission without a key that its writer's batch stored after all.
    let mut stored_before = Vec::with_capacity(submitted.len());
    for pending in submitted {
        let found = match (pending.in_doubt, &pending.submission_key) {
            (true, None) => {
                let (email, phone) = (pending.lead.email.as_str(), pending.lead.phone.as_str());
                find_lead_by_arrival(&mut tx, email, phone, pending.received_at).await?
            }
            _ => None,
        };
        stored_before.push(found);
    }
    let batch: Vec<&PendingLead> = submitted
        .iter()
        .zip(&stored_before)
        .filter(|(_, found)| found.is_none())
        .map(|(pending, _)| *pending)
        .collect();
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
                slug: submission.lead.campaign_slug.as_deref(),
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
    let new_rows: Vec<&LeadToInsert<'_>> = rows.iter().filter(|row| inserted.contains(&row.lead_id)).collect();

    let now = batch.iter().map(|submission| submission.received_at).max().unwrap_or_default();
    let new_leads: Vec<(i64, &NewLead)> = new_rows.iter().map(|row| (row.lead_id, row.lead)).collect();
    let outgoing = settle(&mut tx, &settings.notify, &new_leads, now).await?;
    let delay_ms = i64::try_from(settings.notify_delay.as_millis()).unwrap_or(i64::MAX / 2);
    let mut jobs = Vec::with_capacity(3 * new_rows.len());
    let mut deltas: BTreeMap<StatKey, LeadStats> = BTreeMap::new();
    let mut sources = BTreeSet::new();
    let mut campaigns = BTreeSet::new();
    let mut meta_events = Vec::new();
    let mut clients = Vec::new();
    for (row, (email, sms)) in new_rows.iter().zip(outgoing) {
        let (lead_id, notify_at) = (row.lead_id, row.created_at + delay_ms);
        deltas.entry(StatKey::of(lead_id, row.day, &row.lead.source)).or_default().total += 1;
        for (channel, outgoing) in [(Channel::Email, email), (Channel::Sms, sms)] {
            match outgoing {
                Outgoing::Send => jobs.push(message_job(channel, lead_id, notify_at)),
                Outgoing::Skip { reason, duplicate_of } => {
                    record_skipped(&mut tx, lead_id, channel, &reason, duplicate_of, now, &mut deltas).await?;
                }
            }
        }
        jobs.push(PushLeadToCrm { lead_id }.queued(Some(lead_id), format!("lead-{lead_id}-crm"), row.created_at));
        if settings.lead_events.includes(row.lead.kind.as_str()) {
            let (job, event) = SendConversion::for_lead(lead_id, row.created_at);
            jobs.push(job);
            meta_events.push(event);
        }
        let tracking = &row.lead.tracking;
        clients.push(LeadClient {
            lead_id,
            client_ip: tracking.client_ip.as_deref(),
            client_user_agent: tracking.client_user_agent.as_deref(),
            page_url: tracking.page_url.as_deref(),
        });
        sources.insert(row.lead.source.as_str());
        if let Some(campaign) = &row.lead.tracking.utm_campaign {
            campaigns.insert(campaign.as_str());
        }
    }
    enqueue_jobs(&mut tx, &jobs, now).await?;
    let mut changes = LiveChanges::default();
    for row in &new_rows {
        changes.push(Change::Lead { lead_id: row.lead_id, team_id: row.attribution.team_id });
    }
    insert_meta_events(&mut tx, &meta_events, now).await?;
    insert_lead_clients(&mut tx, &clients).await?;
    bump_lead_stats(&mut tx, &deltas).await?;
    remember_sources(&mut tx, &sources, now).await?;
    remember_campaigns(&mut tx, &campaigns, now).await?;

    let mut accepted = Vec::with_capacity(submitted.len());
    let mut rows = rows.iter();
    for found in stored_before {
        if let Some(lead_id) = found {
            accepted.push(AcceptedLead { lead_id, created: false });
            continue;
        }
        let row = rows.next().expect("a row for every submission not stored before");
        if inserted.contains(&row.lead_id) {
            accepted.push(AcceptedLead { lead_id: row.lead_id, created: true });
        } else {
            let key = row.submission_key.unwrap_or_default();
            let lead_id = find_lead_by_submission_key(&mut tx, key).await?.ok_or(sqlx::Error::RowNotFound)?;
            accepted.push(AcceptedLead { lead_id, created: false });
        }
    }
    tx.commit().await?;
    changes.publish(db.live());
    Ok(accepted)
}

/// The job sending a new lead's message on `channel`, due at `run_at`.
fn message_job(channel: Channel, lead_id: i64, run_at: i64) -> NewJob {
    match channel {
        Channel::Email => {
            SendLeadEmail { lead_id, resend: false }.queued(Some(lead_id), format!("lead-{lead_id}-email"), run_at)
        }
        Channel::Sms => {
            SendLeadSms { lead_id, resend: false }.queued(Some(lead_id), format!("lead-{lead_id}-sms"), run_at)
        }
    }
}
