//! Process one stored AmoCRM delivery (`docs/product.md`, "Sales"): a deal reaching
//! the won stage records one sale per deal and product (whatever the retries and
//! duplicates), attributed by its UTM tags — the deal's, else those of the lead it came
//! from — and queues one Telegram message; a deal leaving the won stage cancels its sales.

use serde::{Deserialize, Serialize};

use super::{lanes, NotifySale};
use crate::config::CrmConfig;
use crate::db::crm_event::{crm_event, finish_crm_event};
use crate::db::job::{enqueue_jobs, ClaimedJob};
use crate::db::sale::{cancel_deal_sales, lead_of_deal, record_won_sale, NewSale};
use crate::db::team::attribution_rules;
use crate::domain::attribution::{Attributor, UtmTags};
use crate::domain::crm_webhook::{parse_deal_changes, DealChange};
use crate::queue::{Job, JobFailure, Lane, Registered, Step};
use crate::services::Services;
use crate::time::{almaty_day, now_ms};

/// Process one stored AmoCRM delivery.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProcessCrmEvent {
    pub event_id: i64,
}

impl Job for ProcessCrmEvent {
    type Context = Services;
    type Output = ();

    const KIND: &'static str = "process_crm_event";
    const DESCRIPTION: &'static str = "Вебхук AmoCRM";
    const LANE: Lane = lanes::CRM_EVENTS;

    /// Records or cancels the delivery's sales and queues their messages, in one transaction.
    async fn run(self, _job: &ClaimedJob, services: &Services) -> Result<Step<Self>, JobFailure> {
        let mut conn = services.db.pool().acquire().await?;
        let Some((route, body, received_at)) = crm_event(&mut conn, self.event_id).await? else {
            return Err(JobFailure::permanent(format!("no AmoCRM event {}", self.event_id)));
        };
        let attributor = Attributor::new(&attribution_rules(&mut conn).await?);
        drop(conn);
        let parsed = match parse_deal_changes(body.as_bytes()) {
            Ok(changes) => Ok(with_deal_fields(services, changes).await?),
            Err(error) => Err(error),
        };
        let now = now_ms();
        let mut tx = services.db.begin_write().await?;
        let (status, reason) = match parsed {
            Err(error) => ("rejected", Some(error.to_string())),
            Ok(changes) => {
                let mut acted = false;
                for change in &changes {
                    let crm = &services.config.crm;
                    acted |= apply_deal_change(&mut tx, crm, &attributor, &route, change, received_at, now).await?;
                }
                if acted {
                    ("processed", None)
                } else {
                    ("ignored", Some("нет выигранных или отменённых сделок".to_owned()))
                }
            }
        };
        finish_crm_event(&mut tx, self.event_id, status, reason.as_deref(), now).await?;
        tx.commit().await?;
        Ok(Step::Done(()))
    }
}

/// Won deals whose delivery carries no UTM field get their fields from AmoCRM (before
/// the transaction: no network call while holding the write lock).
async fn with_deal_fields(services: &Services, mut changes: Vec<DealChange>) -> Result<Vec<DealChange>, JobFailure> {
    let Some(client) = services.amocrm.as_deref() else { return Ok(changes) };
    let crm = &services.config.crm;
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
    tx: &mut sqlx::AnyConnection,
    crm: &CrmConfig,
    attributor: &Attributor,
    route: &str,
    change: &DealChange,
    received_at: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
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
    let (utm_source, utm_medium, utm_campaign) = if deal_tags == (None, None, None) { lead_tags } else { deal_tags };
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
        let notify = NotifySale { sale_id }.queued(None, format!("sale-notify-{sale_id}"), now);
        enqueue_jobs(tx, &[notify], now).await?;
        tracing::info!(sale.id = sale_id, product, "sale recorded");
    }
    Ok(true)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pipeline_decides_the_product_and_the_route_stands_in() {
        let crm = CrmConfig::default();
        assert_eq!(product_of(&crm, Some(10_350_882), "/api/amocrm/sales-webhook"), ("express", 5_000));
        assert_eq!(product_of(&crm, Some(10_418_746), "/api/amocrm/sales-webhook"), ("flagship", 490_000));
        assert_eq!(product_of(&crm, Some(9_965_766), "/api/amocrm/funnel-sale"), ("other", 0));
        assert_eq!(product_of(&crm, None, "/webhook/amocrm/traffic"), ("flagship", 490_000));
    }
}
