//! Ad spend per ad and day, the ad accounts it comes from, and currency rates.

use sqlx::{AnyConnection, FromRow};

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
    pub adset_id: Option<String>,
    pub adset_name: Option<String>,
    pub campaign_id: Option<String>,
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

/// Creates an ad account that is not synced from Facebook (demo data), or renames it.
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
         VALUES ($1, $2, $3, 'active', $4, 0, $5, $5) ON CONFLICT (account_id) DO UPDATE SET name = excluded.name, \
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
    const COLUMNS: usize = 16;
    for chunk in rows.chunks(1_000) {
        let sql = format!(
            "INSERT INTO ad_spend (account_id, day, ad_id, ad_name, adset_id, adset_name, campaign_id, campaign_name, \
             impressions, clicks, currency, spend_minor, spend_kzt_minor, team_id, attribution_rule, synced_at) \
             VALUES {} ON CONFLICT (account_id, day, ad_id) DO UPDATE SET ad_name = excluded.ad_name, \
             adset_id = excluded.adset_id, adset_name = excluded.adset_name, campaign_id = excluded.campaign_id, \
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
                .bind(row.adset_id.as_deref())
                .bind(row.adset_name.as_deref())
                .bind(row.campaign_id.as_deref())
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
        adset_id: None,
        adset_name: None,
        campaign_id: None,
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

/// An ad account as discovery found it.
#[derive(Debug, Clone)]
pub struct DiscoveredAccount {
    pub account_id: String,
    pub business_id: Option<String>,
    pub business_name: Option<String>,
    pub name: String,
    pub currency: String,
    pub timezone: Option<String>,
    pub status: String,
}

/// Stores what discovery found: new accounts arrive without a team and with sync off;
/// known ones get their name, currency, time zone and status refreshed, keeping the
/// admin's team and sync choice.
pub async fn save_discovered_accounts(
    conn: &mut AnyConnection,
    accounts: &[DiscoveredAccount],
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    for account in accounts {
        sqlx::query(
            "INSERT INTO ad_account (account_id, business_id, business_name, name, currency, timezone, status, \
             sync_enabled, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $8) \
             ON CONFLICT (account_id) DO UPDATE SET business_id = COALESCE(excluded.business_id, ad_account.business_id), \
             business_name = COALESCE(excluded.business_name, ad_account.business_name), name = excluded.name, \
             currency = excluded.currency, timezone = excluded.timezone, status = excluded.status, \
             updated_at = excluded.updated_at",
        )
        .bind(account.account_id.as_str())
        .bind(account.business_id.as_deref())
        .bind(account.business_name.as_deref())
        .bind(account.name.as_str())
        .bind(account.currency.as_str())
        .bind(account.timezone.as_deref())
        .bind(account.status.as_str())
        .bind(now_ms)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// An ad account as the settings table shows it.
#[derive(Debug, Clone, FromRow)]
pub struct AdAccountRow {
    pub account_id: String,
    pub business_name: Option<String>,
    pub name: String,
    pub currency: String,
    pub timezone: Option<String>,
    pub status: String,
    pub team_id: Option<i64>,
    pub sync_enabled: i64,
    pub last_synced_at: Option<i64>,
    pub last_error: Option<String>,
}

/// The columns of an [`AdAccountRow`].
const ACCOUNT_COLUMNS: &str =
    "account_id, business_name, name, currency, timezone, status, team_id, sync_enabled, last_synced_at, last_error";

/// Every real ad account (not the manual one), by name.
pub async fn list_ad_accounts(conn: &mut AnyConnection) -> Result<Vec<AdAccountRow>, sqlx::Error> {
    let sql =
        format!("SELECT {ACCOUNT_COLUMNS} FROM ad_account WHERE account_id <> $1 ORDER BY lower(name), account_id");
    sqlx::query_as(&sql).bind(MANUAL_ACCOUNT).fetch_all(conn).await
}

/// The accounts whose spend is synced.
pub async fn accounts_to_sync(conn: &mut AnyConnection) -> Result<Vec<AdAccountRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {ACCOUNT_COLUMNS} FROM ad_account WHERE sync_enabled = 1 AND account_id <> $1 ORDER BY account_id"
    );
    sqlx::query_as(&sql).bind(MANUAL_ACCOUNT).fetch_all(conn).await
}

/// One account.
pub async fn ad_account(conn: &mut AnyConnection, account_id: &str) -> Result<Option<AdAccountRow>, sqlx::Error> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM ad_account WHERE account_id = $1");
    sqlx::query_as(&sql).bind(account_id).fetch_optional(conn).await
}

/// Sets an account's team and whether it is synced; false when there is no such account.
pub async fn set_account_settings(
    conn: &mut AnyConnection,
    account_id: &str,
    team_id: Option<i64>,
    sync_enabled: bool,
    now_ms: i64,
) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE ad_account SET team_id = $1, sync_enabled = $2, updated_at = $3 WHERE account_id = $4 AND account_id <> $5",
    )
    .bind(team_id)
    .bind(i64::from(sync_enabled))
    .bind(now_ms)
    .bind(account_id)
    .bind(MANUAL_ACCOUNT)
    .execute(conn)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Records the outcome of an account's sync: success clears the last error.
