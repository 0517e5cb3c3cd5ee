//! Sales: won deals, one row per deal and product.

use sqlx::{AnyConnection, FromRow, Row};

use crate::db::values_placeholders;
use crate::domain::attribution::Attribution;

/// A sale to store; `sold_day` is the Almaty day of `sold_at`.
#[derive(Debug, Clone)]
pub struct NewSale {
    pub crm_deal_id: i64,
    /// `express`, `flagship` or `other` (another pipeline).
    pub product: &'static str,
    /// Whole tenge.
    pub amount: i64,
    pub sold_at: i64,
    pub sold_day: i64,
    pub lead_id: Option<i64>,
    pub contact_name: Option<String>,
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
    pub attribution: Attribution,
}

/// Stores sales; a deal and product already recorded is left as it is.
pub async fn insert_sales(conn: &mut AnyConnection, sales: &[NewSale], now_ms: i64) -> Result<(), sqlx::Error> {
    const COLUMNS: usize = 15;
    for chunk in sales.chunks(1_000) {
        let sql = format!(
            "INSERT INTO sale (crm_deal_id, product, amount, sold_at, sold_day, lead_id, contact_name, utm_source, \
             utm_medium, utm_campaign, team_id, attribution_confidence, attribution_rule, created_at, updated_at) \
             VALUES {} ON CONFLICT (crm_deal_id, product) DO NOTHING",
            values_placeholders(chunk.len(), COLUMNS, |_| None)
        );
        let mut query = sqlx::query(&sql);
        for sale in chunk {
            query = bind_sale(query, sale).bind(now_ms).bind(now_ms);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

type SaleQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Binds a sale's 13 columns in the order of the inserts above.
fn bind_sale<'q>(query: SaleQuery<'q>, sale: &'q NewSale) -> SaleQuery<'q> {
    query
        .bind(sale.crm_deal_id)
        .bind(sale.product)
        .bind(sale.amount)
        .bind(sale.sold_at)
        .bind(sale.sold_day)
        .bind(sale.lead_id)
        .bind(sale.contact_name.as_deref())
        .bind(sale.utm_source.as_deref())
        .bind(sale.utm_medium.as_deref())
        .bind(sale.utm_campaign.as_deref())
        .bind(sale.attribution.team_id)
        .bind(sale.attribution.confidence.as_str())
        .bind(sale.attribution.rule.as_str())
}

/// A lead demo data turns into a sale.
#[derive(Debug, Clone, FromRow)]
pub struct DemoSaleSource {
    pub lead_id: i64,
    pub created_at: i64,
    pub name: String,
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
    pub campaign_slug: Option<String>,
}

/// Leads after `after_lead_id` whose id is a multiple of `every_express` or `every_flagship`:
/// the ones the demo data sells to.
pub async fn demo_sale_sources(
    conn: &mut AnyConnection,
    after_lead_id: i64,
    every_express: i64,
    every_flagship: i64,
) -> Result<Vec<DemoSaleSource>, sqlx::Error> {
    sqlx::query_as(
        "SELECT lead_id, created_at, name, utm_source, utm_medium, utm_campaign, campaign_slug FROM lead \
         WHERE lead_id > $1 AND (lead_id % $2 = 0 OR lead_id % $3 = 0) ORDER BY lead_id",
    )
    .bind(after_lead_id)
    .bind(every_express)
    .bind(every_flagship)
    .fetch_all(conn)
    .await
}

/// Records a won deal's sale, its announcement pending; returns its id when it is new. A sale of the same deal and
/// product already stored stays as it is, except that a cancelled one counts again.
pub async fn record_won_sale(
    conn: &mut AnyConnection,
    sale: &NewSale,
    now_ms: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let query = sqlx::query(
        "INSERT INTO sale (crm_deal_id, product, amount, sold_at, sold_day, lead_id, contact_name, utm_source, \
         utm_medium, utm_campaign, team_id, attribution_confidence, attribution_rule, created_at, updated_at, \
         notify_state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, 'pending') \
         ON CONFLICT (crm_deal_id, product) DO NOTHING RETURNING sale_id",
    );
    let inserted = bind_sale(query, sale).bind(now_ms).fetch_optional(&mut *conn).await?;
    let inserted: Option<i64> = inserted.map(|row| row.try_get(0)).transpose()?;
    if inserted.is_none() {
        sqlx::query(
            "UPDATE sale SET cancelled_at = NULL, updated_at = $1 \
             WHERE crm_deal_id = $2 AND product = $3 AND cancelled_at IS NOT NULL",
        )
        .bind(now_ms)
        .bind(sale.crm_deal_id)
        .bind(sale.product)
        .execute(conn)
        .await?;
    }
    Ok(inserted)
}

/// Records that the deal was in `status_id` of `pipeline_id` at AmoCRM's time `changed_at`
/// (unix seconds), unless a newer state is stored; false when this one is older (stale).
pub async fn advance_deal_state(
    conn: &mut AnyConnection,
    crm_deal_id: i64,
    pipeline_id: Option<i64>,
    status_id: i64,
    changed_at: i64,
    now_ms: i64,
) -> Result<bool, sqlx::Error> {
    let applied: Option<i64> = sqlx::query_scalar(
        "INSERT INTO crm_deal_state (crm_deal_id, pipeline_id, status_id, changed_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (crm_deal_id) DO UPDATE SET \
         pipeline_id = COALESCE(excluded.pipeline_id, crm_deal_state.pipeline_id), status_id = excluded.status_id, \
         changed_at = excluded.changed_at, updated_at = excluded.updated_at \
         WHERE crm_deal_state.changed_at <= excluded.changed_at RETURNING crm_deal_id",
    )
    .bind(crm_deal_id)
    .bind(pipeline_id)
    .bind(status_id)
    .bind(changed_at)
    .bind(now_ms)
    .fetch_optional(conn)
    .await?;
    Ok(applied.is_some())
}

/// Whether the deal has a sale of `product` that is not cancelled.
pub async fn has_active_sale(conn: &mut AnyConnection, crm_deal_id: i64, product: &str) -> Result<bool, sqlx::Error> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT sale_id FROM sale WHERE crm_deal_id = $1 AND product = $2 AND cancelled_at IS NULL")
            .bind(crm_deal_id)
            .bind(product)
            .fetch_optional(conn)
            .await?;
    Ok(found.is_some())
}

/// Marks the deal's sales of products other than `keep` cancelled (a deal won in another
/// pipeline since); returns how many.
pub async fn cancel_other_products(
    conn: &mut AnyConnection,
    crm_deal_id: i64,
    keep: &str,
    now_ms: i64,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE sale SET cancelled_at = $1, updated_at = $1 WHERE crm_deal_id = $2 AND product <> $3 AND cancelled_at IS NULL",
    )
    .bind(now_ms)
    .bind(crm_deal_id)
    .bind(keep)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Marks the sales of a deal that left the won stage as cancelled; returns how many.
pub async fn cancel_deal_sales(conn: &mut AnyConnection, crm_deal_id: i64, now_ms: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE sale SET cancelled_at = $1, updated_at = $1 WHERE crm_deal_id = $2 AND cancelled_at IS NULL",
    )
    .bind(now_ms)
    .bind(crm_deal_id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// What the sale message needs.
#[derive(Debug, Clone, FromRow)]
pub struct SaleNotice {
    pub product: String,
    pub amount: i64,
    pub contact_name: Option<String>,
    pub utm_campaign: Option<String>,
    pub team_name: Option<String>,
    pub team_emoji: Option<String>,
    pub telegram_chat_id: Option<String>,
}

/// A sale with its team, for the Telegram message.
pub async fn sale_notice(conn: &mut AnyConnection, sale_id: i64) -> Result<Option<SaleNotice>, sqlx::Error> {
    sqlx::query_as(
        "SELECT sale.product, sale.amount, sale.contact_name, sale.utm_campaign, team.name AS team_name, \
         team.emoji AS team_emoji, team.telegram_chat_id FROM sale LEFT JOIN team ON team.team_id = sale.team_id \
         WHERE sale.sale_id = $1",
    )
    .bind(sale_id)
    .fetch_optional(conn)
    .await
}

/// The newest lead AmoCRM's deal came from.
pub async fn lead_of_deal(conn: &mut AnyConnection, crm_deal_id: i64) -> Result<Option<DealLead>, sqlx::Error> {
    sqlx::query_as(
        "SELECT lead_id, name, utm_source, utm_medium, utm_campaign, campaign_slug FROM lead WHERE crm_deal_id = $1 \
         ORDER BY lead_id DESC LIMIT 1",
    )
    .bind(crm_deal_id)
    .fetch_optional(conn)
    .await
}

/// The lead a deal came from: its name and the tags its sale is attributed by.
#[derive(Debug, Clone, FromRow)]
pub struct DealLead {
    pub lead_id: i64,
    pub name: String,
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
    pub campaign_slug: Option<String>,
}

/// Whether a sale's announcement may be sent now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeStart {
    /// It was pending and is now `sending`: send it.
    Send,
    /// An earlier run marked it `sending` and never recorded an outcome: it may be in the
    /// chat already.
    InDoubt,
    /// It is sent, uncertain or gone: nothing to do.
    Settled,
}

/// Marks the sale's announcement `sending` if it was pending, in its own statement, before
/// the message goes out.
pub async fn begin_sale_notice(
    conn: &mut AnyConnection,
    sale_id: i64,
    now_ms: i64,
) -> Result<NoticeStart, sqlx::Error> {
    let started: Option<i64> = sqlx::query_scalar(
        "UPDATE sale SET notify_state = 'sending', updated_at = $1 \
         WHERE sale_id = $2 AND notify_state IN ('pending', 'none') RETURNING sale_id",
    )
    .bind(now_ms)
    .bind(sale_id)
    .fetch_optional(&mut *conn)
    .await?;
    if started.is_some() {
        return Ok(NoticeStart::Send);
    }
    let state: Option<String> = sqlx::query_scalar("SELECT notify_state FROM sale WHERE sale_id = $1")
        .bind(sale_id)
        .fetch_optional(conn)
        .await?;
    Ok(match state.as_deref() {
        Some("sending") => NoticeStart::InDoubt,
        _ => NoticeStart::Settled,
    })
}

/// The announcement certainly did not go out (an error answer, no connection): pending
/// again, so the next attempt may send it.
pub async fn abandon_sale_notice(conn: &mut AnyConnection, sale_id: i64, now_ms: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE sale SET notify_state = 'pending', updated_at = $1 WHERE sale_id = $2 AND notify_state = 'sending'",
    )
    .bind(now_ms)
    .bind(sale_id)
    .execute(conn)
    .await
    .map(drop)
}

/// Records how the announcement ended: `sent`, `uncertain` or `failed`, with the reason.
pub async fn settle_sale_notice(
    conn: &mut AnyConnection,
    sale_id: i64,
    state: &str,
    error: Option<&str>,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE sale SET notify_state = $1, notify_error = $2, notified_at = $3, updated_at = $3 WHERE sale_id = $4",
    )
    .bind(state)
    .bind(error)
    .bind(now_ms)
    .bind(sale_id)
    .execute(conn)
    .await
    .map(drop)
}

