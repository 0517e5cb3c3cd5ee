//! Tell the admins' Telegram chat that an alert was raised or cleared («решено»), once.
//!
//! As with sale announcements, Telegram cannot deduplicate: the notice is marked `sending`
//! before it goes out, sent again only when it certainly did not arrive, and left
//! `uncertain` when the request went out without an answer or a crash cut a send short.

use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use super::{lanes, notify_sale::no_bot, CounterDeltas};
use crate::db::alert::{alert, begin_alert_notice, settle_alert_notice, Phase};
use crate::db::job::ClaimedJob;
use crate::db::sale::NoticeStart;
use crate::domain::integration::Integration;
use crate::messages::alert_message;
use crate::providers::SendError;
use crate::queue::{Job, JobFailure, Lane, Step};
use crate::services::Services;
use crate::time::now_ms;

/// Send an alert's notice to `TELEGRAM_ALERT_CHAT_ID`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendAlert {
    pub alert_id: i64,
    pub phase: Phase,
}

/// What became of a notice: `sent`, `uncertain`, or nothing to do (`None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertNotice {
    pub alert_id: i64,
    pub phase: Phase,
    pub state: Option<&'static str>,
}

impl Job for SendAlert {
    type Context = Services;
    type Output = AlertNotice;

    const KIND: &'static str = "send_alert";
    const DESCRIPTION: &'static str = "Оповещение в Telegram";
    const LANE: Lane = lanes::ALERTS;
    const INTEGRATION: Option<Integration> = Some(Integration::Telegram);

    async fn run(self, _job: &ClaimedJob, services: &Services) -> Result<Step<Self>, JobFailure> {
        let (alert_id, phase) = (self.alert_id, self.phase);
        let settled = |state| Ok(Step::Done(AlertNotice { alert_id, phase, state }));
        let Some(telegram) = &services.telegram else { return Err(JobFailure::Refused(no_bot())) };
        let chat = services
            .config
            .alerts
            .chat_id
            .clone()
            .ok_or_else(|| JobFailure::permanent("TELEGRAM_ALERT_CHAT_ID не задан"))?;
        let mut conn = services.db.pool().acquire().await?;
        let row = alert(&mut conn, self.alert_id)
            .await?
            .ok_or_else(|| JobFailure::permanent(format!("no alert {}", self.alert_id)))?;
        drop(conn);
        let start = {
            let mut conn = services.db.write_connection().await?;
            begin_alert_notice(&mut conn, self.alert_id, self.phase, now_ms()).await?
        };
        match start {
            NoticeStart::Send => {}
            NoticeStart::Settled => return settled(None),
            NoticeStart::InDoubt => return settled(Some("uncertain")),
        }
        match telegram.send_html(&chat, &alert_message(&row, self.phase)).await {
            Ok(_) => settled(Some("sent")),
            Err(SendError::Uncertain { message }) => {
                tracing::warn!(alert.id = self.alert_id, error = %message, "Telegram did not answer; the alert notice is uncertain");
                settled(Some("uncertain"))
            }
            Err(error) => {
                let mut conn = services.db.write_connection().await?;
                settle_alert_notice(&mut conn, self.alert_id, self.phase, "pending", now_ms()).await?;
                Err(error.into())
            }
        }
    }

    async fn commit(
        output: &AlertNotice,
        _job: &ClaimedJob,
        conn: &mut AnyConnection,
        _batch: &mut CounterDeltas,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        let Some(state) = output.state else { return Ok(()) };
        settle_alert_notice(conn, output.alert_id, output.phase, state, now).await
    }

    async fn on_parked(
        &self,
        _error: &str,
        conn: &mut AnyConnection,
        _batch: &mut CounterDeltas,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        settle_alert_notice(conn, self.alert_id, self.phase, "failed", now).await
    }

    async fn on_retried(&self, conn: &mut AnyConnection, now: i64) -> Result<(), sqlx::Error> {
        settle_alert_notice(conn, self.alert_id, self.phase, "pending", now).await
    }
}
