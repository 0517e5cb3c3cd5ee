//! What AmoCRM says about a deal — a webhook delivery or a sync — applied in AmoCRM's own
//! order: each deal's newest state by its modification time wins, and an older one
//! arriving late changes nothing (a "won" delivered after the later "left won" revives no
//! sale). A won deal has one sale per product, recorded on the day it was won (the time of
//! the status change, else the deal's `closed_at`), not the day we heard; any other state
//! cancels the deal's sales.

use std::collections::BTreeMap;

use sqlx::AnyConnection;

use crate::config::CrmConfig;
use crate::db::job::enqueue_jobs;
use crate::db::meta_event::insert_meta_events;
use crate::db::sale::{
    advance_deal_state, cancel_deal_sales, cancel_other_products, lead_of_deal, record_won_sale, NewSale,
};
use crate::domain::attribution::{Attributor, UtmTags};
use crate::jobs::{NotifySale, SendConversion};
use crate::live::{Change, LiveChanges};
use crate::queue::Registered;
use crate::time::almaty_day;

/// A deal's state as AmoCRM reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealState {
    pub deal_id: i64,
    pub pipeline_id: Option<i64>,
    pub status_id: i64,
    /// AmoCRM's modification time of this state, unix seconds.
    pub changed_at: i64,
    /// When the deal was won, unix seconds, when known.
    pub won_at: Option<i64>,
    /// Whole tenge; 0 or absent when the deal has no price.
    pub price: Option<i64>,
    pub name: Option<String>,
    /// Custom field id → its first value (UTM tags).
    pub fields: BTreeMap<i64, String>,
}

/// What applying a state did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// A newer state of the deal was applied before: nothing changed.
    Stale,
    /// Neither won nor with sales to cancel.
    Nothing,
    /// A new sale of `team_id`, its announcement queued.
    Recorded { sale_id: i64, team_id: Option<i64> },
    /// Won, its sale already recorded (or recorded again after a cancellation).
    AlreadyWon,
    /// Left the won stage: this many sales were cancelled.
    Cancelled(u64),
}

/// Applies `state` in the caller's transaction unless a newer state of the deal was
/// applied; `route` (the webhook path) names the product when the pipeline is missing. A
/// new express or flagship sale is announced in Telegram and, when `to_meta`, sent to
/// Meta as a `Purchase`.
pub async fn apply_deal_state(
    tx: &mut AnyConnection,
    crm: &CrmConfig,
    attributor: &Attributor,
    route: Option<&str>,
    state: &DealState,
    to_meta: bool,
    now: i64,
) -> Result<Applied, sqlx::Error> {
    let deal_id = state.deal_id;
    if !advance_deal_state(tx, deal_id, state.pipeline_id, state.status_id, state.changed_at, now).await? {
        return Ok(Applied::Stale);
    }
    if state.status_id != crm.won_status_id {
        let cancelled = cancel_deal_sales(tx, deal_id, now).await?;
        return Ok(if cancelled > 0 { Applied::Cancelled(cancelled) } else { Applied::Nothing });
    }
    let (product, list_price) = product_of(crm, state.pipeline_id, route);
    cancel_other_products(tx, deal_id, product, now).await?;
    let field = |id: i64| state.fields.get(&id).cloned();
    let lead = lead_of_deal(tx, deal_id).await?;
    let lead_tags = lead.as_ref().map_or((None, None, None), |lead| {
        (lead.utm_source.clone(), lead.utm_medium.clone(), lead.utm_campaign.clone())
    });
    // The deal's own tags; a deal without them keeps those of the lead it came from.
    let deal_tags = (field(crm.utm_source_field), field(crm.utm_medium_field), field(crm.utm_campaign_field));
    let (utm_source, utm_medium, utm_campaign) = if deal_tags == (None, None, None) { lead_tags } else { deal_tags };
    let attribution = attributor.attribute(UtmTags {
        source: utm_source.as_deref(),
        medium: utm_medium.as_deref(),
        campaign: utm_campaign.as_deref(),
        // The quiz page the lead came through, read after the deal's tags.
        slug: lead.as_ref().and_then(|lead| lead.campaign_slug.as_deref()),
    });
    let sold_at = state.won_at.unwrap_or(state.changed_at) * 1_000;
    let sale = NewSale {
        crm_deal_id: deal_id,
        product,
        amount: state.price.filter(|price| *price > 0).unwrap_or(list_price),
        sold_at,
        sold_day: almaty_day(sold_at),
        lead_id: lead.as_ref().map(|lead| lead.lead_id),
        contact_name: lead.map(|lead| lead.name).or_else(|| state.name.clone()),
        utm_source,
        utm_medium,
        utm_campaign,
        attribution,
    };
    let Some(sale_id) = record_won_sale(tx, &sale, now).await? else { return Ok(Applied::AlreadyWon) };
    let mut jobs = vec![NotifySale { sale_id }.queued(None, format!("sale-notify-{sale_id}"), now)];
    if to_meta && matches!(product, "express" | "flagship") {
        let (job, event) = SendConversion::for_sale(sale_id, sale.lead_id, sold_at, now);
        jobs.push(job);
        insert_meta_events(tx, &[event], now).await?;
    }
    enqueue_jobs(tx, &jobs, now).await?;
    tracing::info!(sale.id = sale_id, product, "sale recorded");
    Ok(Applied::Recorded { sale_id, team_id: sale.attribution.team_id })
}

/// The new sales among `applied`, for the live dashboards.
pub fn recorded_sales(applied: &[Applied]) -> LiveChanges {
    let mut changes = LiveChanges::default();
    for applied in applied {
        if let Applied::Recorded { sale_id, team_id } = *applied {
            changes.push(Change::Sale { sale_id, team_id });
        }
    }
    changes
}

/// The product and list price of a won deal: by pipeline, else by the route it came to.
pub fn product_of(crm: &CrmConfig, pipeline_id: Option<i64>, route: Option<&str>) -> (&'static str, i64) {
    match (pipeline_id, route) {
        (Some(id), _) if id == crm.express_pipeline_id => ("express", crm.express_price),
        (Some(id), _) if id == crm.flagship_pipeline_id => ("flagship", crm.flagship_price),
        (Some(_), _) => ("other", 0),
        (None, Some(route)) if route.ends_with("funnel-sale") => ("express", crm.express_price),
        (None, Some(route)) if route.ends_with("traffic") => ("flagship", crm.flagship_price),
        (None, _) => ("other", 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pipeline_decides_the_product_and_the_route_stands_in() {
        let crm = CrmConfig::default();
        assert_eq!(product_of(&crm, Some(10_350_882), Some("/api/amocrm/sales-webhook")), ("express", 5_000));
        assert_eq!(product_of(&crm, Some(10_418_746), Some("/api/amocrm/sales-webhook")), ("flagship", 490_000));
        assert_eq!(product_of(&crm, Some(9_965_766), Some("/api/amocrm/funnel-sale")), ("other", 0));
        assert_eq!(product_of(&crm, None, Some("/webhook/amocrm/traffic")), ("flagship", 490_000));
        assert_eq!(product_of(&crm, None, None), ("other", 0));
    }
}
