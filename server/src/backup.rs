//! `server backup` and `server restore` (`docs/deploy.md`, "Backups"): one pair of
//! commands for both engines. A backup is taken while the server runs and leads arrive — a
//! consistent snapshot, every lead with its jobs or neither. A restore goes into a stopped
//! server's database, which must be empty unless `--force` says to replace what is there.

use std::path::Path;

use anyhow::{bail, ensure, Context};
use tokio::process::Command;

use app::config::DatabaseConfig;
use app::db::{sqlite_path, Db, Engine};

/// Writes a backup of the database to `to`, a file that must not exist yet: an SQLite copy
/// (`VACUUM INTO`) or a PostgreSQL custom-format dump (`pg_dump`).
pub async fn backup(config: &DatabaseConfig, to: &Path) -> anyhow::Result<()> {
    ensure!(!to.exists(), "{} exists already; a backup never overwrites one", to.display());
    match Engine::of_url(&config.url)? {
        Engine::Sqlite => {
            let db = Db::connect(config).await?;
            let copied = db.copy_sqlite_into(to).await;
            db.close().await;
            copied
        }
        Engine::Postgres => {
            run_tool(
                Command::new("pg_dump")
                    .arg("--format=custom")
                    .arg("--no-owner")
                    .arg("--file")
                    .arg(to)
                    .arg("--dbname")
                    .arg(&config.url),
            )
            .await
        }
    }
}

/// Restores the backup `from` into the database of `config`, whose server must be stopped.
/// Refuses a database that holds leads unless `force`; then migrates what was restored, so
/// that a backup of an older version comes back at this version's schema.
pub async fn restore(config: &DatabaseConfig, from: &Path, force: bool) -> anyhow::Result<()> {
    ensure!(from.is_file(), "no backup at {}", from.display());
    let engine = Engine::of_url(&config.url)?;
    let db = Db::connect(config).await?;
    let leads = db.lead_count().await.context("looking into the database to restore into")?;
    db.close().await;
    if leads > 0 && !force {
        bail!("the database holds {leads} leads; restore into an empty one, or add --force to replace them");
    }
    match engine {
        Engine::Sqlite => {
            let target = sqlite_path(&config.url).context("DATABASE_URL names no SQLite file")?;
            // Copied beside the target, then renamed over it: a restore cut short leaves
            // the old database as it was.
            let partial = target.with_extension("restoring");
            tokio::fs::copy(from, &partial).await.with_context(|| format!("copying {}", from.display()))?;
            tokio::fs::File::open(&partial).await?.sync_all().await?;
            for suffix in ["-wal", "-shm"] {
                let side = format!("{}{suffix}", target.display());
                match tokio::fs::remove_file(&side).await {
                    Ok(()) => {}
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                    Err(error) => return Err(error).with_context(|| format!("removing {side}")),
                }
            }
            tokio::fs::rename(&partial, target).await.with_context(|| format!("replacing {}", target.display()))?;
        }
        Engine::Postgres => {
            // What is there holds no leads (or `force` says so): its tables are replaced.
            let mut command = Command::new("pg_restore");
            command.args(["--no-owner", "--clean", "--if-exists", "--exit-on-error", "--single-transaction"]);
            run_tool(command.arg("--dbname").arg(&config.url).arg(from)).await?;
        }
    }
    let db = Db::connect(config).await?;
    let migrated = db.migrate().await;
    let restored = db.lead_count().await;
    db.close().await;
    migrated?;
    println!("Восстановлено лидов: {}", restored?);
    Ok(())
}

/// Runs a PostgreSQL client tool; its own error output explains a failure.
async fn run_tool(command: &mut Command) -> anyhow::Result<()> {
    let program = command.as_std().get_program().to_string_lossy().into_owned();
    let status =
        command.status().await.with_context(|| format!("starting {program} (is the PostgreSQL client installed?)"))?;
    ensure!(status.success(), "{program} failed ({status})");
    Ok(())
}