/// Makes an uncertain or failed announcement pending again (an admin asked to send it);
/// false when the sale is in neither state.
pub async fn reopen_sale_notice(conn: &mut AnyConnection, sale_id: i64, now_ms: i64) -> Result<bool, sqlx::Error> {
    let reopened = sqlx::query(
        "UPDATE sale SET notify_state = 'pending', notify_error = NULL, updated_at = $1 \
         WHERE sale_id = $2 AND notify_state IN ('uncertain', 'failed')",
    )
    .bind(now_ms)
    .bind(sale_id)
    .execute(conn)
    .await?;
    Ok(reopened.rows_affected() == 1)
}

/// An announcement whose outcome is unknown, for an admin to settle.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct UncertainNoticeRow {
    pub sale_id: i64,
    pub product: String,
    pub amount: i64,
    pub contact_name: Option<String>,
    pub team_name: Option<String>,
    pub notify_error: Option<String>,
    pub notified_at: Option<i64>,
}

/// The newest announcements whose outcome is unknown, and how many there are.
pub async fn uncertain_sale_notices(
    conn: &mut AnyConnection,
    limit: i64,
) -> Result<(Vec<UncertainNoticeRow>, i64), sqlx::Error> {
    let rows = sqlx::query_as(
        "SELECT sale.sale_id, sale.product, sale.amount, sale.contact_name, team.name AS team_name, \
         sale.notify_error, sale.notified_at FROM sale LEFT JOIN team ON team.team_id = sale.team_id \
         WHERE sale.notify_state = 'uncertain' ORDER BY sale.sale_id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let total =
        sqlx::query_scalar("SELECT COUNT(*) FROM sale WHERE notify_state = 'uncertain'").fetch_one(conn).await?;
    Ok((rows, total))
}
