//! The database: one pool for either engine, chosen at run time by `DATABASE_URL`.
//!
//! Queries go through sqlx's `Any` driver with portable SQL (`$n` placeholders,
//! `RETURNING`, `ON CONFLICT`), integers for timestamps and money, and text for JSON,
//! so one function serves SQLite and PostgreSQL. Where the engines must differ (DDL,
//! locking), the code branches on [`Engine`]. See `docs/adr/0001-two-database-engines.md`.

pub mod ad_report;
pub mod alert;
pub mod credential;
pub mod crm;
pub mod crm_event;
pub mod crm_token;
pub mod delivery;
pub mod delivery_event;
pub mod funnel;
pub mod integration;
pub mod job;
pub mod lead;
pub mod meta_event;
pub mod notify_claim;
pub mod report;
pub mod sale;
pub mod spend;
pub mod team;
pub mod user;

use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sqlx::any::{install_default_drivers, AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::ConnectOptions;
use sqlx::{AnyPool, Executor};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::config::DatabaseConfig;
use crate::live::LiveFeed;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/postgres");

/// Which database engine a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// An embedded file; one server process.
    Sqlite,
    /// A PostgreSQL server; any number of server processes.
    Postgres,
}

impl Engine {
    /// The engine a connection URL names.
    pub fn of_url(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Self::Postgres)
        } else {
            anyhow::bail!("DATABASE_URL must start with sqlite: or postgres:")
        }
    }
}

/// A connection pool and the engine behind it.
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    engine: Engine,
    /// SQLite runs one write transaction at a time; writers queue here, in order, instead
    /// of retrying inside SQLite's busy handler (which sleeps and ruins latency). Only
    /// [`WriteTx`] and [`WriteConnection`] take it.
    write_gate: Option<Arc<Mutex<()>>>,
    /// Set when the database was seen not to answer (see [`mark_unreachable`](Self::mark_unreachable)).
    unreachable: Arc<AtomicBool>,
    /// Committed changes, for the live dashboards.
    live: LiveFeed,
}

impl Db {
    /// Opens a pool; for SQLite, creates the file's folder and sets WAL mode. Fails when the
    /// database does not answer.
    pub async fn connect(config: &DatabaseConfig) -> anyhow::Result<Self> {
        let db = Self::connect_lazy(config)?;
        db.ping().await.context("connecting to the database")?;
        Ok(db)
    }

