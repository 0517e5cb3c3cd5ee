//! The intake spool: submissions the database could not take in time, kept in a local
//! append-only file — one per process, fsynced before the landing page hears `202` — and
//! stored in order, exactly once, when the database is back.
//!
//! Each line is one submission as JSON after a checksum of it, so a line torn by a crash
//! (never fsynced, so never answered) is recognised and skipped. A process holds an
//! exclusive lock on its own file while it lives; a file nobody holds belongs to a process
//! that is gone, and any process replays and removes it.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::{oneshot, Mutex, Notify};

/// A submission as the spool keeps it: what the landing page sent, when, and the key that
/// makes storing it idempotent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpooledSubmission {
    /// `proftest` or `express`: which route took it.
    pub kind: String,
    /// The JSON body as sent; parsed again (it was valid) when it is stored.
    pub body: Value,
    /// The caller's `Idempotency-Key`, if it sent one.
    pub submission_key: Option<String>,
    /// When it arrived, UTC milliseconds: the lead keeps this time.
    pub received_at: i64,
    /// What the landing page was given for it.
    pub receipt: String,
    /// A writer had taken it when it was spooled: that writer's batch may have stored it.
    #[serde(default)]
    pub in_doubt: bool,
}

/// This process's spool file and where the spool folder is.
///
/// Appends are committed in groups: a request puts its line in the queue and waits; one
/// writer task writes everything queued and syncs it to disk once, then answers all of
/// them. A slow disk (a sync that takes a few hundred milliseconds) then delays each
/// submission by about one sync, however many arrive meanwhile.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    own: Mutex<OwnFile>,
    queue: std::sync::Mutex<Queue>,
    /// Wakes the writer task.
    queued: Arc<Notify>,
}

#[derive(Debug)]
struct OwnFile {
    path: PathBuf,
    /// Open (and locked) from the first append on.
    file: Option<File>,
    /// Bytes written.
    length: u64,
}

/// Lines waiting for the next write, and who waits for it.
#[derive(Debug, Default)]
struct Queue {
    bytes: Vec<u8>,
    waiters: Vec<oneshot::Sender<Result<(), String>>>,
}

impl Spool {
    /// A spool in `dir` with its writer task; this process's file is created at its first
    /// submission.
    pub fn start(dir: &Path) -> Arc<Self> {
        let name = format!("intake-{}-{:08x}.spool", std::process::id(), rand::random::<u32>());
        let spool = Arc::new(Self {
            dir: dir.to_owned(),
            own: Mutex::new(OwnFile { path: dir.join(name), file: None, length: 0 }),
            queue: std::sync::Mutex::default(),
            queued: Arc::default(),
        });
        tokio::spawn(Self::write_queued(Arc::downgrade(&spool), spool.queued.clone()));
        spool
    }

    /// Appends `submission` to this process's file and waits until it is on disk.
    pub async fn append(&self, submission: &SpooledSubmission) -> std::io::Result<()> {
        let (done, written) = oneshot::channel();
        {
            let mut queue = self.queue.lock().expect("the spool queue lock is never poisoned");
            queue.bytes.extend_from_slice(encode(submission).as_bytes());
            queue.waiters.push(done);
        }
        self.queued.notify_one();
        written.await.map_err(std::io::Error::other)?.map_err(std::io::Error::other)
    }

    /// The writer task: whatever is queued goes to disk in one write and one sync, until
    /// the spool is dropped.
    async fn write_queued(spool: std::sync::Weak<Self>, queued: Arc<Notify>) {
        loop {
            let Some(this) = spool.upgrade() else { return };
            let (bytes, waiters) = {
                let mut queue = this.queue.lock().expect("the spool queue lock is never poisoned");
                (std::mem::take(&mut queue.bytes), std::mem::take(&mut queue.waiters))
            };
            if waiters.is_empty() {
                // Not holding the spool while idle: it ends when the intake is dropped.
                drop(this);
                queued.notified().await;
                continue;
            }
            let written = this.write(bytes).await.map_err(|error| error.to_string());
            for waiter in waiters {
                let _ = waiter.send(written.clone());
            }
        }
    }

