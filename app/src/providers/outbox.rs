//! The development outbox: with no provider credentials, messages are recorded in the
//! `dev_outbox` table instead of being sent, and the dashboard says "тестовый режим".
//! Like a provider's idempotency key, the job's key makes a repeated send a no-op.

use sqlx::AnyConnection;

use super::{EmailMessage, SendError, SmsMessage};
use crate::db::Db;
use crate::time::now_ms;

/// Records messages in the database.
#[derive(Debug, Clone)]
pub struct Outbox {
    db: Db,
}

impl Outbox {
    /// An outbox writing to `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Records an email; returns its outbox id.
    pub async fn send_email(&self, message: &EmailMessage) -> Result<String, SendError> {
        let id =
            self.record("email", &message.idempotency_key, &message.to, Some(&message.subject), &message.text).await?;
        tracing::info!(lead.id = message.lead_id, outbox.id = %id, "development outbox: email recorded, not sent");
        Ok(id)
    }

    /// Records an SMS; returns its outbox id.
    pub async fn send_sms(&self, message: &SmsMessage) -> Result<String, SendError> {
        let id = self.record("sms", &message.idempotency_key, &message.to, None, &message.text).await?;
        tracing::info!(outbox.id = %id, "development outbox: SMS recorded, not sent");
        Ok(id)
    }

    /// The outbox id of the message recorded under `idempotency_key`, if any.
    pub async fn find_sent(&self, idempotency_key: &str) -> Result<Option<String>, SendError> {
        let mut conn = self.db.pool().acquire().await.map_err(database_error)?;
        find_by_key(&mut conn, idempotency_key).await.map_err(database_error)
    }

    async fn record(
        &self,
        channel: &str,
        key: &str,
        recipient: &str,
        subject: Option<&str>,
        body: &str,
    ) -> Result<String, SendError> {
        let mut conn = self.db.write_connection().await.map_err(database_error)?;
        sqlx::query(
            "INSERT INTO dev_outbox (channel, idempotency_key, recipient, subject, body, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (idempotency_key) DO NOTHING",
        )
        .bind(channel)
        .bind(key)
        .bind(recipient)
        .bind(subject)
        .bind(body)
        .bind(now_ms())
        .execute(&mut *conn)
        .await
        .map_err(database_error)?;
        find_by_key(&mut conn, key)
            .await
            .map_err(database_error)?
            .ok_or_else(|| SendError::retryable("development outbox: the recorded message is missing"))
    }
}

async fn find_by_key(conn: &mut AnyConnection, key: &str) -> Result<Option<String>, sqlx::Error> {
    let id: Option<i64> = sqlx::query_scalar("SELECT message_id FROM dev_outbox WHERE idempotency_key = $1")
        .bind(key)
        .fetch_optional(conn)
        .await?;
    Ok(id.map(|id| format!("outbox-{id}")))
}

fn database_error(error: sqlx::Error) -> SendError {
    SendError::retryable(format!("development outbox: {error}"))
}
