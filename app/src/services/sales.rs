//! Request-time work on sales: the test announcement an admin sends to check a chat.

use super::Services;
use crate::db::sale::SaleNotice;
use crate::error::AppError;
use crate::messages::sale_message;

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