    /// Writes `bytes` at the end of this process's file and syncs it.
    async fn write(&self, bytes: Vec<u8>) -> std::io::Result<()> {
        let mut own = self.own.lock().await;
        let (dir, path, file) = (self.dir.clone(), own.path.clone(), own.file.take());
        let length = bytes.len() as u64;
        let (file, result) = tokio::task::spawn_blocking(move || {
            let mut file = match file {
                Some(file) => file,
                None => match open_own(&dir, &path) {
                    Ok(file) => file,
                    Err(error) => return (None, Err(error)),
                },
            };
            let written = file.write_all(&bytes).and_then(|()| file.sync_data());
            (Some(file), written)
        })
        .await
        .map_err(std::io::Error::other)?;
        own.file = file;
        result?;
        own.length += length;
        Ok(())
    }

    /// The submissions of this process's file from byte `from` on, and where they end.
    pub async fn read_own(&self, from: u64) -> std::io::Result<(Vec<SpooledSubmission>, u64)> {
        let own = self.own.lock().await;
        if own.file.is_none() || own.length <= from {
            return Ok((Vec::new(), from));
        }
        let (path, end) = (own.path.clone(), own.length);
        drop(own);
        let bytes = tokio::task::spawn_blocking(move || std::fs::read(path)).await.map_err(std::io::Error::other)??;
        let upto = usize::try_from(end).unwrap_or(usize::MAX).min(bytes.len());
        let from = usize::try_from(from).unwrap_or(usize::MAX).min(upto);
        Ok((decode(&bytes[from..upto]), end))
    }

    /// Empties this process's file if nothing was appended past `end`; true when it did
    /// (everything spooled is stored).
    pub async fn empty_if_ends_at(&self, end: u64) -> std::io::Result<bool> {
        let mut own = self.own.lock().await;
        if own.length != end {
            return Ok(false);
        }
        if let Some(file) = own.file.as_ref().map(File::try_clone).transpose()? {
            tokio::task::spawn_blocking(move || file.set_len(0).and_then(|()| file.sync_data()))
                .await
                .map_err(std::io::Error::other)??;
        }
        own.length = 0;
        Ok(true)
    }

    /// Whether this process's file holds submissions not stored yet (from byte `from`).
    pub async fn has_own_after(&self, from: u64) -> bool {
        self.own.lock().await.length > from
    }

    /// Keeps a submission the database refused on its own (while it took others) in
    /// `rejected.jsonl`, for an operator to look at.
    pub async fn set_aside(&self, submission: &SpooledSubmission) -> std::io::Result<()> {
        let (path, line) = (self.dir.join("rejected.jsonl"), format!("{}\n", serde_json::to_string(submission)?));
        tokio::task::spawn_blocking(move || {
            let mut file = OpenOptions::new().create(true).append(true).open(path)?;
            file.write_all(line.as_bytes())?;
            file.sync_data()
        })
        .await
        .map_err(std::io::Error::other)?
    }

    /// The spool files of processes that are gone: nobody holds their lock.
    pub fn orphans(&self) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return Vec::new() };
        let own = self.own.try_lock().map(|own| own.path.clone()).ok();
        let mut found: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|extension| extension == "spool"))
            .filter(|path| own.as_ref() != Some(path))
            .collect();
        found.sort();
        found
    }
}

/// An orphaned spool file taken over: locked by this process until it is dropped.
#[derive(Debug)]
pub struct Orphan {
    path: PathBuf,
    _lock: File,
}

impl Orphan {
    /// Takes `path` over when no live process holds it; `None` when one does.
    pub fn take(path: &Path) -> std::io::Result<Option<Self>> {
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(Self { path: path.to_owned(), _lock: file })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(error)) => Err(error),
        }
    }

    /// Its submissions, torn lines left out.
    pub async fn read(&self) -> std::io::Result<Vec<SpooledSubmission>> {
        let path = self.path.clone();
        let bytes = tokio::task::spawn_blocking(move || std::fs::read(path)).await.map_err(std::io::Error::other)??;
        Ok(decode(&bytes))
    }

    /// Removes the file: everything in it is stored.
    pub fn remove(self) -> std::io::Result<()> {
        std::fs::remove_file(&self.path)
    }
}

