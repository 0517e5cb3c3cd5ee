//! Announce a recorded sale in its team's Telegram chat, once.
//!
//! Telegram cannot deduplicate, so the sale is marked `sending` before the message goes out
//! and the run's outcome settles it: `sent`; pending again when the message certainly did
//! not arrive (no connection, a 429, an error answer — then the job retries); `uncertain`
//! when the request went out and no answer came, or when a run finds the sale still
//! `sending` from an earlier run that never recorded its outcome (a crash). An uncertain
//! announcement is never sent again by itself: an admin decides. Without a bot token the
//! Telegram integration is paused and announcements wait for one.

use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use super::{lanes, CounterDeltas};
use crate::db::job::ClaimedJob;
use crate::db::sale::{abandon_sale_notice, begin_sale_notice, sale_notice, settle_sale_notice, NoticeStart};
use crate::domain::integration::{Integration, Refusal};
use crate::messages::sale_message;
use crate::providers::SendError;
use crate::queue::{Job, JobFailure, Lane, Step};
use crate::services::Services;
use crate::time::now_ms;

/// Announce a sale in Telegram, once.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NotifySale {
    pub sale_id: i64,
}

/// How a sale's announcement ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    pub sale_id: i64,
    pub outcome: Announced,
}

/// What became of an announcement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Announced {
    /// Telegram accepted it.
    Sent { message_id: i64 },
    /// It may or may not be in the chat; the reason says why we cannot tell.
    Uncertain { reason: String },
    /// Nothing to do: the sale's announcement is settled already.
    Skipped,
}

/// No `TELEGRAM_BOT_TOKEN`: the integration is paused until a process starts with one.
pub fn no_bot() -> Refusal {
    Refusal::new(Integration::Telegram, "TELEGRAM_BOT_TOKEN не задан: объявления о продажах ждут, пока бот не настроен")
}

impl Job for NotifySale {
    type Context = Services;
    type Output = Announcement;

    const KIND: &'static str = "notify_sale";
    const DESCRIPTION: &'static str = "Telegram";
    const LANE: Lane = lanes::TELEGRAM;
    const INTEGRATION: Option<Integration> = Some(Integration::Telegram);

    /// Sends the sale's message to its team's chat, or the default chat, unless an earlier
    /// run may have sent it.
    async fn run(self, _job: &ClaimedJob, services: &Services) -> Result<Step<Self>, JobFailure> {
        let done = |outcome| Ok(Step::Done(Announcement { sale_id: self.sale_id, outcome }));
        let Some(telegram) = &services.telegram else {
            return Err(JobFailure::Refused(no_bot()));
        };
        let mut conn = services.db.pool().acquire().await?;
        let notice = sale_notice(&mut conn, self.sale_id)
            .await?
            .ok_or_else(|| JobFailure::permanent(format!("no sale {}", self.sale_id)))?;
        drop(conn);
        let chat = notice
            .telegram_chat_id
            .clone()
            .or_else(|| services.config.telegram.default_chat_id.clone())
            .ok_or_else(|| JobFailure::permanent("нет чата: TELEGRAM_DEFAULT_CHAT_ID не задан"))?;
        let start = {
            let mut conn = services.db.write_connection().await?;
            begin_sale_notice(&mut conn, self.sale_id, now_ms()).await?
        };
        match start {
            NoticeStart::Send => {}
            NoticeStart::Settled => return done(Announced::Skipped),
            NoticeStart::InDoubt => {
                tracing::warn!(
                    sale.id = self.sale_id,
                    "an earlier announcement's outcome is unknown; not sending again"
                );
                let reason = "прошлая попытка отправки прервалась: неизвестно, дошло ли сообщение".to_owned();
                return done(Announced::Uncertain { reason });
            }
        }
        match telegram.send_html(&chat, &sale_message(&notice)).await {
            Ok(message_id) => done(Announced::Sent { message_id }),
            Err(SendError::Uncertain { message }) => {
                tracing::warn!(sale.id = self.sale_id, error = %message, "Telegram did not answer; the announcement is uncertain");
                done(Announced::Uncertain { reason: format!("Telegram не ответил: {message}") })
            }
            Err(error) => {
                // It certainly did not arrive: the next attempt may send it.
                let mut conn = services.db.write_connection().await?;
                abandon_sale_notice(&mut conn, self.sale_id, now_ms()).await?;
                Err(error.into())
            }
        }
    }

    async fn commit(
        output: &Announcement,
        _job: &ClaimedJob,
        conn: &mut AnyConnection,
        _batch: &mut CounterDeltas,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        let sale_id = output.sale_id;
        match &output.outcome {
            Announced::Sent { .. } => settle_sale_notice(conn, sale_id, "sent", None, now).await,
            Announced::Uncertain { reason } => settle_sale_notice(conn, sale_id, "uncertain", Some(reason), now).await,
            Announced::Skipped => Ok(()),
        }
    }

    async fn on_parked(
        &self,
        error: &str,
        conn: &mut AnyConnection,
        _batch: &mut CounterDeltas,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        settle_sale_notice(conn, self.sale_id, "failed", Some(error), now).await
    }

    async fn on_retried(&self, conn: &mut AnyConnection, now: i64) -> Result<(), sqlx::Error> {
        crate::db::sale::reopen_sale_notice(conn, self.sale_id, now).await.map(drop)
    }
}
