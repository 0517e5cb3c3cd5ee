//! Won deals become sales (SPEC §5, §6): each stored AmoCRM delivery is processed by the
//! job runner; a deal reaching the won stage records one sale per deal and product
//! (whatever the retries and duplicates), attributed by its UTM tags — the deal's, else
//! those of the lead it came from — and queues one Telegram message; a deal leaving the
//! won stage cancels its sales.

use serde::{Deserialize, Serialize};

use super::notify::JobContext;
use super::{Job, JobFailure, JobOutcome};
use crate::config::CrmConfig;
use crate::db::crm_event::{crm_event, finish_crm_event, insert_crm_event};
use crate::db::job::enqueue_jobs;
use crate::db::sale::{cancel_deal_sales, lead_of_deal, record_won_sale, sale_notice, NewSale, SaleNotice};
use crate::db::team::attribution_rules;
use crate::domain::attribution::{Attributor, UtmTags};
use crate::domain::crm_webhook::{parse_deal_changes, DealChange};
use crate::format;
use crate::providers::telegram::escape_html;
use crate::time::{almaty_day, now_ms};

/// The health view's name of Telegram.
pub const TELEGRAM: &str = "telegram";

/// Process one stored AmoCRM delivery.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProcessCrmEvent {
    pub event_id: i64,
}

impl Job for ProcessCrmEvent {
    const KIND: &'static str = "process_crm_event";
}

/// Announce a sale in Telegram, once.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NotifySale {
    pub sale_id: i64,
}

impl Job for NotifySale {
    const KIND: &'static str = "notify_sale";
}

/// Stores a webhook delivery as it arrived and, unless it cannot be read, queues its
/// processing, in one transaction; a malformed one is stored as `rejected` with the reason
/// (AmoCRM gets 200 either way, so that it stops retrying).
pub async fn accept_crm_delivery(
    db: &crate::db::Db,
    waker: &super::runner::JobWaker,
    route: &str,
    body: &[u8],
) -> Result<(), sqlx::Error> {
    let text = String::from_utf8_lossy(body);
    let rejected = parse_deal_changes(body).err().map(|error| error.to_string());
    let status = if rejected.is_some() { "rejected" } else { "pending" };
    let now = now_ms();
    {
        let _permit = db.write_permit().await;
        let mut tx = db.pool().begin().await?;
        let event_id = insert_crm_event(&mut tx, route, &text, status, rejected.as_deref(), now).await?;
        if rejected.is_none() {
            let job = ProcessCrmEvent { event_id }.to_new_job(None, format!("crm-event-{event_id}"), now);
            enqueue_jobs(&mut tx, &[job], now).await?;
        }
        tx.commit().await?;
    }
    match rejected {
        Some(reason) => tracing::warn!(route, %reason, "AmoCRM delivery rejected"),
        None => waker.wake(),
    }
    Ok(())
}

impl JobContext {
    /// Runs a delivery: records or cancels sales and queues their messages, in one transaction.
    pub async fn process_crm_event(&self, job: ProcessCrmEvent) -> Result<JobOutcome, JobFailure> {
        let mut conn = self.db.pool().acquire().await?;
        let Some((route, body, received_at)) = crm_event(&mut conn, job.event_id).await? else {
            return Err(JobFailure::Permanent { message: format!("no AmoCRM event {}", job.event_id) });
        };
        let attributor = Attributor::new(&attribution_rules(&mut conn).await?);
        drop(conn);
        let parsed = match parse_deal_changes(body.as_bytes()) {
            Ok(changes) => Ok(self.with_deal_fields(changes).await?),
            Err(error) => Err(error),
        };
        let now = now_ms();
        let _permit = self.db.write_permit().await;
        let mut tx = self.db.pool().begin().await?;
        let (status, reason) = match parsed {
            Err(error) => ("rejected", Some(error.to_string())),
            Ok(changes) => {
                let mut acted = false;
                for change in &changes {
                    acted |= self.apply_deal_change(&mut tx, &attributor, &route, change, received_at, now).await?;
                }
                if acted {
                    ("processed", None)
                } else {
                    ("ignored", Some("нет выигранных или отменённых сделок".to_owned()))
                }
            }
        };
        finish_crm_event(&mut tx, job.event_id, status, reason.as_deref(), now).await?;
        tx.commit().await?;
        Ok(JobOutcome::Done)
    }