    /// A pool that connects on first use, for a server that must start (and take leads into
    /// its spool) while the database is down.
    pub fn connect_lazy(config: &DatabaseConfig) -> anyhow::Result<Self> {
        install_default_drivers();
        let engine = Engine::of_url(&config.url)?;
        if engine == Engine::Sqlite {
            create_sqlite_folder(&config.url)?;
        }
        let max_connections = config.max_connections.unwrap_or(match engine {
            Engine::Sqlite => 8,
            Engine::Postgres => 16,
        });
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(config.acquire_timeout)
            .after_connect(move |connection, _| {
                Box::pin(async move {
                    if engine == Engine::Sqlite {
                        // WAL lets readers work beside the writer; NORMAL sync keeps every
                        // commit across a process crash (an OS crash may lose the last ones).
                        connection
                            .execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                            )
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect_lazy_with(connect_options(&config.url)?);
        let write_gate = (engine == Engine::Sqlite).then(|| Arc::new(Mutex::new(())));
        let live = LiveFeed::new(engine == Engine::Postgres, &config.url);
        Ok(Self { pool, engine, write_gate, unreachable: Arc::default(), live })
    }

    /// Notes that the database did not answer in time: pages say so at once instead of
    /// waiting, and the intake spools, until something sees it answer again.
    pub fn mark_unreachable(&self) {
        if !self.unreachable.swap(true, Ordering::AcqRel) {
            tracing::error!("the database does not answer; leads go to the spool until it is back");
        }
    }

    /// Notes that the database answers again.
    pub fn mark_reachable(&self) {
        if self.unreachable.swap(false, Ordering::AcqRel) {
            tracing::info!("the database answers again");
        }
    }

    /// Whether `error` says the database is away (see [`is_unavailable`]); notes it if so,
    /// so that callers log only the errors that are not an outage (logged once here).
    pub fn is_outage(&self, error: &sqlx::Error) -> bool {
        let outage = is_unavailable(error);
        if outage {
            self.mark_unreachable();
        }
        outage
    }

    /// Whether the database was last seen not to answer.
    pub fn is_unreachable(&self) -> bool {
        self.unreachable.load(Ordering::Acquire)
    }

    /// Whether the database answers within `limit`; notes what it found.
    pub async fn answers_within(&self, limit: Duration) -> bool {
        let answered = matches!(tokio::time::timeout(limit, self.ping()).await, Ok(Ok(())));
        if answered {
            self.mark_reachable();
        } else {
            self.mark_unreachable();
        }
        answered
    }

    /// Begins a write transaction. On SQLite it first waits for the right to write and holds
    /// it until the transaction commits or is dropped; on PostgreSQL writes run concurrently.
    pub async fn begin_write(&self) -> Result<WriteTx, sqlx::Error> {
        let permit = self.write_permit().await;
        let tx = self.pool.begin().await?;
        Ok(WriteTx { tx, _permit: permit })
    }

    /// A connection for single write statements outside a transaction, holding the SQLite
    /// write permit while it lives (see [`begin_write`](Self::begin_write)).
    pub async fn write_connection(&self) -> Result<WriteConnection, sqlx::Error> {
        let permit = self.write_permit().await;
        let conn = self.pool.acquire().await?;
        Ok(WriteConnection { conn, _permit: permit })
    }

    async fn write_permit(&self) -> Option<OwnedMutexGuard<()>> {
        match &self.write_gate {
            Some(gate) => Some(gate.clone().lock_owned().await),
            None => None,
        }
    }

    /// The pool, for queries.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The engine behind the pool.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The feed of committed changes for the live dashboards.
    pub fn live(&self) -> &LiveFeed {
        &self.live
    }

    /// Applies the migrations of this engine that have not run yet.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        let migrator = match self.engine {
            Engine::Sqlite => &SQLITE_MIGRATIONS,
            Engine::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.pool).await.context("applying migrations")
    }

    /// Writes a consistent copy of an SQLite database to `path` (a new file) while others
    /// go on reading and writing it (`VACUUM INTO`: one read transaction, a snapshot).
    pub async fn copy_sqlite_into(&self, path: &Path) -> anyhow::Result<()> {
        anyhow::ensure!(self.engine == Engine::Sqlite, "only an SQLite database is copied this way");
        let path = path.to_str().context("the backup path is not valid UTF-8")?;
        sqlx::query("VACUUM INTO $1").bind(path).execute(&self.pool).await.context("copying the database")?;
        Ok(())
    }

    /// How many leads the database holds (0 when it has no schema yet).
    pub async fn lead_count(&self) -> Result<i64, sqlx::Error> {
        match sqlx::query_scalar("SELECT COUNT(*) FROM lead").fetch_one(&self.pool).await {
            Ok(count) => Ok(count),
            // No such table: an empty database.
            Err(sqlx::Error::Database(error)) if matches!(error.code().as_deref(), Some("42P01") | Some("1")) => Ok(0),
            Err(error) => Err(error),
        }
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map(drop)
    }

    /// Closes every connection, waiting for the ones in use.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Whether `error` says the database is unavailable or too busy (no connection, a lost
/// connection, a lock or a restart) rather than refusing the statement itself.
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(error) => {
            let code = error.code().unwrap_or_default();
            // PostgreSQL: connection (08), resources (53), shutdown (57), serialisation and
            // deadlock (40), lock not available; SQLite: busy and locked (with extended codes).
            ["08", "53", "57", "40"].iter().any(|class| code.starts_with(class))
                || code == "55P03"
                || matches!(code.parse::<i32>().map(|code| code & 0xff), Ok(5 | 6))
        }
        _ => false,
    }
}

/// A write transaction that holds the SQLite write permit for its whole life; dropped
/// without [`commit`](Self::commit) it rolls back. Derefs to the connection for queries.
#[derive(Debug)]
pub struct WriteTx {
    // Declared first: the transaction ends before the permit is released.
    tx: sqlx::Transaction<'static, sqlx::Any>,
    _permit: Option<OwnedMutexGuard<()>>,
}

impl WriteTx {
    /// Commits the transaction, then releases the permit.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}

impl std::ops::Deref for WriteTx {
    type Target = sqlx::AnyConnection;

    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

/// A pooled connection that holds the SQLite write permit while it lives.
#[derive(Debug)]
pub struct WriteConnection {
    conn: sqlx::pool::PoolConnection<sqlx::Any>,
    _permit: Option<OwnedMutexGuard<()>>,
}

impl std::ops::Deref for WriteConnection {
    type Target = sqlx::AnyConnection;

    fn deref(&self) -> &Self::Target {
        &self.conn
    }
}

impl std::ops::DerefMut for WriteConnection {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.conn
    }
}

/// Options from the URL, with sqlx's slow-statement warnings off: they print whole
/// statements (a batch insert is thousands of placeholders) at any log level.
fn connect_options(url: &str) -> anyhow::Result<AnyConnectOptions> {
    let options = AnyConnectOptions::from_str(url).context("reading DATABASE_URL")?;
    Ok(options.log_slow_statements(log::LevelFilter::Off, std::time::Duration::from_secs(1)))
}

/// The file an SQLite URL names; `None` for an in-memory database.
pub fn sqlite_path(url: &str) -> Option<&Path> {
    let path = url.trim_start_matches("sqlite:").trim_start_matches("//").split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| Path::new(path))
}

fn create_sqlite_folder(url: &str) -> anyhow::Result<()> {
    let Some(path) = sqlite_path(url) else { return Ok(()) };
    if let Some(folder) = path.parent().filter(|folder| !folder.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder)
            .with_context(|| format!("creating the database folder {}", folder.display()))?;
    }
    Ok(())
}

