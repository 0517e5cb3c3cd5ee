//! Events for Meta's Conversions API: the row each `Lead` and `Purchase` is tracked by, the
//! browser a lead came from, and the person data an event carries.

use sqlx::{AnyConnection, FromRow};

use super::values_placeholders;
use crate::domain::conversions::{Person, META_WINDOW_MS};

/// An event to be sent, recorded with the change that causes it.
#[derive(Debug, Clone)]
pub struct NewMetaEvent {
    /// `lead-17`, `sale-5`.
    pub event_id: String,
    /// `Lead` or `Purchase`.
    pub event_name: &'static str,
    pub lead_id: Option<i64>,
    pub sale_id: Option<i64>,
    /// When it happened, UTC milliseconds.
    pub event_time: i64,
}

/// Rows per insert statement (the intake writes up to 256 leads a batch).
const ROWS_PER_STATEMENT: usize = 64;

/// Records `events` as pending; an event recorded before is left as it is.
pub async fn insert_meta_events(
    conn: &mut AnyConnection,
    events: &[NewMetaEvent],
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    for chunk in events.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO meta_event (event_id, event_name, lead_id, sale_id, event_time, status, created_at, updated_at) \
             VALUES {} ON CONFLICT (event_id) DO NOTHING",
            // `updated_at` repeats `created_at`.
            values_placeholders(chunk.len(), 8, |column| (column == 7).then_some(6))
        );
        let mut query = sqlx::query(&sql);
        for event in chunk {
            query = query
                .bind(&event.event_id)
                .bind(event.event_name)
                .bind(event.lead_id)
                .bind(event.sale_id)
                .bind(event.event_time)
                .bind("pending")
                .bind(now_ms);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The browser a lead was sent from, as far as known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeadClient<'a> {
    pub lead_id: i64,
    pub client_ip: Option<&'a str>,
    pub client_user_agent: Option<&'a str>,
    pub page_url: Option<&'a str>,
}

