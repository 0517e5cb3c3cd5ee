//! What the ads report adds up: spend per ad, and quiz leads and sales grouped by the UTM
//! tags that name their ad, for one team (or all) over a range of Almaty days.

use sqlx::{AnyConnection, FromRow};

use super::{bind_range, team_clause};
use crate::domain::ad_report::{Results, SpendLine, TaggedResults};
use crate::domain::date_range::DateRange;

#[derive(FromRow)]
struct SpendRow {
    campaign_id: Option<String>,
    campaign_name: Option<String>,
    adset_id: Option<String>,
    adset_name: Option<String>,
    ad_id: String,
    ad_name: Option<String>,
    spend_kzt_minor: i64,
    impressions: i64,
    clicks: i64,
}

#[derive(FromRow)]
struct TagRow {
    utm_campaign: Option<String>,
    utm_term: Option<String>,
    utm_content: Option<String>,
    product: Option<String>,
    count: i64,
    revenue: i64,
}

/// Each ad's spend, impressions and clicks over `range` (names as last synced).
pub async fn ad_spend_lines(
    conn: &mut AnyConnection,
    team_id: Option<i64>,
    range: DateRange,
) -> Result<Vec<SpendLine>, sqlx::Error> {
    let sql = format!(
        "SELECT campaign_id, MAX(campaign_name) AS campaign_name, adset_id, MAX(adset_name) AS adset_name, ad_id, \
         MAX(ad_name) AS ad_name, CAST(SUM(spend_kzt_minor) AS BIGINT) AS spend_kzt_minor, \
         CAST(SUM(impressions) AS BIGINT) AS impressions, CAST(SUM(clicks) AS BIGINT) AS clicks FROM ad_spend \
         WHERE day BETWEEN $1 AND $2 {} GROUP BY campaign_id, adset_id, ad_id",
        team_clause("team_id", team_id)
    );
    let rows = bind_range(sqlx::query_as::<_, SpendRow>(&sql), range, team_id).fetch_all(conn).await?;
    Ok(rows
        .into_iter()
        .map(|row| SpendLine {
            campaign_id: row.campaign_id,
            campaign_name: row.campaign_name,
            adset_id: row.adset_id,
            adset_name: row.adset_name,
            ad_id: row.ad_id,
            ad_name: row.ad_name,
            spend_kzt_minor: row.spend_kzt_minor,
            impressions: row.impressions,
            clicks: row.clicks,
        })
        .collect())
}

/// Quiz leads of `range` (the funnel's leads) by their campaign, ad set and ad tags.
pub async fn lead_tag_groups(
    conn: &mut AnyConnection,
    team_id: Option<i64>,
    range: DateRange,
) -> Result<Vec<TaggedResults>, sqlx::Error> {
    let sql = format!(
        "SELECT utm_campaign, utm_term, utm_content, CAST(NULL AS TEXT) AS product, COUNT(*) AS count, \
         CAST(0 AS BIGINT) AS revenue FROM lead WHERE kind = 'proftest' AND created_day BETWEEN $1 AND $2 {} \
         GROUP BY utm_campaign, utm_term, utm_content",
        team_clause("team_id", team_id)
    );
    tag_groups(conn, &sql, team_id, range).await
}

/// Express and flagship sales of `range` that count (not cancelled), by the tags of their
/// lead, else their own.
pub async fn sale_tag_groups(
    conn: &mut AnyConnection,
    team_id: Option<i64>,
    range: DateRange,
) -> Result<Vec<TaggedResults>, sqlx::Error> {
    let sql = format!(
        "SELECT COALESCE(lead.utm_campaign, sale.utm_campaign) AS utm_campaign, \
         COALESCE(lead.utm_term, sale.utm_term) AS utm_term, COALESCE(lead.utm_content, sale.utm_content) AS utm_content, \
         sale.product AS product, COUNT(*) AS count, CAST(SUM(sale.amount) AS BIGINT) AS revenue \
         FROM sale LEFT JOIN lead ON lead.lead_id = sale.lead_id \
         WHERE sale.sold_day BETWEEN $1 AND $2 {} AND sale.product IN ('express', 'flagship') \
         AND sale.cancelled_at IS NULL GROUP BY 1, 2, 3, 4",
        team_clause("sale.team_id", team_id)
    );
    tag_groups(conn, &sql, team_id, range).await
}

async fn tag_groups(
    conn: &mut AnyConnection,
    sql: &str,
    team_id: Option<i64>,
    range: DateRange,
) -> Result<Vec<TaggedResults>, sqlx::Error> {
    let rows = bind_range(sqlx::query_as::<_, TagRow>(sql), range, team_id).fetch_all(conn).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let results = match row.product.as_deref() {
                Some("express") => Results { express_sales: row.count, revenue: row.revenue, ..Results::default() },
                Some("flagship") => Results { flagship_sales: row.count, revenue: row.revenue, ..Results::default() },
                _ => Results { leads: row.count, ..Results::default() },
            };
            TaggedResults {
                utm_campaign: row.utm_campaign,
                utm_term: row.utm_term,
                utm_content: row.utm_content,
                results,
            }
        })
        .collect())
}