    /// Won deals whose delivery carries no UTM field get their fields from AmoCRM (before
    /// the transaction: no network call while holding the write lock).
    async fn with_deal_fields(&self, mut changes: Vec<DealChange>) -> Result<Vec<DealChange>, JobFailure> {
        let Some(client) = self.amocrm.as_deref() else { return Ok(changes) };
        let crm = &self.crm_config;
        let utm_fields = [crm.utm_source_field, crm.utm_medium_field, crm.utm_campaign_field];
        for change in changes.iter_mut().filter(|change| change.status_id == Some(crm.won_status_id)) {
            if utm_fields.iter().any(|field| change.custom_fields.contains_key(field)) {
                continue;
            }
            if let Some(fields) = client.deal_fields(change.deal_id).await? {
                change.custom_fields.extend(fields);
            }
        }
        Ok(changes)
    }

    /// Applies one deal change; true when it recorded or cancelled a sale.
    async fn apply_deal_change(
        &self,
        tx: &mut sqlx::AnyConnection,
        attributor: &Attributor,
        route: &str,
        change: &DealChange,
        received_at: i64,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let crm = &self.crm_config;
        if change.status_id != Some(crm.won_status_id) {
            if change.old_status_id == Some(crm.won_status_id) {
                return Ok(cancel_deal_sales(tx, change.deal_id, now).await? > 0);
            }
            return Ok(false);
        }
        let (product, list_price) = product_of(crm, change.pipeline_id, route);
        let field = |id: i64| change.custom_fields.get(&id).cloned();
        let lead = lead_of_deal(tx, change.deal_id).await?;
        let (lead_id, lead_name, lead_tags) = match lead {
            Some((lead_id, name, source, medium, campaign)) => (Some(lead_id), Some(name), (source, medium, campaign)),
            None => (None, None, (None, None, None)),
        };
        // The deal's own tags; a deal without them keeps those of the lead it came from.
        let deal_tags = (field(crm.utm_source_field), field(crm.utm_medium_field), field(crm.utm_campaign_field));
        let (utm_source, utm_medium, utm_campaign) =
            if deal_tags == (None, None, None) { lead_tags } else { deal_tags };
        let attribution = attributor.attribute(UtmTags {
            source: utm_source.as_deref(),
            medium: utm_medium.as_deref(),
            campaign: utm_campaign.as_deref(),
        });
        let sold_at = change.changed_at.map_or(received_at, |seconds| seconds * 1_000);
        let sale = NewSale {
            crm_deal_id: change.deal_id,
            product,
            amount: change.price.filter(|price| *price > 0).unwrap_or(list_price),
            sold_at,
            sold_day: almaty_day(sold_at),
            lead_id,
            contact_name: lead_name.or_else(|| change.name.clone()),
            utm_source,
            utm_medium,
            utm_campaign,
            attribution,
        };
        if let Some(sale_id) = record_won_sale(tx, &sale, now).await? {
            let notify = NotifySale { sale_id }.to_new_job(None, format!("sale-notify-{sale_id}"), now);
            enqueue_jobs(tx, &[notify], now).await?;
            tracing::info!(sale.id = sale_id, product, "sale recorded");
        }
        Ok(true)
    }

    /// Sends a sale's message to its team's chat, or the default chat.
    pub async fn notify_sale(&self, job: NotifySale) -> Result<JobOutcome, JobFailure> {
        let Some(telegram) = &self.telegram else {
            tracing::warn!(sale.id = job.sale_id, "TELEGRAM_BOT_TOKEN is not set: the sale is not announced");
            return Ok(JobOutcome::Done);
        };
        let mut conn = self.db.pool().acquire().await?;
        let notice = sale_notice(&mut conn, job.sale_id)
            .await?
            .ok_or_else(|| JobFailure::Permanent { message: format!("no sale {}", job.sale_id) })?;
        drop(conn);
        let chat = notice.telegram_chat_id.clone().or_else(|| self.telegram_default_chat.clone()).ok_or_else(|| {
            JobFailure::Permanent { message: "нет чата: TELEGRAM_DEFAULT_CHAT_ID не задан".into() }
        })?;
        telegram.send_html(&chat, &sale_message(&notice)).await?;
        Ok(JobOutcome::Done)
    }
}

