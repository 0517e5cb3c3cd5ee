//! Ad spend per ad and day, and the ad accounts it comes from.

use sqlx::AnyConnection;

use crate::db::values_placeholders;

/// The pseudo ad account that holds spend typed in by an admin.
pub const MANUAL_ACCOUNT: &str = "manual";

/// One ad's figures for one day.
#[derive(Debug, Clone)]
pub struct SpendRow {
    pub account_id: String,
    /// `yyyymmdd`.
    pub day: i64,
    pub ad_id: String,
    pub ad_name: Option<String>,
    pub campaign_name: Option<String>,
    pub impressions: i64,
    pub clicks: i64,
    pub currency: String,
    /// Hundredths of `currency`.
    pub spend_minor: i64,
    /// Tiyn.
    pub spend_kzt_minor: i64,
    pub team_id: Option<i64>,
    pub attribution_rule: Option<String>,
}

/// Creates an ad account, or renames it and updates its currency and status.
pub async fn upsert_ad_account(
    conn: &mut AnyConnection,
    account_id: &str,
    name: &str,
    currency: &str,
    team_id: Option<i64>,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO ad_account (account_id, name, currency, status, team_id, sync_enabled, created_at, updated_at) \
         VALUES ($1, $2, $3, 'active', $4, 1, $5, $5) ON CONFLICT (account_id) DO UPDATE SET name = excluded.name, \
         currency = excluded.currency, updated_at = excluded.updated_at",
    )
    .bind(account_id)
    .bind(name)
    .bind(currency)
    .bind(team_id)
    .bind(now_ms)
    .execute(conn)
    .await
    .map(drop)
}

/// Stores spend rows, replacing rows with the same account, day and ad.
pub async fn upsert_spend(conn: &mut AnyConnection, rows: &[SpendRow], now_ms: i64) -> Result<(), sqlx::Error> {
    const COLUMNS: usize = 13;
    for chunk in rows.chunks(1_000) {
        let sql = format!(
            "INSERT INTO ad_spend (account_id, day, ad_id, ad_name, campaign_name, impressions, clicks, currency, \
             spend_minor, spend_kzt_minor, team_id, attribution_rule, synced_at) VALUES {} \
             ON CONFLICT (account_id, day, ad_id) DO UPDATE SET ad_name = excluded.ad_name, \
             campaign_name = excluded.campaign_name, impressions = excluded.impressions, clicks = excluded.clicks, \
             currency = excluded.currency, spend_minor = excluded.spend_minor, \
             spend_kzt_minor = excluded.spend_kzt_minor, team_id = excluded.team_id, \
             attribution_rule = excluded.attribution_rule, synced_at = excluded.synced_at",
            values_placeholders(chunk.len(), COLUMNS, |_| None)
        );
        let mut query = sqlx::query(&sql);
        for row in chunk {
            query = query
                .bind(row.account_id.as_str())
                .bind(row.day)
                .bind(row.ad_id.as_str())
                .bind(row.ad_name.as_deref())
                .bind(row.campaign_name.as_deref())
                .bind(row.impressions)
                .bind(row.clicks)
                .bind(row.currency.as_str())
                .bind(row.spend_minor)
                .bind(row.spend_kzt_minor)
                .bind(row.team_id)
                .bind(row.attribution_rule.as_deref())
                .bind(now_ms);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Sets (or, with 0, removes) a team's hand-entered spend for one day, in whole tenge.
pub async fn set_manual_spend(
    conn: &mut AnyConnection,
    team_id: i64,
    day: i64,
    tenge: i64,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    let ad_id = format!("team-{team_id}");
    if tenge == 0 {
        return sqlx::query("DELETE FROM ad_spend WHERE account_id = $1 AND day = $2 AND ad_id = $3")
            .bind(MANUAL_ACCOUNT)
            .bind(day)
            .bind(ad_id)
            .execute(conn)
            .await
            .map(drop);
    }
    let row = SpendRow {
        account_id: MANUAL_ACCOUNT.into(),
        day,
        ad_id,
        ad_name: None,
        campaign_name: None,
        impressions: 0,
        clicks: 0,
        currency: "KZT".into(),
        spend_minor: tenge * 100,
        spend_kzt_minor: tenge * 100,
        team_id: Some(team_id),
        attribution_rule: Some("manual".into()),
    };
    upsert_spend(conn, &[row], now_ms).await
}
