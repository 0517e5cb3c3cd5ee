//! Request-time work on sales: the test announcement an admin sends to check a chat, and
//! settling announcements whose outcome is unknown.

use super::Services;
use crate::db::job::enqueue_jobs;
use crate::db::sale::{reopen_sale_notice, settle_sale_notice, uncertain_sale_notices, SaleNotice};
use crate::error::AppError;
use crate::jobs::NotifySale;
use crate::messages::sale_message;
use crate::models::{UncertainNotice, UncertainNotices};
use crate::queue::Registered;
use crate::time::{format_almaty, now_ms};

/// The newest 50 announcements whose outcome is unknown.
pub async fn uncertain_notices(services: &Services) -> Result<UncertainNotices, sqlx::Error> {
    let mut conn = services.db.pool().acquire().await?;
    let (rows, total) = uncertain_sale_notices(&mut conn, 50).await?;
    let notices = rows
        .into_iter()
        .map(|row| UncertainNotice {
            sale_id: row.sale_id,
            product: row.product,
            amount: row.amount,
            contact_name: row.contact_name,
            team_name: row.team_name,
            reason: row.notify_error,
            at_local: row.notified_at.map(format_almaty),
        })
        .collect();
    Ok(UncertainNotices { total, notices })
}

/// Settles an uncertain announcement: `send_again` queues it once more (the admin saw it
/// is not in the chat), otherwise it is marked sent (the admin saw it there).
///
/// Errors: `Conflict` when the announcement is not uncertain (settled already).
pub async fn settle_uncertain_notice(services: &Services, sale_id: i64, send_again: bool) -> Result<(), AppError> {
    let now = now_ms();
    let mut tx = services.db.begin_write().await?;
    if !reopen_sale_notice(&mut tx, sale_id, now).await? {
        return Err(AppError::Conflict("сообщение о продаже уже не под вопросом".to_owned()));
    }
    if send_again {
        let key = format!("sale-notify-{sale_id}-again-{now}");
        enqueue_jobs(&mut tx, &[NotifySale { sale_id }.queued(None, key, now)], now).await?;
    } else {
        settle_sale_notice(&mut tx, sale_id, "sent", None, now).await?;
    }
    tx.commit().await?;
    tracing::info!(sale.id = sale_id, send_again, "uncertain sale announcement settled by an admin");
    services.waker.wake();
    Ok(())
}

/// Sends a test sale message now (`POST /api/amocrm/test-sale-notification`) to the
/// team's chat, or the default chat.
///
/// Errors: `NotFound` (team), `Validation` (Telegram not configured, no chat), `Conflict`
/// with Telegram's answer when it refuses.
pub async fn send_test_sale(
    services: &Services,
    team: Option<&str>,
    contact_name: &str,
    amount: i64,
    product: &str,
) -> Result<(), AppError> {
    let telegram =
        services.telegram.as_ref().ok_or_else(|| AppError::validation("telegram", "TELEGRAM_BOT_TOKEN не задан"))?;
    let team = match team.map(str::trim).filter(|name| !name.is_empty()) {
        Some(name) => {
            let mut conn = services.db.pool().acquire().await?;
            Some(crate::db::team::find_team_by_name(&mut conn, name).await?.ok_or(AppError::NotFound)?)
        }
        None => None,
    };
    let chat = team
        .as_ref()
        .and_then(|team| team.telegram_chat_id.clone())
        .or_else(|| services.config.telegram.default_chat_id.clone())
        .ok_or_else(|| AppError::validation("targetologist", "нет чата: TELEGRAM_DEFAULT_CHAT_ID не задан"))?;
    let lowered = product.to_lowercase();
    let code = if lowered.contains("express") || lowered.contains("экспресс") {
        "express"
    } else if lowered.contains("flagman") || lowered.contains("флагман") || lowered.contains("integrator") {
        "flagship"
    } else {
        "other"
    };
    let notice = SaleNotice {
        product: code.to_owned(),
        amount,
        contact_name: Some(contact_name.to_owned()),
        utm_campaign: None,
        team_name: team.as_ref().map(|team| team.name.clone()),
        team_emoji: team.as_ref().map(|team| team.emoji.clone()),
        telegram_chat_id: None,
    };
    let text = format!("🧪 Тестовое сообщение\n{}", sale_message(&notice));
    telegram.send_html(&chat, &text).await.map_err(|error| AppError::Conflict(error.to_string()))?;
    Ok(())
}
