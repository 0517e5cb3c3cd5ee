//! A lead's side in AmoCRM: what the push needs, and the ids it stores.

use std::collections::BTreeMap;

use sqlx::{AnyConnection, FromRow};

use super::lead::{bump_lead_stats, StatKey};
use crate::models::LeadStats;

/// A lead as the CRM push needs it.
#[derive(Debug, Clone, FromRow)]
pub struct LeadForCrm {
    pub lead_id: i64,
    /// UTC milliseconds.
    pub created_at: i64,
    pub created_day: i64,
    pub source: String,
    pub kind: String,
    pub name: String,
    pub email: String,
    pub phone_e164: String,
    pub payment_method: Option<String>,
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
    pub utm_content: Option<String>,
    pub utm_term: Option<String>,
    pub fbclid: Option<String>,
    pub crm_deal_id: Option<i64>,
}

/// The lead, if it exists.
pub async fn lead_for_crm(conn: &mut AnyConnection, lead_id: i64) -> Result<Option<LeadForCrm>, sqlx::Error> {
    sqlx::query_as(
        "SELECT lead_id, created_at, created_day, source, kind, name, email, phone_e164, payment_method, utm_source, \
         utm_medium, utm_campaign, utm_content, utm_term, fbclid, crm_deal_id FROM lead WHERE lead_id = $1",
    )
    .bind(lead_id)
    .fetch_optional(conn)
    .await
}

/// The AmoCRM contact and deal of the person's newest other lead that was pushed:
/// `(contact id, deal id)`.
pub async fn known_crm_person(
    conn: &mut AnyConnection,
    phone_e164: &str,
    except_lead_id: i64,
) -> Result<Option<(i64, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT crm_contact_id, crm_deal_id FROM lead WHERE phone_e164 = $1 AND lead_id <> $2 \
         AND crm_contact_id IS NOT NULL AND crm_deal_id IS NOT NULL ORDER BY lead_id DESC LIMIT 1",
    )
    .bind(phone_e164)
    .bind(except_lead_id)
    .fetch_optional(conn)
    .await
}

/// Makes the caller's PostgreSQL transaction the only one pushing this person (by phone
/// digits) until it ends: pushes in other processes wait.
pub async fn lock_person(conn: &mut AnyConnection, person: &str) -> Result<(), sqlx::Error> {
    // FNV-1a, stable across processes and builds (std's hasher is seeded per process).
    let hash = person.bytes().fold(0x811c_9dc5_u32, |hash, byte| (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193));
    sqlx::query("SELECT pg_advisory_xact_lock(7202, $1)")
        .bind(i32::from_ne_bytes(hash.to_ne_bytes()))
        .execute(conn)
        .await
        .map(drop)
}

/// Stores the deal and contact of a lead; the «В AmoCRM» counter counts it the first time.
pub async fn set_lead_crm(
    conn: &mut AnyConnection,
    lead: &LeadForCrm,
    deal_id: i64,
    contact_id: i64,
    pipeline_id: i64,
    status_id: i64,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    let first: Option<i64> = sqlx::query_scalar(
        "UPDATE lead SET crm_deal_id = $1, crm_contact_id = $2, crm_pipeline_id = $3, crm_status_id = $4, \
         crm_synced_at = $5, updated_at = $5 WHERE lead_id = $6 AND crm_deal_id IS NULL RETURNING lead_id",
    )
    .bind(deal_id)
    .bind(contact_id)
    .bind(pipeline_id)
    .bind(status_id)
    .bind(now_ms)
    .bind(lead.lead_id)
    .fetch_optional(&mut *conn)
    .await?;
    if first.is_some() {
        let mut deltas = BTreeMap::new();
        deltas.insert(
            StatKey::of(lead.lead_id, lead.created_day, &lead.source),
            LeadStats { in_crm: 1, ..LeadStats::default() },
        );
        bump_lead_stats(conn, &deltas).await?;
    }
    Ok(())
}

/// A lead the sync may match: `(lead_id, created_day, source, phone, email, deal id, status)`.
#[derive(Debug, Clone, FromRow)]
pub struct SyncCandidate {
    pub lead_id: i64,
    pub created_day: i64,
    pub source: String,
    pub phone_e164: String,
    pub email: String,
    pub crm_deal_id: Option<i64>,
    pub crm_status_id: Option<i64>,
}

/// Leads with one of `deal_ids`, or with one of the phones or emails, newest first.
pub async fn sync_candidates(
    conn: &mut AnyConnection,
    deal_ids: &[i64],
    phones: &[String],
    emails: &[String],
) -> Result<Vec<SyncCandidate>, sqlx::Error> {
    const COLUMNS: &str = "lead_id, created_day, source, phone_e164, email, crm_deal_id, crm_status_id";
    let placeholders = |count: usize| (1..=count).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ");
    let mut found = Vec::new();
    for chunk in deal_ids.chunks(500) {
        let sql = format!("SELECT {COLUMNS} FROM lead WHERE crm_deal_id IN ({})", placeholders(chunk.len()));
        let query = chunk.iter().fold(sqlx::query_as::<_, SyncCandidate>(&sql), |query, id| query.bind(*id));
        found.extend(query.fetch_all(&mut *conn).await?);
    }
    for (column, values) in [("phone_e164", phones), ("email", emails)] {
        for chunk in values.chunks(500) {
            let sql = format!(
                "SELECT {COLUMNS} FROM lead WHERE {column} IN ({}) ORDER BY lead_id DESC",
                placeholders(chunk.len())
            );
            let query =
                chunk.iter().fold(sqlx::query_as::<_, SyncCandidate>(&sql), |query, value| query.bind(value.as_str()));
            found.extend(query.fetch_all(&mut *conn).await?);
        }
    }
    Ok(found)
}

/// Stores what the sync learned about a lead's deal; true when something changed.
pub async fn sync_lead_crm(
    conn: &mut AnyConnection,
    lead: &SyncCandidate,
    deal_id: i64,
    pipeline_id: i64,
    status_id: i64,
    now_ms: i64,
) -> Result<bool, sqlx::Error> {
    if lead.crm_deal_id == Some(deal_id) && lead.crm_status_id == Some(status_id) {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE lead SET crm_deal_id = $1, crm_pipeline_id = $2, crm_status_id = $3, crm_synced_at = $4, updated_at = $4 \
         WHERE lead_id = $5",
    )
    .bind(deal_id)
    .bind(pipeline_id)
    .bind(status_id)
    .bind(now_ms)
    .bind(lead.lead_id)
    .execute(&mut *conn)
    .await?;
    if lead.crm_deal_id.is_none() {
        let mut deltas = BTreeMap::new();
        deltas.insert(
            StatKey::of(lead.lead_id, lead.created_day, &lead.source),
            LeadStats { in_crm: 1, ..LeadStats::default() },
        );
        bump_lead_stats(conn, &deltas).await?;
    }
    Ok(true)
}
