//! The sync with AmoCRM, on demand (the button on `/target`, the JSON route, the first
//! visit of a session) and on schedule: recent deals of the express pipeline are matched to
//! leads by deal id, then phone, then email, and their states applied like a webhook's
//! (a won deal whose webhook never came is recorded as a sale on the day it was won), and
//! our leads of the same days that AmoCRM has no deal for are counted. One sync runs at a
//! time.

use std::collections::HashMap;

use super::crm_deals::{apply_deal_state, recorded_sales, Applied, DealState};
use super::Services;
use crate::db::crm::{sync_candidates, sync_lead_crm, SyncCandidate};
use crate::db::lead::lead_stats;
use crate::db::team::attribution_rules;
use crate::domain::attribution::Attributor;
use crate::domain::lead_filter::{CrmLink, LeadFilter};
use crate::error::AppError;
use crate::models::CrmSyncCounts;
use crate::providers::amocrm::{same_phone, CrmContact, CrmDeal, DealTime};
use crate::providers::SendError;
use crate::time::{almaty_date, day_number, now_ms};

/// Pulls the express pipeline's deals of the last 24 hours (up to 500) and matches them
/// to leads by deal id, then phone, then email, storing deal ids and stages.
///
/// Errors: `Validation` when AmoCRM is not configured, `Conflict` while another sync runs,
/// `Conflict` with AmoCRM's answer when a call fails.
pub async fn sync_recent_deals(services: &Services) -> Result<CrmSyncCounts, AppError> {
    let client = services.amocrm.as_deref().ok_or_else(|| AppError::validation("amocrm", "AmoCRM не настроен"))?;
    let Ok(_running) = services.crm_sync_running.try_lock() else {
        return Err(AppError::Conflict("синхронизация уже идёт".into()));
    };
    let crm = &services.config.crm;
    let to_meta = services.config.conversions.enabled();
    let since = now_ms() / 1_000 - 24 * 3_600;
    let failed = |error: SendError| AppError::Conflict(error.to_string());
    let listed = client.deals_since(crm.express_pipeline_id, DealTime::Updated, since, 500).await.map_err(failed)?;
    let deals: Vec<(CrmDeal, Vec<i64>)> =
        listed.iter().map(|listed| (listed.deal, listed.contact_ids.clone())).collect();
    let mut contact_ids: Vec<i64> = deals.iter().flat_map(|(_, contacts)| contacts.iter().copied()).collect();
    contact_ids.sort_unstable();
    contact_ids.dedup();
    let contacts: HashMap<i64, CrmContact> = client
        .contacts_by_id(&contact_ids)
        .await
        .map_err(failed)?
        .into_iter()
        .map(|contact| (contact.id, contact))
        .collect();
    let phone_of = |digits: &str| (digits.len() >= 10).then(|| format!("+7{}", &digits[digits.len() - 10..]));
    let deal_ids: Vec<i64> = deals.iter().map(|(deal, _)| deal.id).collect();
    let phones: Vec<String> =
        contacts.values().flat_map(|contact| contact.phones.iter().filter_map(|p| phone_of(p))).collect();
    let emails: Vec<String> = contacts.values().flat_map(|contact| contact.emails.iter().cloned()).collect();

    let mut conn = services.db.pool().acquire().await?;
    let candidates = sync_candidates(&mut conn, &deal_ids, &phones, &emails).await?;
    let attributor = Attributor::new(&attribution_rules(&mut conn).await?);
    drop(conn);
    let mut counts = CrmSyncCounts { fetched: deals.len() as i64, ..CrmSyncCounts::default() };
    let mut taken = std::collections::HashSet::new();
    let now = now_ms();
    let mut tx = services.db.begin_write().await?;
    for (deal, contact_ids) in &deals {
        let people: Vec<&CrmContact> = contact_ids.iter().filter_map(|id| contacts.get(id)).collect();
        let free =
            |lead: &&SyncCandidate| !taken.contains(&lead.lead_id) && lead.crm_deal_id.is_none_or(|id| id == deal.id);
        let matched = candidates
            .iter()
            .find(|lead| lead.crm_deal_id == Some(deal.id))
            .or_else(|| {
                candidates.iter().filter(free).find(|lead| {
                    people.iter().any(|person| person.phones.iter().any(|phone| same_phone(phone, &lead.phone_e164)))
                })
            })
            .or_else(|| {
                candidates
                    .iter()
                    .filter(free)
                    .find(|lead| people.iter().any(|person| person.emails.contains(&lead.email.to_lowercase())))
            });
        let Some(lead) = matched else {
            counts.not_found += 1;
            continue;
        };
        taken.insert(lead.lead_id);
        counts.matched += 1;
        if sync_lead_crm(&mut tx, lead, deal.id, deal.pipeline_id, deal.status_id, now).await? {
            counts.updated += 1;
        }
    }
    // After the matching: a won deal's sale takes its lead's tags when the deal has none.
    let mut applied = Vec::with_capacity(listed.len());
    for listed in &listed {
        let state = DealState {
            deal_id: listed.deal.id,
            pipeline_id: Some(listed.deal.pipeline_id),
            status_id: listed.deal.status_id,
            changed_at: listed.deal.updated_at.unwrap_or(now / 1_000),
            won_at: listed.deal.closed_at,
            price: listed.deal.price,
            name: Some(listed.name.clone()),
            fields: listed.fields.clone(),
        };
        applied.push(apply_deal_state(&mut tx, crm, &attributor, None, &state, to_meta, now).await?);
    }
    let sales = recorded_sales(&applied);
    counts.sales_recorded = applied.iter().filter(|applied| matches!(applied, Applied::Recorded { .. })).count() as i64;
    tx.commit().await?;
    sales.publish(services.db.live());
    if counts.sales_recorded > 0 {
        services.waker.wake();
    }
    // The other direction: our leads of the window's days that AmoCRM has no deal for.
    let since_day = almaty_date(since * 1_000);
    let unlinked =
        LeadFilter { from_day: Some(day_number(since_day)), crm: Some(CrmLink::Unlinked), ..LeadFilter::default() };
    counts.missing_in_crm = lead_stats(&services.db, &unlinked).await?.total;
    counts.missing_since = since_day.format("%Y-%m-%d").to_string();
    tracing::info!(
        fetched = counts.fetched,
        matched = counts.matched,
        updated = counts.updated,
        sales = counts.sales_recorded,
        missing_in_crm = counts.missing_in_crm,
        "AmoCRM sync finished"
    );
    Ok(counts)
}
