//! Facebook ad accounts and their spend (`docs/product.md`, "Facebook spend"): discovery of the
//! token's accounts and the ad-level spend of an account's days, converted to tenge and
//! attributed to teams. The jobs and the `server facebook` commands both call these.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::attribution::attribute_ad;
use crate::db::spend::{
    ad_account, rate_on, record_account_sync, replace_spend, save_discovered_accounts, DiscoveredAccount, SpendRow,
};
use crate::db::team::attribution_rules;
use crate::db::Db;
use crate::domain::attribution::Attributor;
use crate::providers::facebook::{parse_count, parse_minor, FacebookClient, GraphError};
use crate::queue::JobFailure;
use crate::time::{day_number, now_ms};

/// Stores every ad account of the token's Business Managers (owned and shared with them)
/// and those the token sees directly; returns how many there are. Running it again
/// updates them, never duplicates.
pub async fn discover(db: &Db, client: &FacebookClient) -> Result<usize, GraphError> {
    let mut found: BTreeMap<String, DiscoveredAccount> = BTreeMap::new();
    let businesses = match client.businesses().await {
        Ok(businesses) => businesses,
        // Without `business_management` the token still sees its own accounts.
        Err(GraphError::Refused { message }) => {
            tracing::warn!(error = %message, "Business Managers are not readable; using the token's own ad accounts");
            Vec::new()
        }
        Err(other) => return Err(other),
    };
    for business in &businesses {
        for owned in [true, false] {
            for account in client.business_ad_accounts(&business.id, owned).await? {
                found.entry(account.id.clone()).or_insert_with(|| DiscoveredAccount {
                    business_id: Some(business.id.clone()),
                    business_name: Some(business.name.clone()),
                    ..discovered(&account)
                });
            }
        }
    }
    for account in client.my_ad_accounts().await? {
        found.entry(account.id.clone()).or_insert_with(|| discovered(&account));
    }
    let accounts: Vec<DiscoveredAccount> = found.into_values().collect();
    let db_error = |error: sqlx::Error| GraphError::Transient { message: format!("database: {error}") };
    let mut tx = db.begin_write().await.map_err(db_error)?;
    save_discovered_accounts(&mut tx, &accounts, now_ms()).await.map_err(db_error)?;
    tx.commit().await.map_err(db_error)?;
    Ok(accounts.len())
}

fn discovered(account: &crate::providers::facebook::AdAccount) -> DiscoveredAccount {
    DiscoveredAccount {
        account_id: account.id.clone(),
        business_id: None,
        business_name: None,
        name: account.name.clone(),
        currency: account.currency.to_uppercase(),
        timezone: account.timezone_name.clone(),
        status: account.status().to_owned(),
    }
}

/// Fetches an account's daily ad-level insights for `since..=until` (its own days), converts them to
/// tenge, attributes them and replaces those days' rows in one transaction. Returns the
/// rows stored.
pub async fn sync_account(
    db: &Db,
    client: &FacebookClient,
    fallback_rates: &[(String, f64)],
    account_id: &str,
    (since, until): (NaiveDate, NaiveDate),
) -> Result<usize, JobFailure> {
    let mut conn = db.pool().acquire().await?;
    let account = ad_account(&mut conn, account_id)
        .await?
        .ok_or_else(|| JobFailure::permanent(format!("unknown ad account {account_id}")))?;
    let attributor = Attributor::new(&attribution_rules(&mut conn).await?);
    drop(conn);
    let insights = client.daily_ad_insights(&account.account_id, since, until).await?;

    let mut conn = db.pool().acquire().await?;
    let mut rates: BTreeMap<(String, i64), i64> = BTreeMap::new();
    let mut rows = Vec::with_capacity(insights.len());
    for insight in insights {
        let day = NaiveDate::parse_from_str(&insight.date_start, "%Y-%m-%d").map(day_number).map_err(|_| {
            JobFailure::Retry { message: format!("Facebook: bad date {}", insight.date_start), retry_after: None }
        })?;
        let currency = insight.account_currency.clone().unwrap_or_else(|| account.currency.clone()).to_uppercase();
        let spend_minor = insight.spend.as_deref().and_then(parse_minor).unwrap_or(0);
        let kzt_micro = match currency.as_str() {
            "KZT" => 1_000_000,
            _ => match rates.get(&(currency.clone(), day)) {
                Some(rate) => *rate,
                None => {
                    let rate = rate_on(&mut conn, &currency, day)
                        .await?
                        .or_else(|| fallback_rate(fallback_rates, &currency))
                        .ok_or_else(|| JobFailure::Permanent {
                            message: format!("нет курса {currency} → KZT на {}", insight.date_start),
                        })?;
                    rates.insert((currency.clone(), day), rate);
                    rate
                }
            },
        };
        let (team_id, rule) = match account.team_id {
            Some(team_id) => (Some(team_id), "account".to_owned()),
            None => {
                let attribution =
                    attribute_ad(&attributor, insight.campaign_name.as_deref(), insight.ad_name.as_deref());
                (attribution.team_id, attribution.rule)
            }
        };
        rows.push(SpendRow {
            account_id: account.account_id.clone(),
            day,
            ad_id: insight.ad_id,
            ad_name: insight.ad_name,
            adset_id: insight.adset_id,
            adset_name: insight.adset_name,
            campaign_id: insight.campaign_id,
            campaign_name: insight.campaign_name,
            impressions: parse_count(insight.impressions.as_deref()),
            clicks: parse_count(insight.clicks.as_deref()),
            spend_kzt_minor: to_tenge_minor(spend_minor, kzt_micro),
            currency,
            spend_minor,
            team_id,
            attribution_rule: Some(rule),
        });
    }
    drop(conn);
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    replace_spend(&mut tx, &account.account_id, day_number(since), day_number(until), &rows, now).await?;
    record_account_sync(&mut tx, &account.account_id, None, now).await?;
    tx.commit().await?;
    Ok(rows.len())
}

fn fallback_rate(rates: &[(String, f64)], currency: &str) -> Option<i64> {
    rates.iter().find(|(name, _)| name == currency).map(|(_, rate)| (rate * 1_000_000.0).round() as i64)
}

/// Hundredths of a currency at `kzt_micro` millionths of tenge per unit, as tiyn.
fn to_tenge_minor(minor: i64, kzt_micro: i64) -> i64 {
    let product = i128::from(minor) * i128::from(kzt_micro);
    i64::try_from((product + 500_000) / 1_000_000).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn foreign_spend_converts_to_tiyn() {
        // 12.34 USD at 505.2 ₸ = 6 234.168 ₸.
        assert_eq!(to_tenge_minor(1_234, 505_200_000), 623_417);
        assert_eq!(to_tenge_minor(1_234, 1_000_000), 1_234);
        assert_eq!(fallback_rate(&[("USD".into(), 505.2)], "USD"), Some(505_200_000));
        assert_eq!(fallback_rate(&[("USD".into(), 505.2)], "EUR"), None);
    }
}