/// Creates the folder and this process's file, locked for as long as it is open.
fn open_own(dir: &Path, path: &Path) -> std::io::Result<File> {
    std::fs::create_dir_all(dir)?;
    let file = OpenOptions::new().create(true).append(true).open(path)?;
    file.lock()?;
    // The new file's name must survive a crash too.
    File::open(dir)?.sync_all()?;
    Ok(file)
}

/// `<checksum> <json>\n`.
fn encode(submission: &SpooledSubmission) -> String {
    let json = serde_json::to_string(submission).expect("a spooled submission serialises");
    format!("{} {json}\n", checksum(&json))
}

/// The submissions of complete, intact lines, in order.
fn decode(bytes: &[u8]) -> Vec<SpooledSubmission> {
    let text = String::from_utf8_lossy(bytes);
    text.split_inclusive('\n')
        .filter(|line| line.ends_with('\n'))
        .filter_map(|line| {
            let (sum, json) = line.trim_end_matches('\n').split_once(' ')?;
            (checksum(json) == sum).then(|| serde_json::from_str(json).ok()).flatten()
        })
        .collect()
}

fn checksum(json: &str) -> String {
    hex::encode(&Sha256::digest(json.as_bytes())[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn submission(n: i64) -> SpooledSubmission {
        SpooledSubmission {
            kind: "proftest".into(),
            body: serde_json::json!({"name": format!("Лид {n}"), "email": "lead@example.com", "phone": "+77051234567"}),
            submission_key: (n % 2 == 0).then(|| format!("key-{n}")),
            received_at: 1_764_000_000_000 + n,
            receipt: format!("receipt-{n}"),
            in_doubt: n == 1,
        }
    }

    #[test]
    fn torn_and_corrupted_lines_are_skipped_and_the_rest_kept_in_order() {
        let mut bytes = format!("{}{}", encode(&submission(1)), encode(&submission(2))).into_bytes();
        let third = encode(&submission(3));
        let corrupted = third.replacen("Лид 3", "Лид 4", 1);
        bytes.extend_from_slice(corrupted.as_bytes());
        bytes.extend_from_slice(&encode(&submission(5)).as_bytes()[..20]);
        let read = decode(&bytes);
        assert_eq!(read, vec![submission(1), submission(2)]);
    }

    #[tokio::test]
    async fn appended_submissions_are_read_back_emptied_and_an_unlocked_file_is_an_orphan() {
        let dir = std::env::temp_dir().join(format!("spool-test-{:08x}", rand::random::<u32>()));
        let spool = Spool::start(&dir);
        spool.append(&submission(1)).await.unwrap();
        spool.append(&submission(2)).await.unwrap();
        let (read, end) = spool.read_own(0).await.unwrap();
        assert_eq!(read, vec![submission(1), submission(2)]);
        assert!(spool.orphans().is_empty(), "a live process's own file is not an orphan");

        spool.append(&submission(3)).await.unwrap();
        assert!(!spool.empty_if_ends_at(end).await.unwrap(), "something came after");
        let (rest, end) = spool.read_own(end).await.unwrap();
        assert_eq!(rest, vec![submission(3)]);
        assert!(spool.empty_if_ends_at(end).await.unwrap());
        assert!(!spool.has_own_after(0).await);

        // A process that died left its file behind, unlocked.
        let dead = dir.join("intake-1-dead.spool");
        std::fs::write(&dead, encode(&submission(9))).unwrap();
        assert_eq!(spool.orphans(), vec![dead.clone()]);
        let orphan = Orphan::take(&dead).unwrap().expect("nobody holds it");
        assert!(Orphan::take(&dead).unwrap().is_none(), "now this process holds it");
        assert_eq!(orphan.read().await.unwrap(), vec![submission(9)]);
        orphan.remove().unwrap();
        assert!(spool.orphans().is_empty());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
