//! The admin's sales and UTM tables: sales per day, team and product; leads, sales and
//! revenue per UTM source and campaign.

use sqlx::AnyConnection;

use crate::domain::date_range::DateRange;

/// Sales of one Almaty day, team and product (cancelled sales left out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyTeamSales {
    /// `yyyymmdd`.
    pub day: i64,
    pub team_id: Option<i64>,
    /// `express`, `flagship` or `other`.
    pub product: String,
    pub sales: i64,
    /// Whole tenge.
    pub revenue: i64,
}

/// Sales per day, team and product in `range`.
pub async fn daily_team_sales(conn: &mut AnyConnection, range: DateRange) -> Result<Vec<DailyTeamSales>, sqlx::Error> {
    let rows: Vec<(i64, Option<i64>, String, i64, i64)> = sqlx::query_as(
        "SELECT sold_day, team_id, product, COUNT(*), CAST(SUM(amount) AS BIGINT) FROM sale \
         WHERE sold_day BETWEEN $1 AND $2 AND cancelled_at IS NULL \
         GROUP BY sold_day, team_id, product ORDER BY sold_day, team_id, product",
    )
    .bind(range.start_day())
    .bind(range.end_day())
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(day, team_id, product, sales, revenue)| DailyTeamSales { day, team_id, product, sales, revenue })
        .collect())
}

/// Leads, sales and revenue of one UTM source (and campaign, when grouped by it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UtmFigures {
    pub utm_source: String,
    pub utm_campaign: String,
    pub leads: i64,
    pub sales: i64,
    /// Whole tenge.
    pub revenue: i64,
}

/// Leads, sales and revenue per UTM source, or per source and campaign, in `range`;
/// missing tags read as empty. Most leads first, at most `limit` rows.
pub async fn utm_figures(
    conn: &mut AnyConnection,
    range: DateRange,
    by_campaign: bool,
    limit: usize,
) -> Result<Vec<UtmFigures>, sqlx::Error> {
    let campaign = if by_campaign { "COALESCE(utm_campaign, '')" } else { "''" };
    let leads_sql = format!(
        "SELECT COALESCE(utm_source, ''), {campaign}, COUNT(*) FROM lead WHERE created_day BETWEEN $1 AND $2 \
         GROUP BY 1, 2"
    );
    let sales_sql = format!(
        "SELECT COALESCE(utm_source, ''), {campaign}, COUNT(*), CAST(SUM(amount) AS BIGINT) FROM sale \
         WHERE sold_day BETWEEN $1 AND $2 AND cancelled_at IS NULL GROUP BY 1, 2"
    );
    let leads: Vec<(String, String, i64)> =
        sqlx::query_as(&leads_sql).bind(range.start_day()).bind(range.end_day()).fetch_all(&mut *conn).await?;
    let sales: Vec<(String, String, i64, i64)> =
        sqlx::query_as(&sales_sql).bind(range.start_day()).bind(range.end_day()).fetch_all(&mut *conn).await?;
    let mut figures: std::collections::HashMap<(String, String), UtmFigures> = std::collections::HashMap::new();
    for (utm_source, utm_campaign, count) in leads {
        let key = (utm_source.clone(), utm_campaign.clone());
        figures.entry(key).or_insert_with(|| UtmFigures { utm_source, utm_campaign, ..UtmFigures::default() }).leads =
            count;
    }
    for (utm_source, utm_campaign, count, revenue) in sales {
        let key = (utm_source.clone(), utm_campaign.clone());
        let entry =
            figures.entry(key).or_insert_with(|| UtmFigures { utm_source, utm_campaign, ..UtmFigures::default() });
        entry.sales = count;
        entry.revenue = revenue;
    }
    let mut figures: Vec<UtmFigures> = figures.into_values().collect();
    figures.sort_by(|a, b| {
        (b.leads, b.revenue)
            .cmp(&(a.leads, a.revenue))
            .then_with(|| (&a.utm_source, &a.utm_campaign).cmp(&(&b.utm_source, &b.utm_campaign)))
    });
    figures.truncate(limit);
    Ok(figures)
}

/// A sale as the sales history lists it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct SaleRecord {
    pub sale_id: i64,
    pub crm_deal_id: i64,
    pub product: String,
    /// Whole tenge.
    pub amount: i64,
    /// UTC milliseconds.
    pub sold_at: i64,
    /// Almaty `yyyymmdd`.
    pub sold_day: i64,
    pub contact_name: Option<String>,
    pub utm_source: Option<String>,
    pub utm_campaign: Option<String>,
    pub team: Option<String>,
    pub cancelled: bool,
    /// The Telegram announcement: `none`, `pending`, `sending`, `sent`, `uncertain` or `failed`.
    pub telegram: String,
    /// The `Purchase` sent to Meta: `none` (not sent: the Conversions API is off or the
    /// product is another), `pending`, `sent`, `expired`, `skipped` or `failed`.
    pub meta: String,
}

#[derive(sqlx::FromRow)]
struct SaleRecordRow {
    sale_id: i64,
    crm_deal_id: i64,
    product: String,
    amount: i64,
    sold_at: i64,
    sold_day: i64,
    contact_name: Option<String>,
    utm_source: Option<String>,
    utm_campaign: Option<String>,
    team: Option<String>,
    cancelled_at: Option<i64>,
    notify_state: String,
    meta_status: Option<String>,
}

/// The sales of `range` (Almaty days), newest first, of one team or all; at most `limit`.
pub async fn sales_history(
    conn: &mut AnyConnection,
    team_id: Option<i64>,
    range: DateRange,
    limit: i64,
) -> Result<Vec<SaleRecord>, sqlx::Error> {
    let team_clause = if team_id.is_some() { "AND sale.team_id = $4" } else { "" };
    let sql = format!(
        "SELECT sale.sale_id, sale.crm_deal_id, sale.product, sale.amount, sale.sold_at, sale.sold_day, \
         sale.contact_name, sale.utm_source, sale.utm_campaign, team.name AS team, sale.cancelled_at, sale.notify_state, \
         meta_event.status AS meta_status FROM sale LEFT JOIN team ON team.team_id = sale.team_id \
         LEFT JOIN meta_event ON meta_event.sale_id = sale.sale_id \
         WHERE sale.sold_day BETWEEN $1 AND $2 {team_clause} ORDER BY sale.sold_at DESC, sale.sale_id DESC LIMIT $3"
    );
    let mut query = sqlx::query_as::<_, SaleRecordRow>(&sql).bind(range.start_day()).bind(range.end_day()).bind(limit);
    if let Some(team_id) = team_id {
        query = query.bind(team_id);
    }
    let rows = query.fetch_all(conn).await?;
    Ok(rows
        .into_iter()
        .map(|row| SaleRecord {
            sale_id: row.sale_id,
            crm_deal_id: row.crm_deal_id,
            product: row.product,
            amount: row.amount,
            sold_at: row.sold_at,
            sold_day: row.sold_day,
            contact_name: row.contact_name,
            utm_source: row.utm_source,
            utm_campaign: row.utm_campaign,
            team: row.team,
            cancelled: row.cancelled_at.is_some(),
            telegram: row.notify_state,
            meta: row.meta_status.unwrap_or_else(|| "none".to_owned()),
        })
        .collect())
}
