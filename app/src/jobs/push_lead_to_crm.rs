//! Push a lead to AmoCRM (`docs/product.md`, "AmoCRM"): find the person's contact — the one
//! their earlier lead was pushed to, else by phone, then email; if they already have an
//! open deal in the express pipeline, move it to the stage of this submission (only
//! forward) instead of opening a second one; otherwise create the deal with the contact
//! embedded (or linked). UTM tags and fbclid go into the deal's custom fields.
//!
//! Safe to repeat at any point. One push per person runs at a time (in this process, and
//! across PostgreSQL processes by an advisory lock), so two submissions of one person never
//! both create. A deal's name ends with our lead's id (`(лид 123)`): a run after an earlier
//! run that may have created the deal (a timeout, a crash) first lists the pipeline's deals
//! created since the lead came and takes that one — AmoCRM's search may not show a contact
//! created seconds ago, a list filtered by creation time does.

use serde::{Deserialize, Serialize};

use super::lanes;
use crate::config::CrmConfig;
use crate::db::crm::{known_crm_person, lead_for_crm, lock_person, set_lead_crm, LeadForCrm};
use crate::db::job::ClaimedJob;
use crate::db::Engine;
use crate::domain::integration::Integration;
use crate::providers::amocrm::{same_phone, AmoCrmClient, CrmContact, CrmDeal, DealDraft, DealTime};
use crate::providers::SendError;
use crate::queue::{Job, JobFailure, Lane, Step};
use crate::services::Services;
use crate::time::now_ms;

/// Create or update the lead's contact and deal in AmoCRM.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PushLeadToCrm {
    pub lead_id: i64,
}

/// Deal custom field ids of `utm_content`, `utm_term` and `fbclid` (`docs/product.md`).
const UTM_CONTENT_FIELD: i64 = 434_725;
const UTM_TERM_FIELD: i64 = 434_733;
const FBCLID_FIELD: i64 = 434_761;

/// The most recently created deals looked through for one an earlier run created.
const CREATED_DEALS_LOOKED_AT: usize = 500;

impl Job for PushLeadToCrm {
    type Context = Services;
    type Output = ();

    const KIND: &'static str = "push_lead_to_crm";
    const DESCRIPTION: &'static str = "AmoCRM";
    const LANE: Lane = lanes::AMOCRM;
    const INTEGRATION: Option<Integration> = Some(Integration::AmoCrm);

    /// Without AmoCRM credentials the pushes wait in the queue rather than fail.
    fn is_ready(services: &Services) -> bool {
        services.amocrm.is_some()
    }

    async fn run(self, job: &ClaimedJob, services: &Services) -> Result<Step<Self>, JobFailure> {
        let Some(client) = services.amocrm.as_deref() else {
            return Err(JobFailure::permanent("AmoCRM is not configured"));
        };
        let lead = read_lead(services, self.lead_id).await?;
        if lead.crm_deal_id.is_some() {
            return Ok(Step::Done(()));
        }
        let person: String = lead.phone_e164.chars().filter(char::is_ascii_digit).collect();
        let _turn = services.crm_people.lock(&person).await;
        let _across_processes = match services.db.engine() {
            Engine::Postgres => {
                let mut tx = services.db.pool().begin().await?;
                lock_person(&mut tx, &person).await?;
                Some(tx)
            }
            Engine::Sqlite => None,
        };
        // Another push of this person may have recorded something while we waited.
        let lead = read_lead(services, self.lead_id).await?;
        if lead.crm_deal_id.is_some() {
            return Ok(Step::Done(()));
        }
        let crm = &services.config.crm;
        if job.runs > 1 {
            if let Some((deal, contact_id)) = deal_created_before(client, crm, &lead).await? {
                tracing::info!(lead.id = lead.lead_id, "an earlier run had created the deal; recording it");
                return record(services, &lead, deal.id, contact_id, deal.status_id).await;
            }
        }
        let status_id = stage_of(crm, &lead);
        let (contact_id, open_deal) = find_person(services, client, &lead).await?;
        let (deal_id, contact_id, status_id) = match (open_deal, contact_id) {
            (Some(deal), Some(contact_id)) if moves_forward(&crm.express_stages, deal.status_id, status_id) => {
                client.move_deal(deal.id, crm.express_pipeline_id, status_id).await?;
                (deal.id, contact_id, status_id)
            }
            // Already there or further along: a repeat submission never moves a deal back.
            (Some(deal), Some(contact_id)) => (deal.id, contact_id, deal.status_id),
            (_, contact_id) => {
                let (deal_id, contact_id) = client.create_deal(&draft(crm, &lead, status_id, contact_id)).await?;
                (deal_id, contact_id, status_id)
            }
        };
        record(services, &lead, deal_id, contact_id, status_id).await
    }
}

async fn read_lead(services: &Services, lead_id: i64) -> Result<LeadForCrm, JobFailure> {
    let mut conn = services.db.pool().acquire().await?;
    lead_for_crm(&mut conn, lead_id)
        .await?
        .ok_or_else(|| JobFailure::permanent(format!("lead {lead_id} does not exist")))
}

/// Stores the deal and contact on the lead.
async fn record(
    services: &Services,
    lead: &LeadForCrm,
    deal_id: i64,
    contact_id: i64,
    status_id: i64,
) -> Result<Step<PushLeadToCrm>, JobFailure> {
    let pipeline_id = services.config.crm.express_pipeline_id;
    let mut tx = services.db.begin_write().await?;
    set_lead_crm(&mut tx, lead, deal_id, contact_id, pipeline_id, status_id, now_ms()).await?;
    tx.commit().await?;
    Ok(Step::Done(()))
}

