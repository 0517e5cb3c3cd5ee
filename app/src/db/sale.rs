//! Sales: won deals, one row per deal and product.

use sqlx::{AnyConnection, FromRow};

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
            query = query
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
                .bind(now_ms)
                .bind(now_ms);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
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
        "SELECT lead_id, created_at, name, utm_source, utm_medium, utm_campaign FROM lead \
         WHERE lead_id > $1 AND (lead_id % $2 = 0 OR lead_id % $3 = 0) ORDER BY lead_id",
    )
    .bind(after_lead_id)
    .bind(every_express)
    .bind(every_flagship)
    .fetch_all(conn)
    .await
}
