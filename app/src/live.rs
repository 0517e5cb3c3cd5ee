//! Live changes for the open dashboards: a new lead, a changed delivery or CRM status, a
//! new sale — ids only, published once the change is committed.
//!
//! Each process publishes its own commits to its subscribers at once. On PostgreSQL the
//! same changes are also sent to the other processes: a background task sends them in a
//! `NOTIFY` of its own, at most one per [`GATHER`] (a burst's changes share one), and every
//! process `LISTEN`s and passes on the changes of the others; a process knows its own by
//! the origin id in the payload. SQLite runs one process, so nothing crosses processes there.
//!
//! The `NOTIFY` stays out of the writing transactions on purpose: PostgreSQL serialises
//! every committing transaction that notifies, across the whole server (measured with
//! pgbench: 16 clients inserting one row each, 6,280 commits/s plain, 1,611/s with a
//! `pg_notify` in each). A process that dies between a commit and its notice costs the other
//! processes' pages one live reload; their fallback timer catches up.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::AnyPool;
use tokio::sync::{broadcast, Notify};
use tokio_util::sync::CancellationToken;

/// The `LISTEN`/`NOTIFY` channel.
const CHANNEL: &str = "leadtrack_live";
/// Changes per `NOTIFY` (its payload must stay under 8 000 bytes).
const CHANGES_PER_NOTIFY: usize = 200;
/// Changes a slow subscriber may fall behind by before it is told to reload instead.
const BACKLOG: usize = 1_024;
/// The least time between two `NOTIFY`s of a process: what commits meanwhile is gathered
/// into the next one.
const GATHER: Duration = Duration::from_millis(20);

/// One committed change, as the dashboards hear of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Change {
    /// A lead was stored, attributed to `team_id`.
    Lead { lead_id: i64, team_id: Option<i64> },
    /// A lead's email, SMS or CRM status changed.
    Status { lead_id: i64 },
    /// A sale was recorded for `team_id`.
    Sale { sale_id: i64, team_id: Option<i64> },
}

/// What one `NOTIFY` carries: the sending process and its changes.
#[derive(Serialize, Deserialize)]
struct Notice {
    origin: u64,
    changes: Vec<Change>,
}

/// The process's feed of committed changes; cheap to clone.
#[derive(Debug, Clone)]
pub struct LiveFeed(Arc<Feed>);

#[derive(Debug)]
struct Feed {
    sender: broadcast::Sender<Change>,
    origin: u64,
    /// Whether other processes share the database (PostgreSQL): changes cross with
    /// `NOTIFY`/`LISTEN`.
    shared: bool,
    /// Cancelled when the server stops: open streams end so that shutdown need not wait.
    closed: CancellationToken,
    /// The database URL, for the `LISTEN` connection.
    url: String,
    /// Committed changes not yet told to the other processes (PostgreSQL only).
    outbox: std::sync::Mutex<Vec<Change>>,
    /// Woken when the outbox gets changes.
    outbox_filled: Notify,
}

impl LiveFeed {
    /// A feed for a process on the database at `url`; `shared` when other processes may
    /// use it too (PostgreSQL).
    pub fn new(shared: bool, url: &str) -> Self {
        let (sender, _) = broadcast::channel(BACKLOG);
        Self(Arc::new(Feed {
            sender,
            origin: rand::random(),
            shared,
            closed: CancellationToken::new(),
            url: url.to_owned(),
            outbox: std::sync::Mutex::default(),
            outbox_filled: Notify::new(),
        }))
    }

    /// Changes from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.0.sender.subscribe()
    }

    /// Cancelled when the server stops.
    pub fn closed(&self) -> CancellationToken {
        self.0.closed.clone()
    }

    /// Ends every open stream: the server is stopping.
    pub fn close(&self) {
        self.0.closed.cancel();
    }

    /// Tells this process's subscribers.
    fn publish(&self, changes: &[Change]) {
        for change in changes {
            // No subscriber is not an error: nobody is looking.
            let _ = self.0.sender.send(*change);
        }
    }

    /// Tells this process's subscribers, and queues the changes for the other processes.
    fn publish_committed(&self, changes: &[Change]) {
        self.publish(changes);
        if self.0.shared && !changes.is_empty() {
            self.0.outbox.lock().expect("the outbox lock is never poisoned").extend_from_slice(changes);
            self.0.outbox_filled.notify_one();
        }
    }

    /// Sends this process's committed changes to the other processes on PostgreSQL, a
    /// `NOTIFY` per [`GATHER`] at most, for as long as the process runs (a stopping server
    /// still commits what is in flight). Does nothing on SQLite.
    pub async fn tell_others(self, pool: AnyPool) {
        if !self.0.shared {
            return;
        }
        loop {
            self.0.outbox_filled.notified().await;
            let changes = std::mem::take(&mut *self.0.outbox.lock().expect("the outbox lock is never poisoned"));
            if let Err(error) = self.notify(&pool, &changes).await {
                // The other processes' pages catch up on their fallback timer.
                tracing::warn!(error = %error, changes = changes.len(), "telling the other processes of changes failed");
            }
            // A change after a quiet spell goes at once; what commits meanwhile waits for
            // the next notice.
            tokio::time::sleep(GATHER).await;
        }
    }

    async fn notify(&self, pool: &AnyPool, changes: &[Change]) -> Result<(), sqlx::Error> {
        for chunk in changes.chunks(CHANGES_PER_NOTIFY) {
            let notice = Notice { origin: self.0.origin, changes: chunk.to_vec() };
            let payload = serde_json::to_string(&notice).expect("changes serialise");
            // Counted rather than returned: the `Any` driver cannot read pg_notify's `void`.
            let _: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM (SELECT pg_notify($1, $2)) AS notified")
                .bind(CHANNEL)
                .bind(payload)
                .fetch_one(pool)
                .await?;
        }
        Ok(())
    }

    /// Passes on other processes' changes from PostgreSQL until the feed is closed,
    /// reconnecting after a lost connection. Does nothing on SQLite.
    pub async fn listen(self) {
        if !self.0.shared {
            return;
        }
        let mut wait = Duration::from_millis(500);
        loop {
            let listened = tokio::select! {
                () = self.0.closed.cancelled() => return,
                listened = self.listen_once() => listened,
            };
            if let Err(error) = listened {
                tracing::warn!(error = %error, "listening for other processes' changes failed; listening again");
            }
            tokio::select! {
                () = self.0.closed.cancelled() => return,
                () = tokio::time::sleep(wait) => {}
            }
            wait = (wait * 2).min(Duration::from_secs(30));
        }
    }

    async fn listen_once(&self) -> Result<(), sqlx::Error> {
        let mut listener = sqlx::postgres::PgListener::connect(&self.0.url).await?;
        listener.listen(CHANNEL).await?;
        loop {
            let notification = listener.recv().await?;
            match serde_json::from_str::<Notice>(notification.payload()) {
                Ok(notice) if notice.origin != self.0.origin => self.publish(&notice.changes),
                Ok(_) => {}
                Err(error) => tracing::warn!(error = %error, "an unreadable change notice was ignored"),
            }
        }
    }
}

/// Changes gathered while a transaction writes them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveChanges(Vec<Change>);

impl LiveChanges {
    /// Adds a change.
    pub fn push(&mut self, change: Change) {
        self.0.push(change);
    }

    /// After the commit: tells this process's subscribers and, on PostgreSQL, the other
    /// processes.
    pub fn publish(self, feed: &LiveFeed) {
        feed.publish_committed(&self.0);
    }
}