/// The name our deal for `lead` ends with.
fn deal_marker(lead_id: i64) -> String {
    format!("(лид {lead_id})")
}

/// The deal (and its contact) that an earlier run created for `lead` without recording it:
/// the express pipeline's deals created since the lead came, by the marker in the name.
async fn deal_created_before(
    client: &AmoCrmClient,
    crm: &CrmConfig,
    lead: &LeadForCrm,
) -> Result<Option<(CrmDeal, i64)>, SendError> {
    // A minute's margin for clocks that disagree.
    let since = lead.created_at / 1_000 - 60;
    let marker = deal_marker(lead.lead_id);
    let deals = client.deals_since(crm.express_pipeline_id, DealTime::Created, since, CREATED_DEALS_LOOKED_AT).await?;
    Ok(deals
        .into_iter()
        .find(|listed| listed.name.ends_with(&marker))
        .and_then(|listed| listed.contact_ids.first().map(|contact_id| (listed.deal, *contact_id))))
}

/// The person's contact and their open deal in the express pipeline, if any: first the
/// contact and deal their last pushed lead got (no search needed, and AmoCRM's search may
/// not show a contact created seconds ago), else a search by phone, then email.
async fn find_person(
    services: &Services,
    client: &AmoCrmClient,
    lead: &LeadForCrm,
) -> Result<(Option<i64>, Option<CrmDeal>), JobFailure> {
    let crm = &services.config.crm;
    let is_open = |deal: &CrmDeal| {
        deal.pipeline_id == crm.express_pipeline_id
            && deal.status_id != crm.won_status_id
            && deal.status_id != LOST_STATUS_ID
    };
    let known = {
        let mut conn = services.db.pool().acquire().await?;
        known_crm_person(&mut conn, &lead.phone_e164, lead.lead_id).await?
    };
    if let Some((contact_id, deal_id)) = known {
        if let Some(deal) = client.deal(deal_id).await?.filter(is_open) {
            return Ok((Some(contact_id), Some(deal)));
        }
    }
    let Some(contact) = find_contact(client, lead).await? else {
        return Ok((known.map(|(contact_id, _)| contact_id), None));
    };
    for deal_id in &contact.deal_ids {
        if let Some(deal) = client.deal(*deal_id).await?.filter(is_open) {
            return Ok((Some(contact.id), Some(deal)));
        }
    }
    Ok((Some(contact.id), None))
}

/// AmoCRM's "lost" status, shared by every pipeline.
const LOST_STATUS_ID: i64 = 143;

/// Whether an open deal on stage `from` moves to `to`: only to a later stage of `order`.
/// A stage missing from the order (one added in AmoCRM since) is left where it is.
fn moves_forward(order: &[i64], from: i64, to: i64) -> bool {
    let position = |stage: i64| order.iter().position(|listed| *listed == stage);
    matches!((position(from), position(to)), (Some(from), Some(to)) if to > from)
}

/// The stage of a submission: quiz, or checkout by payment method.
fn stage_of(crm: &CrmConfig, lead: &LeadForCrm) -> i64 {
    if lead.kind != "express" {
        return crm.quiz_status_id;
    }
    let method = lead.payment_method.as_deref().unwrap_or("").to_lowercase();
    crm.payment_stages.iter().find(|(name, _)| *name == method).map_or(crm.checkout_status_id, |(_, stage)| *stage)
}

/// The person's contact found by AmoCRM's search: by phone, else by email.
async fn find_contact(client: &AmoCrmClient, lead: &LeadForCrm) -> Result<Option<CrmContact>, SendError> {
    let digits: String = lead.phone_e164.chars().filter(char::is_ascii_digit).collect();
    let by_phone = client.find_contacts(&digits).await?;
    if let Some(contact) =
        by_phone.into_iter().find(|contact| contact.phones.iter().any(|phone| same_phone(phone, &digits)))
    {
        return Ok(Some(contact));
    }
    let email = lead.email.to_lowercase();
    let by_email = client.find_contacts(&email).await?;
    Ok(by_email.into_iter().find(|contact| contact.emails.contains(&email)))
}

fn draft(crm: &CrmConfig, lead: &LeadForCrm, status_id: i64, contact_id: Option<i64>) -> DealDraft {
    let tags = [
        (crm.utm_source_field, &lead.utm_source),
        (crm.utm_medium_field, &lead.utm_medium),
        (crm.utm_campaign_field, &lead.utm_campaign),
        (UTM_CONTENT_FIELD, &lead.utm_content),
        (UTM_TERM_FIELD, &lead.utm_term),
        (FBCLID_FIELD, &lead.fbclid),
    ];
    let what = if lead.kind == "express" { "Express-курс" } else { "ProfTest" };
    DealDraft {
        name: format!("{what}: {} {}", lead.name, deal_marker(lead.lead_id)),
        pipeline_id: crm.express_pipeline_id,
        status_id,
        price: crm.express_price,
        fields: tags.into_iter().filter_map(|(id, value)| value.clone().map(|value| (id, value))).collect(),
        contact_id,
        contact_name: lead.name.clone(),
        phone: lead.phone_e164.clone(),
        email: lead.email.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::moves_forward;

    const ORDER: [i64; 4] = [10, 20, 30, 40];

    #[test]
    fn a_deal_moves_only_to_a_later_stage_of_the_order() {
        assert!(moves_forward(&ORDER, 10, 30));
        assert!(!moves_forward(&ORDER, 30, 20), "never back");
        assert!(!moves_forward(&ORDER, 30, 30), "not onto itself");
        assert!(!moves_forward(&ORDER, 99, 20), "a stage outside the order stays put");
        assert!(!moves_forward(&ORDER, 20, 99), "nor goes to a stage outside it");
    }
}