/// Stores the browsers of new leads (those with anything known).
pub async fn insert_lead_clients(conn: &mut AnyConnection, clients: &[LeadClient<'_>]) -> Result<(), sqlx::Error> {
    let known: Vec<&LeadClient<'_>> = clients
        .iter()
        .filter(|client| client.client_ip.is_some() || client.client_user_agent.is_some() || client.page_url.is_some())
        .collect();
    for chunk in known.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO lead_client (lead_id, client_ip, client_user_agent, page_url) VALUES {} \
             ON CONFLICT (lead_id) DO NOTHING",
            values_placeholders(chunk.len(), 4, |_| None)
        );
        let mut query = sqlx::query(&sql);
        for client in chunk {
            query =
                query.bind(client.lead_id).bind(client.client_ip).bind(client.client_user_agent).bind(client.page_url);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

#[derive(FromRow)]
struct PersonRow {
    lead_id: i64,
    created_at: i64,
    email: String,
    phone_e164: String,
    fbclid: Option<String>,
    client_ip: Option<String>,
    client_user_agent: Option<String>,
    page_url: Option<String>,
}

impl From<PersonRow> for (i64, Person) {
    fn from(row: PersonRow) -> Self {
        let person = Person {
            email: Some(row.email),
            phone: Some(row.phone_e164),
            fbclid: row.fbclid,
            seen_at_ms: row.created_at,
            client_ip: row.client_ip,
            client_user_agent: row.client_user_agent,
            page_url: row.page_url,
        };
        (row.lead_id, person)
    }
}

const PERSON_COLUMNS: &str = "lead.lead_id, lead.created_at, lead.email, lead.phone_e164, lead.fbclid, \
     lead_client.client_ip, lead_client.client_user_agent, lead_client.page_url";

/// The lead's person data (its arrival time is `seen_at_ms`).
pub async fn lead_person(conn: &mut AnyConnection, lead_id: i64) -> Result<Option<Person>, sqlx::Error> {
    let sql = format!(
        "SELECT {PERSON_COLUMNS} FROM lead LEFT JOIN lead_client ON lead_client.lead_id = lead.lead_id \
         WHERE lead.lead_id = $1"
    );
    let row: Option<PersonRow> = sqlx::query_as(&sql).bind(lead_id).fetch_optional(conn).await?;
    Ok(row.map(|row| <(i64, Person)>::from(row).1))
}

/// The lead a purchase by the person of `lead_id` is credited to: the person's (same phone
/// or email) earliest lead with a Facebook click in the 7 days before `sold_at`, else their
/// newest lead by then, else `lead_id` itself.
pub async fn purchase_person(
    conn: &mut AnyConnection,
    lead_id: i64,
    sold_at: i64,
) -> Result<Option<(i64, Person)>, sqlx::Error> {
    let same_person = "FROM lead JOIN lead AS own ON own.lead_id = $1 \
         AND (lead.phone_e164 = own.phone_e164 OR lead.email = own.email) \
         LEFT JOIN lead_client ON lead_client.lead_id = lead.lead_id";
    let clicked = format!(
        "SELECT {PERSON_COLUMNS} {same_person} WHERE lead.fbclid IS NOT NULL AND lead.created_at BETWEEN $2 AND $3 \
         ORDER BY lead.created_at, lead.lead_id LIMIT 1"
    );
    let row: Option<PersonRow> = sqlx::query_as(&clicked)
        .bind(lead_id)
        .bind(sold_at - META_WINDOW_MS)
        .bind(sold_at)
        .fetch_optional(&mut *conn)
        .await?;
    if let Some(row) = row {
        return Ok(Some(row.into()));
    }
    let newest = format!(
        "SELECT {PERSON_COLUMNS} {same_person} WHERE lead.created_at <= $2 OR lead.lead_id = $1 \
         ORDER BY CASE WHEN lead.created_at <= $2 THEN 0 ELSE 1 END, lead.created_at DESC, lead.lead_id DESC LIMIT 1"
    );
    let row: Option<PersonRow> = sqlx::query_as(&newest).bind(lead_id).bind(sold_at).fetch_optional(conn).await?;
    Ok(row.map(Into::into))
}

/// What a `Purchase` needs of its sale.
#[derive(Debug, Clone, FromRow)]
pub struct SaleFacts {
    pub product: String,
    /// Whole tenge.
    pub amount: i64,
    pub sold_at: i64,
    pub lead_id: Option<i64>,
    pub cancelled_at: Option<i64>,
}

/// The sale's product, amount, time, lead and whether it was cancelled.
pub async fn sale_facts(conn: &mut AnyConnection, sale_id: i64) -> Result<Option<SaleFacts>, sqlx::Error> {
    sqlx::query_as("SELECT product, amount, sold_at, lead_id, cancelled_at FROM sale WHERE sale_id = $1")
        .bind(sale_id)
        .fetch_optional(conn)
        .await
}

/// The status an event is stored with: `pending`, `sent`, `expired`, `skipped` or `failed`.
pub async fn event_status(conn: &mut AnyConnection, event_id: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT status FROM meta_event WHERE event_id = $1").bind(event_id).fetch_optional(conn).await
}

/// How an event ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled<'a> {
    pub status: &'a str,
    pub detail: Option<&'a str>,
    pub fbtrace_id: Option<&'a str>,
    /// The lead whose person data it carried.
    pub lead_id: Option<i64>,
}

/// Records how the event ended.
pub async fn settle_meta_event(
    conn: &mut AnyConnection,
    event_id: &str,
    settled: &Settled<'_>,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    let sent_at = (settled.status == "sent").then_some(now_ms);
    sqlx::query(
        "UPDATE meta_event SET status = $2, detail = $3, fbtrace_id = COALESCE($4, fbtrace_id), \
         lead_id = COALESCE($5, lead_id), sent_at = COALESCE($6, sent_at), updated_at = $7 WHERE event_id = $1",
    )
    .bind(event_id)
    .bind(settled.status)
    .bind(settled.detail)
    .bind(settled.fbtrace_id)
    .bind(settled.lead_id)
    .bind(sent_at)
    .bind(now_ms)
    .execute(conn)
    .await
    .map(drop)
}
