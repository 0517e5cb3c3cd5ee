//! Announce a recorded sale in its team's Telegram chat, once.

use serde::{Deserialize, Serialize};

use super::lanes;
use crate::db::job::ClaimedJob;
use crate::db::sale::sale_notice;
use crate::domain::integration::Integration;
use crate::messages::sale_message;
use crate::queue::{Job, JobFailure, Lane, Step};
use crate::services::Services;

/// Announce a sale in Telegram, once.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NotifySale {
    pub sale_id: i64,
}

impl Job for NotifySale {
    type Context = Services;
    type Output = ();

    const KIND: &'static str = "notify_sale";
    const DESCRIPTION: &'static str = "Telegram";
    const LANE: Lane = lanes::TELEGRAM;
    const INTEGRATION: Option<Integration> = Some(Integration::Telegram);

    /// Sends the sale's message to its team's chat, or the default chat.
    async fn run(self, _job: &ClaimedJob, services: &Services) -> Result<Step<Self>, JobFailure> {
        let Some(telegram) = &services.telegram else {
            tracing::warn!(sale.id = self.sale_id, "TELEGRAM_BOT_TOKEN is not set: the sale is not announced");
            return Ok(Step::Done(()));
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
        telegram.send_html(&chat, &sale_message(&notice)).await?;
        Ok(Step::Done(()))
    }
}
