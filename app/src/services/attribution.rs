//! Attribution writes shared by jobs and requests: a chunk of leads or sales attributed
//! again, and ad spend attributed by its account's team or its ads' names.

use crate::db::spend::{account_ad_names, set_ad_team, unassigned_accounts};
use crate::db::team::{attribution_rules, set_attribution, tags_after, Attributed};
use crate::db::Db;
use crate::domain::attribution::{Attribution, Attributor, UtmTags};
use crate::time::now_ms;

/// Leads or sales attributed again per run of the re-attribution job.
const CHUNK: i64 = 2_000;

/// Attributes up to 2,000 leads or sales after id `after` again with the current rules, in
/// one transaction; returns the last id done and how many changed, or `None` when none is
/// left.
pub async fn reattribute_chunk(db: &Db, what: Attributed, after: i64) -> Result<Option<(i64, i64)>, sqlx::Error> {
    let mut conn = db.pool().acquire().await?;
    let attributor = Attributor::new(&attribution_rules(&mut conn).await?);
    let rows = tags_after(&mut conn, what, after, CHUNK).await?;
    drop(conn);
    let Some(last) = rows.last().map(|row| row.id) else { return Ok(None) };
    let now = now_ms();
    let mut changed = 0;
    let mut tx = db.begin_write().await?;
    for row in &rows {
        let attribution = attributor.attribute(UtmTags {
            source: row.utm_source.as_deref(),
            medium: row.utm_medium.as_deref(),
            campaign: row.utm_campaign.as_deref(),
            slug: row.campaign_slug.as_deref(),
        });
        let same = row.team_id == attribution.team_id
            && row.attribution_confidence.as_deref() == Some(attribution.confidence.as_str())
            && row.attribution_rule.as_deref() == Some(attribution.rule.as_str());
        if !same {
            set_attribution(&mut tx, what, row.id, &attribution, now).await?;
            changed += 1;
        }
    }
    tx.commit().await?;
    Ok(Some((last, changed)))
}

/// The team an ad of an account without a team belongs to, by the teams' UTM patterns in
/// its campaign name, else its ad name (the same engine as leads).
pub fn attribute_ad(attributor: &Attributor, campaign_name: Option<&str>, ad_name: Option<&str>) -> Attribution {
    attributor.attribute(UtmTags { source: None, medium: ad_name, campaign: campaign_name, slug: None })
}

/// Sets the team of every stored ad of an account: the account's team, or by the ads'
/// names when it has none.
pub async fn attribute_account_spend(
    conn: &mut sqlx::AnyConnection,
    attributor: &Attributor,
    account_id: &str,
    team_id: Option<i64>,
) -> Result<(), sqlx::Error> {
    for (ad_id, ad_name, campaign_name) in account_ad_names(conn, account_id).await? {
        let (team, rule) = match team_id {
            Some(team_id) => (Some(team_id), "account".to_owned()),
            None => {
                let attribution = attribute_ad(attributor, campaign_name.as_deref(), ad_name.as_deref());
                (attribution.team_id, attribution.rule)
            }
        };
        set_ad_team(conn, account_id, &ad_id, team, &rule).await?;
    }
    Ok(())
}

/// Attributes the spend of every account without a team again by its ads' names, after
/// the teams' patterns changed.
pub async fn reattribute_unassigned_spend(db: &Db) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let attributor = Attributor::new(&attribution_rules(&mut tx).await?);
    for account_id in unassigned_accounts(&mut tx).await? {
        attribute_account_spend(&mut tx, &attributor, &account_id, None).await?;
    }
    tx.commit().await
}