/// A value bound to a dynamically built query.
#[derive(Debug, Clone)]
pub(crate) enum Bind {
    Int(i64),
    Text(String),
}

/// A `WHERE` clause built from optional filters, with `$n` placeholders numbered in order.
#[derive(Debug, Default)]
pub(crate) struct Conditions {
    sql: String,
    binds: Vec<Bind>,
}

impl Conditions {
    /// Adds `template AND`-ed to the clause; each `?` in it becomes the next placeholder
    /// bound to `value`.
    pub(crate) fn and(&mut self, template: &str, value: Bind) -> &mut Self {
        let placeholder = format!("${}", self.binds.len() + 1);
        self.sql.push_str(if self.sql.is_empty() { " WHERE " } else { " AND " });
        self.sql.push_str(&template.replace('?', &placeholder));
        self.binds.push(value);
        self
    }

    /// Adds `column IN (…)` of `values` (not empty).
    pub(crate) fn any_of(&mut self, column: &str, values: &[String]) -> &mut Self {
        let first = self.binds.len() + 1;
        let placeholders: Vec<String> = (first..first + values.len()).map(|n| format!("${n}")).collect();
        self.sql.push_str(if self.sql.is_empty() { " WHERE " } else { " AND " });
        self.sql.push_str(&format!("{column} IN ({})", placeholders.join(", ")));
        self.binds.extend(values.iter().cloned().map(Bind::Text));
        self
    }

    /// Adds a condition that binds no value (`crm_deal_id IS NULL`).
    pub(crate) fn and_fixed(&mut self, condition: &str) -> &mut Self {
        self.sql.push_str(if self.sql.is_empty() { " WHERE " } else { " AND " });
        self.sql.push_str(condition);
        self
    }

    /// The next free placeholder number.
    pub(crate) fn next_placeholder(&self) -> usize {
        self.binds.len() + 1
    }

    /// The clause, empty when nothing was added.
    pub(crate) fn sql(&self) -> &str {
        &self.sql
    }

    /// Binds every value to `query`, in order.
    pub(crate) fn bind_to<'q, O>(
        &self,
        mut query: sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>> {
        for bind in &self.binds {
            query = match bind {
                Bind::Int(value) => query.bind(*value),
                Bind::Text(value) => query.bind(value.clone()),
            };
        }
        query
    }
}

/// A `query_as` being built, for the helpers that bind its common parameters.
pub(crate) type RowQuery<'q, T> = sqlx::query::QueryAs<'q, sqlx::Any, T, sqlx::any::AnyArguments<'q>>;

/// `AND <column> = $3` when a team is asked for: the parameter after a range's two days
/// (see [`bind_range`]); nothing for every team.
pub(crate) fn team_clause(column: &str, team_id: Option<i64>) -> String {
    team_id.map(|_| format!("AND {column} = $3")).unwrap_or_default()
}

/// Binds the first and last `yyyymmdd` of `range` as `$1` and `$2`, and the team, if any,
/// as `$3`.
pub(crate) fn bind_range<'q, T>(
    query: RowQuery<'q, T>,
    range: crate::domain::date_range::DateRange,
    team_id: Option<i64>,
) -> RowQuery<'q, T> {
    let query = query.bind(range.start_day()).bind(range.end_day());
    match team_id {
        Some(team_id) => query.bind(team_id),
        None => query,
    }
}

/// `($1, $2, …), ($n, …)` for `rows` rows of `columns` values each. `repeat(column)` may
/// name an earlier column (0-based) whose placeholder the column reuses; such columns take
/// no bound value of their own.
pub(crate) fn values_placeholders(rows: usize, columns: usize, repeat: impl Fn(usize) -> Option<usize>) -> String {
    let bound_per_row = columns - (0..columns).filter(|c| repeat(*c).is_some()).count();
    (0..rows)
        .map(|row| {
            let mut next = row * bound_per_row;
            let mut numbers = Vec::with_capacity(columns);
            for column in 0..columns {
                let number = match repeat(column) {
                    Some(earlier) => numbers[earlier],
                    None => {
                        next += 1;
                        next
                    }
                };
                numbers.push(number);
            }
            let placeholders: Vec<String> = numbers.iter().map(|n| format!("${n}")).collect();
            format!("({})", placeholders.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::values_placeholders;

    #[test]
    fn placeholders_number_rows_in_order_and_reuse_repeated_columns() {
        assert_eq!(values_placeholders(2, 3, |_| None), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(values_placeholders(2, 3, |c| (c == 2).then_some(0)), "($1, $2, $1), ($3, $4, $3)");
    }
}
