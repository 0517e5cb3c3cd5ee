//! The backup and restore commands of `docs/deploy.md`, run as an operator runs them: a
//! backup taken from a running server while leads arrive, restored into an empty database
//! that a new server then serves.

use std::process::Output;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::process::Command;

use app::config::DatabaseConfig;
use app::db::Db;

use crate::fakes::mobizon::FakeMobizon;
use crate::fakes::resend::FakeResend;
use crate::helpers::{with_each_engine, TestDatabase};
use crate::processes::{ServerProcess, Wait};

/// `server <args>` against `database_url`, to completion.
async fn server_command(database_url: &str, args: &[&str]) -> Output {
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace root");
    Command::new(env!("CARGO_BIN_EXE_server"))
        .current_dir(workspace)
        .env("APP_ENV", "development")
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "error")
        .args(args)
        .output()
        .await
        .expect("running the server binary")
}

/// Posts leads one after another until `stop`, counting the accepted ones.
fn post_until(
    address: std::net::SocketAddr,
    stop: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let client = reqwest::Client::new();
        let mut n = 0;
        while !stop.load(Ordering::Acquire) {
            let body = json!({ "name": format!("Лид {n}"), "email": format!("backup{n}@example.com"),
                               "phone": format!("+7702{n:07}") });
            let response = client.post(format!("http://{address}/api/landing/proftest")).json(&body).send().await;
            assert_eq!(response.expect("the server answers").status(), 200);
            accepted.fetch_add(1, Ordering::AcqRel);
            n += 1;
        }
    })
}

async fn until_accepted(accepted: &AtomicUsize, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while accepted.load(Ordering::Acquire) < count {
        assert!(Instant::now() < deadline, "leads stopped arriving");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn count(db: &Db, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(db.pool()).await.expect(sql)
}

with_each_engine!(a_backup_taken_while_leads_arrive_restores_into_an_empty_database_a_new_server_serves, |engine| {
    let Some(source) = TestDatabase::create(engine).await else { return };
    let (resend, mobizon) = (FakeResend::start().await, FakeMobizon::start().await);
    let server = ServerProcess::start_with(&source.url, &resend, &mobizon, &[], Wait::Ready).await;
    let (stop, accepted) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(0)));
    let poster = post_until(server.address, stop.clone(), accepted.clone());
    until_accepted(&accepted, 100).await;

    let file = std::env::temp_dir().join(format!("leadtrack-backup-{:016x}", rand::random::<u64>()));
    let backup = server_command(&source.url, &["backup", "--to", file.to_str().unwrap()]).await;
    assert!(backup.status.success(), "{}", String::from_utf8_lossy(&backup.stderr));
    let at_backup = accepted.load(Ordering::Acquire);
    until_accepted(&accepted, at_backup + 50).await;
    stop.store(true, Ordering::Release);
    poster.await.unwrap();
    server.kill().await;
    let posted = accepted.load(Ordering::Acquire);

    let Some(target) = TestDatabase::create(engine).await else { return };
    let restore = server_command(&target.url, &["restore", "--from", file.to_str().unwrap()]).await;
    assert!(restore.status.success(), "{}", String::from_utf8_lossy(&restore.stderr));
    let db = Db::connect(&DatabaseConfig {
        url: target.url.clone(),
        max_connections: Some(2),
        acquire_timeout: Duration::from_secs(5),
    })
    .await
    .unwrap();
    let leads = count(&db, "SELECT COUNT(*) FROM lead").await;
    assert!(leads >= 100 && (leads as usize) < posted, "{leads} of {posted} leads restored");
    assert!(String::from_utf8_lossy(&restore.stdout).contains(&format!("Восстановлено лидов: {leads}")));
    // A snapshot: every lead came back with its AmoCRM push and its day's count.
    let without_push = "SELECT COUNT(*) FROM lead WHERE NOT EXISTS \
                        (SELECT 1 FROM job WHERE job.lead_id = lead.lead_id AND job.kind = 'push_lead_to_crm')";
    assert_eq!(count(&db, without_push).await, 0);
    assert_eq!(count(&db, "SELECT CAST(COALESCE(SUM(total), 0) AS BIGINT) FROM lead_stat_daily").await, leads);
    let newest = count(&db, "SELECT MAX(lead_id) FROM lead").await;
    db.close().await;

    // A database with leads is not overwritten by accident.
    let again = server_command(&target.url, &["restore", "--from", file.to_str().unwrap()]).await;
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"), "{}", String::from_utf8_lossy(&again.stderr));

    // A server on the restored database takes leads on from where the backup ended.
    let restored = ServerProcess::start_with(&target.url, &resend, &mobizon, &[], Wait::Ready).await;
    let body = json!({ "name": "После восстановления", "email": "after-restore@example.com", "phone": "+77029999999" });
    let response = reqwest::Client::new()
        .post(format!("http://{}/api/landing/proftest", restored.address))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let lead_id = response.json::<serde_json::Value>().await.unwrap()["leadId"].as_i64().unwrap();
    assert!(lead_id > newest, "a new lead id ({lead_id}) after the restored ones ({newest})");
    restored.kill().await;
    let _ = std::fs::remove_file(&file);
});
