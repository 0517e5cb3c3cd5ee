//! Migrations that change stored rows, run on a database that already has them.

use std::borrow::Cow;

use sqlx::migrate::Migrator;

use app::config::DatabaseConfig;
use app::db::{Db, Engine};

use crate::helpers::{with_each_engine, TestDatabase};

/// The migrations of `engine` up to and including `version`.
fn migrations_up_to(engine: Engine, version: i64) -> Migrator {
    static SQLITE: Migrator = sqlx::migrate!("../migrations/sqlite");
    static POSTGRES: Migrator = sqlx::migrate!("../migrations/postgres");
    let all = match engine {
        Engine::Sqlite => &SQLITE,
        Engine::Postgres => &POSTGRES,
    };
    let kept: Vec<_> = all.migrations.iter().filter(|migration| migration.version <= version).cloned().collect();
    Migrator { migrations: Cow::Owned(kept), ..Migrator::DEFAULT }
}

/// A pool on the test database, not migrated yet.
async fn connect(database: &TestDatabase) -> Db {
    let config = DatabaseConfig {
        url: database.url.clone(),
        max_connections: Some(2),
        acquire_timeout: std::time::Duration::from_secs(5),
    };
    Db::connect(&config).await.unwrap()
}

with_each_engine!(renaming_the_job_statuses_keeps_every_row_and_its_state, |engine| {
    let Some(database) = TestDatabase::create(engine).await else { return };
    let db = connect(&database).await;
    migrations_up_to(engine, 20261202000010).run(db.pool()).await.unwrap();
    for (key, status) in [("a", "pending"), ("b", "sending"), ("c", "sent"), ("d", "failed"), ("e", "cancelled")] {
        sqlx::query(
            "INSERT INTO job (kind, payload, idempotency_key, status, run_at, created_at, updated_at) \
             VALUES ('send_lead_email', '{\"lead_id\":1}', $1, $2, 5, 5, 5)",
        )
        .bind(key)
        .bind(status)
        .execute(db.pool())
        .await
        .unwrap();
    }
    // A removed row: ids are never reused after the rebuild.
    sqlx::query("DELETE FROM job WHERE idempotency_key = 'e'").execute(db.pool()).await.unwrap();

    db.migrate().await.unwrap();
    let rows: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT job_id, idempotency_key, status FROM job ORDER BY job_id")
            .fetch_all(db.pool())
            .await
            .unwrap();
    let statuses: Vec<(&str, &str)> = rows.iter().map(|(_, key, status)| (key.as_str(), status.as_str())).collect();
    assert_eq!(statuses, [("a", "queued"), ("b", "running"), ("c", "done"), ("d", "failed")]);
    let refused = sqlx::query(
        "INSERT INTO job (kind, payload, idempotency_key, status, run_at, created_at, updated_at) \
         VALUES ('send_lead_email', '{}', 'old', 'pending', 5, 5, 5)",
    )
    .execute(db.pool())
    .await;
    assert!(refused.is_err(), "the old names are no longer statuses");
    let new_id: i64 = sqlx::query_scalar(
        "INSERT INTO job (kind, payload, idempotency_key, run_at, created_at, updated_at) \
         VALUES ('send_lead_email', '{}', 'f', 5, 5, 5) RETURNING job_id",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert!(new_id > rows.last().unwrap().0 + 1, "the id of the removed row is not given again");
    let status: String =
        sqlx::query_scalar("SELECT status FROM job WHERE job_id = $1").bind(new_id).fetch_one(db.pool()).await.unwrap();
    assert_eq!(status, "queued");
    db.close().await;
});

with_each_engine!(recipients_already_written_to_keep_their_claims_after_the_policy_migration, |engine| {
    let Some(database) = TestDatabase::create(engine).await else { return };
    let db = connect(&database).await;
    migrations_up_to(engine, 20261203000014).run(db.pool()).await.unwrap();
    // Two leads of one person, the later one messaged; a third lead never messaged.
    for (id, email, message) in
        [(1, "same@example.com", Some("m1")), (2, "same@example.com", Some("m2")), (3, "new@example.com", None)]
    {
        sqlx::query(
            "INSERT INTO lead (lead_id, created_at, created_day, updated_at, name, email, email_raw, phone_e164, \
             phone_raw, source, kind, search_text, email_message_id, email_status_at) VALUES ($1, $2, 20261203, $2, \
             'Лид', $3, $3, '+77050000000', '+77050000000', 'proftest', 'proftest', 'лид', $4, $2)",
        )
        .bind(id)
        .bind(1_000 * id)
        .bind(email)
        .bind(message)
        .execute(db.pool())
        .await
        .unwrap();
    }
    db.migrate().await.unwrap();
    let claims: Vec<(String, String, i64, i64)> =
        sqlx::query_as("SELECT channel, recipient, lead_id, claimed_at FROM notification_claim ORDER BY channel")
            .fetch_all(db.pool())
            .await
            .unwrap();
    assert_eq!(claims, [("email".to_owned(), "same@example.com".to_owned(), 2, 2_000)]);
});