/// Sends a test sale message now (`POST /api/amocrm/test-sale-notification`) to the
/// team's chat, or the default chat.
///
/// Errors: `NotFound` (team), `Validation` (Telegram not configured, no chat), `Conflict`
/// with Telegram's answer when it refuses.
pub async fn send_test_sale(
    context: &JobContext,
    team: Option<&str>,
    contact_name: &str,
    amount: i64,
    product: &str,
) -> Result<(), crate::error::AppError> {
    use crate::error::AppError;

    let telegram =
        context.telegram.as_ref().ok_or_else(|| AppError::validation("telegram", "TELEGRAM_BOT_TOKEN не задан"))?;
    let team = match team.map(str::trim).filter(|name| !name.is_empty()) {
        Some(name) => {
            let mut conn = context.db.pool().acquire().await?;
            Some(crate::db::team::find_team_by_name(&mut conn, name).await?.ok_or(AppError::NotFound)?)
        }
        None => None,
    };
    let chat = team
        .as_ref()
        .and_then(|team| team.telegram_chat_id.clone())
        .or_else(|| context.telegram_default_chat.clone())
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

/// The product and list price of a won deal: by pipeline, else by the route it came to.
fn product_of(crm: &CrmConfig, pipeline_id: Option<i64>, route: &str) -> (&'static str, i64) {
    match pipeline_id {
        Some(id) if id == crm.express_pipeline_id => ("express", crm.express_price),
        Some(id) if id == crm.flagship_pipeline_id => ("flagship", crm.flagship_price),
        Some(_) => ("other", 0),
        None if route.ends_with("funnel-sale") => ("express", crm.express_price),
        None if route.ends_with("traffic") => ("flagship", crm.flagship_price),
        None => ("other", 0),
    }
}

/// The sale message of SPEC §6, user data escaped for Telegram's HTML mode.
pub fn sale_message(notice: &SaleNotice) -> String {
    let product = match notice.product.as_str() {
        "express" => "Express Course",
        "flagship" => "Integrator Flagman",
        _ => "Другой продукт",
    };
    let team = notice.team_name.as_deref().map(escape_html);
    let emoji = notice.team_emoji.as_deref().unwrap_or("📊");
    let mut lines = vec![
        "🎉 <b>НОВАЯ ПРОДАЖА!</b>".to_owned(),
        format!("{emoji} Таргетолог: {}", team.clone().unwrap_or_else(|| "без команды".into())),
        format!("👤 Клиент: {}", escape_html(notice.contact_name.as_deref().unwrap_or("—"))),
        format!("💰 Сумма: {}", format::tenge(notice.amount).replace('\u{a0}', " ")),
        format!("📦 Продукт: {product}"),
        format!("🏷️ Кампания: {}", escape_html(notice.utm_campaign.as_deref().unwrap_or("—"))),
    ];
    if let Some(team) = team {
        lines.push(format!("{team}, ПОЗДРАВЛЯЕМ! ПО ВАМ СДЕЛАЛИ ПРОДАЖУ! 🔥"));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_escapes_user_data() {
        let notice = SaleNotice {
            product: "express".into(),
            amount: 5_000,
            contact_name: Some("<b>Айгерим & Co</b>".into()),
            utm_campaign: Some("tripwire<nov>".into()),
            team_name: Some("Kenesary".into()),
            team_emoji: Some("👑".into()),
            telegram_chat_id: None,
        };
        assert_eq!(
            sale_message(&notice),
            "🎉 <b>НОВАЯ ПРОДАЖА!</b>\n👑 Таргетолог: Kenesary\n👤 Клиент: &lt;b&gt;Айгерим &amp; Co&lt;/b&gt;\n\
             💰 Сумма: 5 000 ₸\n📦 Продукт: Express Course\n🏷️ Кампания: tripwire&lt;nov&gt;\n\
             Kenesary, ПОЗДРАВЛЯЕМ! ПО ВАМ СДЕЛАЛИ ПРОДАЖУ! 🔥"
        );
    }

    #[test]
    fn the_pipeline_decides_the_product_and_the_route_stands_in() {
        let crm = CrmConfig::default();
        assert_eq!(product_of(&crm, Some(10_350_882), "/api/amocrm/sales-webhook"), ("express", 5_000));
        assert_eq!(product_of(&crm, Some(10_418_746), "/api/amocrm/sales-webhook"), ("flagship", 490_000));
        assert_eq!(product_of(&crm, Some(9_965_766), "/api/amocrm/funnel-sale"), ("other", 0));
        assert_eq!(product_of(&crm, None, "/webhook/amocrm/traffic"), ("flagship", 490_000));
    }
}
