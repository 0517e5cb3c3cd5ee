//! A database that cannot take submissions in time: intake answers 202 with a receipt once
//! a submission is on disk in the spool, and stores each exactly once, with its original
//! time, when the database takes writes again. (A whole outage with a killed process is in
//! `processes.rs`.)

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use app::db::Engine;
use app::time::now_ms;

use crate::helpers::{with_each_engine, TestApp, NOTIFY_DELAY};

/// Something that holds the lead table until it is dropped: SQLite's one writer, or a
/// PostgreSQL lock.
#[expect(dead_code, reason = "held for the lock it keeps, never read")]
enum Blocker {
    Sqlite(app::db::WriteTx),
    Postgres(sqlx::Transaction<'static, sqlx::Any>),
}

async fn block_writes(app: &TestApp, engine: Engine) -> Blocker {
    match engine {
        Engine::Sqlite => Blocker::Sqlite(app.db.begin_write().await.unwrap()),
        Engine::Postgres => {
            let mut tx = app.db.pool().begin().await.unwrap();
            sqlx::query("LOCK TABLE lead IN ACCESS EXCLUSIVE MODE").execute(&mut *tx).await.unwrap();
            Blocker::Postgres(tx)
        }
    }
}

async fn post(app: &TestApp, n: usize, key: Option<&str>) -> (u16, Value, Duration) {
    let body = json!({"name": format!("Лид {n}"), "email": format!("spool{n}@example.com"), "phone": format!("+7701777000{n}")});
    let mut request = app.client.post(app.url("/api/landing/proftest")).json(&body);
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    let started = Instant::now();
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap(), started.elapsed())
}

with_each_engine!(submissions_the_database_cannot_take_in_time_are_spooled_and_stored_once_later, |engine| {
    let Some(app) = TestApp::spawn_with(engine, |config| config.intake.spool_after = Duration::from_millis(300)).await
    else {
        return;
    };
    let blocker = block_writes(&app, engine).await;
    let before = now_ms();
    let mut receipts = Vec::new();
    for n in 0..3 {
        let (status, answer, took) = post(&app, n, None).await;
        assert_eq!(status, 202, "{answer}");
        assert_eq!((answer["success"].as_bool(), answer["queued"].as_bool()), (Some(true), Some(true)), "{answer}");
        assert!(took < Duration::from_secs(1), "answered in {took:?}");
        receipts.push(answer["receipt"].as_str().unwrap().to_owned());
    }
    // A landing page that retries with its idempotency key while the database is away.
    for _ in 0..2 {
        let (status, answer, _) = post(&app, 3, Some("landing-retry-3")).await;
        assert_eq!(status, 202, "{answer}");
    }
    let after = now_ms();
    receipts.sort();
    receipts.dedup();
    assert_eq!(receipts.len(), 3, "each submission its own receipt");
    drop(blocker);

    let deadline = Instant::now() + Duration::from_secs(20);
    while app.count("SELECT COUNT(*) FROM lead").await < 4 {
        assert!(Instant::now() < deadline, "the spool was not stored within 20 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The writer that was waiting for the lock with the first submission stores it once it
    // gets through; the replay, which waits for that, must not store it again.
    let (status, answer, _) = post(&app, 9, None).await;
    assert_eq!(status, 200, "back to the database directly: {answer}");
    assert_eq!(app.count("SELECT COUNT(*) FROM lead").await, 5, "every submission stored once");
    let times: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT lead.created_at, job.run_at FROM lead JOIN job ON job.lead_id = lead.lead_id \
         WHERE job.kind = 'send_lead_email' AND lead.email <> 'spool9@example.com'",
    )
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    assert_eq!(times.len(), 4);
    for (created_at, run_at) in times {
        assert!((before..=after).contains(&created_at), "the lead keeps the time it arrived");
        assert_eq!(run_at - created_at, app::time::millis(NOTIFY_DELAY), "its email falls due from that time");
    }
});
