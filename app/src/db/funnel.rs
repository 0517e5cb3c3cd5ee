//! The funnel's daily figures: spend from `ad_spend`, quiz leads from `lead`, sales from
//! `sale`, each counted per Almaty day from an index, for one team or all.

use std::collections::BTreeMap;

use sqlx::AnyConnection;

use super::{bind_range, team_clause};
use crate::domain::date_range::DateRange;
use crate::domain::funnel::DayFigures;

/// Figures per `yyyymmdd` of `range` for `team_id` (`None`: every lead, sale and spend,
/// attributed or not). Cancelled sales and sales of other pipelines do not count.
pub async fn funnel_days(
    conn: &mut AnyConnection,
    team_id: Option<i64>,
    range: DateRange,
) -> Result<BTreeMap<i64, DayFigures>, sqlx::Error> {
    let team_clause = team_clause("team_id", team_id);
    let mut by_day: BTreeMap<i64, DayFigures> = BTreeMap::new();

    let spend_sql = format!(
        "SELECT day, CAST(SUM(spend_kzt_minor) AS BIGINT), CAST(SUM(impressions) AS BIGINT), \
         CAST(SUM(clicks) AS BIGINT) FROM ad_spend WHERE day BETWEEN $1 AND $2 {team_clause} GROUP BY day"
    );
    let spend: Vec<(i64, i64, i64, i64)> =
        bind_range(sqlx::query_as(&spend_sql), range, team_id).fetch_all(&mut *conn).await?;
    for (day, spend_kzt_minor, impressions, clicks) in spend {
        let figures = by_day.entry(day).or_default();
        figures.spend_kzt_minor = spend_kzt_minor;
        figures.impressions = impressions;
        figures.clicks = clicks;
    }

    let leads_sql = format!(
        "SELECT created_day, COUNT(*) FROM lead WHERE kind = 'proftest' AND created_day BETWEEN $1 AND $2 \
         {team_clause} GROUP BY created_day"
    );
    let leads: Vec<(i64, i64)> = bind_range(sqlx::query_as(&leads_sql), range, team_id).fetch_all(&mut *conn).await?;
    for (day, count) in leads {
        by_day.entry(day).or_default().quiz_leads = count;
    }

    let sales_sql = format!(
        "SELECT sold_day, product, COUNT(*), CAST(SUM(amount) AS BIGINT) FROM sale \
         WHERE sold_day BETWEEN $1 AND $2 {team_clause} AND product IN ('express', 'flagship') \
         AND cancelled_at IS NULL GROUP BY sold_day, product"
    );
    let sales: Vec<(i64, String, i64, i64)> =
        bind_range(sqlx::query_as(&sales_sql), range, team_id).fetch_all(&mut *conn).await?;
    for (day, product, count, revenue) in sales {
        let figures = by_day.entry(day).or_default();
        match product.as_str() {
            "express" => (figures.express_sales, figures.express_revenue) = (count, revenue),
            "flagship" => (figures.flagship_sales, figures.flagship_revenue) = (count, revenue),
            _ => {}
        }
    }
    Ok(by_day)
}
