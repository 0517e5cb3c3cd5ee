//! Pushing a lead to AmoCRM (SPEC §5): find the person's contact by phone, then email;
//! if they already have an open deal in the express pipeline, move it to the stage of
//! this submission instead of opening a second one; otherwise create the deal with the
//! contact embedded (or linked). UTM tags and fbclid go into the deal's custom fields.
//!
//! Every step looks before it writes, so a retry after a timeout — when AmoCRM may have
//! created the deal without our knowing — finds that contact and deal and only moves it.
//!
//! The sync goes the other way: recent deals of the express pipeline are matched to leads.

use std::collections::HashMap;

use super::notify::JobContext;
use serde::{Deserialize, Serialize};

use super::{Job, JobFailure, JobOutcome, PushLeadToCrm};
use crate::config::CrmConfig;
use crate::db::crm::{lead_for_crm, set_lead_crm, sync_candidates, sync_lead_crm, LeadForCrm, SyncCandidate};
use crate::error::AppError;
use crate::models::CrmSyncCounts;
use crate::providers::amocrm::{same_phone, AmoCrmClient, CrmContact, DealDraft};
use crate::providers::SendError;
use crate::time::now_ms;

/// Deal custom field ids of `utm_content`, `utm_term` and `fbclid` (SPEC §5).
const UTM_CONTENT_FIELD: i64 = 434_725;
const UTM_TERM_FIELD: i64 = 434_733;
const FBCLID_FIELD: i64 = 434_761;

impl JobContext {
    /// Runs a push job.
    pub async fn push_lead_to_crm(&self, job: PushLeadToCrm) -> Result<JobOutcome, JobFailure> {
        let Some(client) = self.amocrm.as_deref() else {
            return Err(JobFailure::Permanent { message: "AmoCRM is not configured".into() });
        };
        let mut conn = self.db.pool().acquire().await?;
        let lead = lead_for_crm(&mut conn, job.lead_id)
            .await?
            .ok_or_else(|| JobFailure::Permanent { message: format!("lead {} does not exist", job.lead_id) })?;
        drop(conn);
        if lead.crm_deal_id.is_some() {
            return Ok(JobOutcome::Done);
        }
        let crm = &self.crm_config;
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
        let (deal_id, contact_id) = match (open_deal, &contact) {
            (Some(deal), Some(contact)) => {
                if deal.status_id != status_id {
                    client.move_deal(deal.id, crm.express_pipeline_id, status_id).await?;
                }
                (deal.id, contact.id)
            }
            _ => client.create_deal(&draft(crm, &lead, status_id, contact.as_ref().map(|contact| contact.id))).await?,
        };
        let _permit = self.db.write_permit().await;
        let mut tx = self.db.pool().begin().await?;
        set_lead_crm(&mut tx, &lead, deal_id, contact_id, crm.express_pipeline_id, status_id, now_ms()).await?;
        tx.commit().await?;
        Ok(JobOutcome::Done)
    }
}

/// AmoCRM's "lost" status, shared by every pipeline.
const LOST_STATUS_ID: i64 = 143;

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

/// Sync with AmoCRM every `AMOCRM_SYNC_EVERY_SECS`. One such job exists (its key is fixed).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ScheduleCrmSync {}

impl Job for ScheduleCrmSync {
    const KIND: &'static str = "schedule_crm_sync";
}

/// Queues the periodic sync (once: its key is fixed).
pub async fn start_crm_sync_schedule(db: &crate::db::Db) -> Result<(), sqlx::Error> {
    let now = now_ms();
    let job = ScheduleCrmSync::default().to_new_job(None, "amocrm-sync-schedule".into(), now);
    let _permit = db.write_permit().await;
    let mut tx = db.pool().begin().await?;
    crate::db::job::enqueue_jobs(&mut tx, &[job], now).await?;
    tx.commit().await
}

impl JobContext {
    /// Runs the periodic sync and comes back after `AMOCRM_SYNC_EVERY_SECS`; a failed or
    /// overlapping sync is logged and tried at the next turn.
    pub async fn scheduled_crm_sync(&self) -> Result<JobOutcome, JobFailure> {
        if let Err(error) = sync_recent_deals(self).await {
            tracing::warn!(error = %error, "scheduled AmoCRM sync did not run");
        }
        Ok(JobOutcome::Again { after: self.crm_config.sync_every, payload: "{}".into() })
    }
}

/// Pulls the express pipeline's deals of the last 24 hours (up to 500) and matches them
/// to leads by deal id, then phone, then email, storing deal ids and stages.
///
/// Errors: `Validation` when AmoCRM is not configured, `Conflict` while another sync runs,
/// `Conflict` with AmoCRM's answer when a call fails.
pub async fn sync_recent_deals(context: &JobContext) -> Result<CrmSyncCounts, AppError> {
    let client = context.amocrm.as_deref().ok_or_else(|| AppError::validation("amocrm", "AmoCRM не настроен"))?;
    let Ok(_running) = context.crm_sync_running.try_lock() else {
        return Err(AppError::Conflict("синхронизация уже идёт".into()));
    };
    let crm = &context.crm_config;
    let since = now_ms() / 1_000 - 24 * 3_600;
    let failed = |error: SendError| AppError::Conflict(error.to_string());
    let deals = client.recent_deals(crm.express_pipeline_id, since, 500).await.map_err(failed)?;
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

    let mut conn = context.db.pool().acquire().await?;
    let candidates = sync_candidates(&mut conn, &deal_ids, &phones, &emails).await?;
    drop(conn);
    let mut counts = CrmSyncCounts { fetched: deals.len() as i64, ..CrmSyncCounts::default() };
    let mut taken = std::collections::HashSet::new();
    let now = now_ms();
    let _permit = context.db.write_permit().await;
    let mut tx = context.db.pool().begin().await?;
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
    tx.commit().await?;
    tracing::info!(
        fetched = counts.fetched,
        matched = counts.matched,
        updated = counts.updated,
        "AmoCRM sync finished"
    );
    Ok(counts)
}