pub async fn record_account_sync(
    conn: &mut AnyConnection,
    account_id: &str,
    error: Option<&str>,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    let query = match error {
        None => sqlx::query("UPDATE ad_account SET last_synced_at = $1, last_error = NULL WHERE account_id = $2")
            .bind(now_ms),
        Some(error) => sqlx::query("UPDATE ad_account SET last_error = $1 WHERE account_id = $2").bind(error),
    };
    query.bind(account_id).execute(conn).await.map(drop)
}

/// Replaces an account's spend for the days `from_day..=to_day` with `rows`, in the
/// caller's transaction: a day Facebook revised never counts twice.
pub async fn replace_spend(
    conn: &mut AnyConnection,
    account_id: &str,
    from_day: i64,
    to_day: i64,
    rows: &[SpendRow],
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM ad_spend WHERE account_id = $1 AND day BETWEEN $2 AND $3")
        .bind(account_id)
        .bind(from_day)
        .bind(to_day)
        .execute(&mut *conn)
        .await?;
    upsert_spend(conn, rows, now_ms).await
}

/// The real ad accounts without a team (their spend goes by the ads' names).
pub async fn unassigned_accounts(conn: &mut AnyConnection) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT account_id FROM ad_account WHERE team_id IS NULL AND account_id <> $1")
        .bind(MANUAL_ACCOUNT)
        .fetch_all(conn)
        .await
}

/// The names of an account's ads and campaigns, for attributing its spend by pattern.
pub async fn account_ad_names(
    conn: &mut AnyConnection,
    account_id: &str,
) -> Result<Vec<(String, Option<String>, Option<String>)>, sqlx::Error> {
    sqlx::query_as("SELECT DISTINCT ad_id, ad_name, campaign_name FROM ad_spend WHERE account_id = $1")
        .bind(account_id)
        .fetch_all(conn)
        .await
}

/// Sets the team of every spend row of one ad of an account.
pub async fn set_ad_team(
    conn: &mut AnyConnection,
    account_id: &str,
    ad_id: &str,
    team_id: Option<i64>,
    rule: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE ad_spend SET team_id = $1, attribution_rule = $2 WHERE account_id = $3 AND ad_id = $4")
        .bind(team_id)
        .bind(rule)
        .bind(account_id)
        .bind(ad_id)
        .execute(conn)
        .await
        .map(drop)
}

/// Tenge per unit of `currency` on `day`, in millionths: the latest rate dated on or
/// before it.
pub async fn rate_on(conn: &mut AnyConnection, currency: &str, day: i64) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT kzt_micro FROM currency_rate WHERE currency = $1 AND day <= $2 ORDER BY day DESC LIMIT 1",
    )
    .bind(currency)
    .bind(day)
    .fetch_optional(conn)
    .await
}

/// Sets the rate of `currency` from `day` on.
pub async fn set_rate(conn: &mut AnyConnection, currency: &str, day: i64, kzt_micro: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO currency_rate (currency, day, kzt_micro) VALUES ($1, $2, $3) \
         ON CONFLICT (currency, day) DO UPDATE SET kzt_micro = excluded.kzt_micro",
    )
    .bind(currency)
    .bind(day)
    .bind(kzt_micro)
    .execute(conn)
    .await
    .map(drop)
}
