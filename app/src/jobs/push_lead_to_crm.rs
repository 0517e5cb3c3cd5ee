//! Push a lead to AmoCRM (`docs/product.md`, "AmoCRM"): find the person's contact by phone, then email;
//! if they already have an open deal in the express pipeline, move it to the stage of
//! this submission instead of opening a second one; otherwise create the deal with the
//! contact embedded (or linked). UTM tags and fbclid go into the deal's custom fields.
//!
//! Every step looks before it writes, so a retry after a timeout — when AmoCRM may have
//! created the deal without our knowing — finds that contact and deal and only moves it.

use serde::{Deserialize, Serialize};

use super::lanes;
use crate::config::CrmConfig;
use crate::db::crm::{lead_for_crm, set_lead_crm, LeadForCrm};
use crate::db::job::ClaimedJob;
use crate::domain::integration::Integration;
use crate::providers::amocrm::{same_phone, AmoCrmClient, CrmContact, DealDraft};
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

    async fn run(self, _job: &ClaimedJob, services: &Services) -> Result<Step<Self>, JobFailure> {
        let Some(client) = services.amocrm.as_deref() else {
            return Err(JobFailure::permanent("AmoCRM is not configured"));
        };
        let mut conn = services.db.pool().acquire().await?;
        let lead = lead_for_crm(&mut conn, self.lead_id)
            .await?
            .ok_or_else(|| JobFailure::permanent(format!("lead {} does not exist", self.lead_id)))?;
        drop(conn);
        if lead.crm_deal_id.is_some() {
            return Ok(Step::Done(()));
        }
        let crm = &services.config.crm;
        let status_id = stage_of(crm, &lead);
        let contact = find_contact(client, &lead).await?;
        let mut open_deal = None;
        if let Some(contact) = &contact {
            for deal_id in &contact.deal_ids {
                if let Some(deal) = client.deal(*deal_id).await? {
                    let closed = deal.status_id == crm.won_status_id || deal.status_id == LOST_STATUS_ID;
                    if deal.pipeline_id == crm.express_pipeline_id && !closed {
                        open_deal = Some(deal);
                        break;
                    }
                }
            }
        }
        let (deal_id, contact_id, status_id) = match (open_deal, &contact) {
            (Some(deal), Some(contact)) if moves_forward(&crm.express_stages, deal.status_id, status_id) => {
                client.move_deal(deal.id, crm.express_pipeline_id, status_id).await?;
                (deal.id, contact.id, status_id)
            }
            // Already there or further along: a repeat submission never moves a deal back.
            (Some(deal), Some(contact)) => (deal.id, contact.id, deal.status_id),
            _ => {
                let contact_id = contact.as_ref().map(|contact| contact.id);
                let (deal_id, contact_id) = client.create_deal(&draft(crm, &lead, status_id, contact_id)).await?;
                (deal_id, contact_id, status_id)
            }
        };
        let mut tx = services.db.begin_write().await?;
        set_lead_crm(&mut tx, &lead, deal_id, contact_id, crm.express_pipeline_id, status_id, now_ms()).await?;
        tx.commit().await?;
        Ok(Step::Done(()))
    }
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

/// The person's contact: by phone, else by email.
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
        name: format!("{what}: {}", lead.name),
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
