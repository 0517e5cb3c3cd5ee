//! Synthetic demo data: leads over the last days with UTM tags that exercise every
//! attribution rule, phones typed in every common shape, and realistic delivery and CRM
//! statuses. Every name, email and phone is made up (emails use `example.com`).

use chrono::Duration as Days;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::db::lead::{insert_seed_leads, rebuild_lead_stats, LeadSeed};
use crate::db::sale::{demo_sale_sources, insert_sales, NewSale};
use crate::db::spend::{upsert_ad_account, upsert_spend, SpendRow};
use crate::db::team::{attribution_rules, max_lead_id, Attributed};
use crate::db::Db;
use crate::domain::attribution::{Attributor, UtmTags};
use crate::services::attribution::reattribute_chunk;
use crate::time::day_number;
use crate::time::{almaty_day, almaty_day_start_ms, now_ms, today_almaty};

/// How much demo data to make.
#[derive(Debug, Clone, Copy)]
pub struct DemoOptions {
    /// Leads in total.
    pub leads: u64,
    /// Spread over this many days up to now.
    pub days: u32,
    /// Seed of the generator: the same seed gives the same data.
    pub seed: u64,
    /// The demo ads ([`load_spend`]): leads with UTM tags name one of them in
    /// `utm_content`, as Facebook's `{{ad.id}}` parameter would.
    pub ads: u32,
}

const FIRST_NAMES: &[&str] = &[
    "Айгерим",
    "Данияр",
    "Асель",
    "Ерлан",
    "Мадина",
    "Нурлан",
    "Алия",
    "Тимур",
    "Жанна",
    "Арман",
    "Динара",
    "Бауыржан",
    "Сауле",
    "Ержан",
    "Камила",
    "Олжас",
];
const LAST_INITIALS: &[&str] = &["А.", "Б.", "Д.", "Е.", "Ж.", "К.", "М.", "Н.", "О.", "С.", "Т."];

/// (`utm_source`, `utm_medium`, `utm_campaign`) triples covering the attribution rules of
/// The rules of `docs/product.md`, "Attribution": `fb_<team>`, patterns in source, campaign and medium, overlaps, Cyrillic,
/// and traffic that matches no team.
const TRAFFIC: &[(Option<&str>, Option<&str>, Option<&str>)] = &[
    (Some("fb_kenesary"), Some("cpc"), Some("tripwire_nov")),
    (Some("fb_arystan"), Some("cpc"), Some("ar_leadform")),
    (Some("fb_muha"), Some("cpc"), Some("запуск_курса")),
    (Some("fb_traf4"), Some("cpc"), Some("proftest_main")),
    (Some("facebook"), Some("paid"), Some("nutrients_retarget")),
    (Some("instagram"), Some("rm_almaty"), Some("stories")),
    (Some("ig"), Some("cpc"), Some("onai_webinar")),
    (Some("facebook"), Some("cpc"), Some("pb_agency_test")),
    (Some("alex_ads"), Some("cpc"), None),
    (Some("yourmarketolog"), None, None),
    (Some("google"), Some("organic"), None),
    (None, None, None),
];

const SOURCES: &[&str] = &["proftest", "proftest", "proftest_spring", "proftest_webinar", "express"];
const PAYMENT_METHODS: &[&str] = &["kaspi", "halyk", "prodamus", "robokassa"];

/// Builds `options.leads` synthetic leads, oldest first.
pub fn generate(options: DemoOptions) -> Vec<LeadSeed> {
    let mut rng = StdRng::seed_from_u64(options.seed);
    let now = now_ms();
    let first_day = today_almaty() - Days::days(i64::from(options.days.max(1)) - 1);
    let span_ms = (now - almaty_day_start_ms(first_day)).max(1);
    let start_ms = now - span_ms;
    let mut times: Vec<i64> = (0..options.leads).map(|_| start_ms + rng.gen_range(0..span_ms)).collect();
    times.sort_unstable();
    times
        .into_iter()
        .enumerate()
        .map(|(n, created_at)| {
            let day = almaty_day(created_at);
            let source = SOURCES[rng.gen_range(0..SOURCES.len())];
            let (utm_source, utm_medium, utm_campaign) = TRAFFIC[rng.gen_range(0..TRAFFIC.len())];
            let name = format!(
                "{} {}",
                FIRST_NAMES[rng.gen_range(0..FIRST_NAMES.len())],
                LAST_INITIALS[rng.gen_range(0..LAST_INITIALS.len())]
            );
            let subscriber: u32 = rng.gen_range(0..10_000);
            let operator = ["700", "701", "702", "705", "707", "747", "771", "775", "777", "778"][rng.gen_range(0..10)];
            let phone_e164 = format!("+7{operator}000{subscriber:04}");
            let phone_raw = typed_phone(&mut rng, operator, subscriber);
            let age_ms = now - created_at;
            let notified = age_ms > 600_000;
            let email_status = if !notified {
                "pending"
            } else {
                pick(
                    &mut rng,
                    &[("sent", 30), ("delivered", 20), ("opened", 30), ("clicked", 15), ("error", 3), ("bounced", 2)],
                )
            };
            let sms_status =
                if !notified { "pending" } else { pick(&mut rng, &[("sent", 10), ("delivered", 85), ("error", 5)]) };
            let express = source == "express";
            LeadSeed {
                created_at,
                created_day: day,
                kind: if express { "express" } else { "proftest" },
                source: source.to_owned(),
                campaign_slug: source.strip_prefix("proftest_").map(str::to_owned),
                email: format!("demo.lead{}@example.com", n + 1),
                name,
                phone_e164,
                phone_raw,
                payment_method: express.then(|| PAYMENT_METHODS[rng.gen_range(0..PAYMENT_METHODS.len())]),
                utm_source: utm_source.map(str::to_owned),
                utm_medium: utm_medium.map(str::to_owned),
                utm_campaign: utm_campaign.map(str::to_owned),
                utm_content: (utm_source.is_some() && options.ads > 0)
                    .then(|| demo_ad_id(rng.gen_range(0..options.ads))),
                email_status,
                sms_status,
                crm_deal_id: (age_ms > 60_000 && rng.gen_bool(0.9)).then(|| 30_000_000 + n as i64),
            }
        })
        .collect()
}

/// The demo ad account that serves several teams and has none assigned yet.
const SHARED_ACCOUNT: &str = "act_demo_shared";

/// One lead in this many buys the express course (5 000 ₸)…
const EXPRESS_EVERY: i64 = 22;
/// …and one in this many the flagship programme (490 000 ₸).
const FLAGSHIP_EVERY: i64 = 223;

/// Generates and stores demo leads in one transaction, recomputes the counters,
/// attributes the new leads to teams with the current rules, and sells to some of them.
pub async fn load(db: &Db, options: DemoOptions) -> anyhow::Result<u64> {
    let leads = generate(options);
    let mut tx = db.pool().begin().await?;
    let first_after = max_lead_id(&mut tx).await?;
    insert_seed_leads(&mut tx, &leads).await?;
    rebuild_lead_stats(&mut tx).await?;
    tx.commit().await?;
    let mut after = first_after;
    while let Some((last, _)) = reattribute_chunk(db, Attributed::Lead, after).await? {
        after = last;
    }
    load_sales(db, first_after, options.seed).await?;
    Ok(leads.len() as u64)
}

/// Sales to some of the leads after `after_lead_id`, a few hours to three days after they
/// signed up (never in the future), with the leads' tags and attribution.
async fn load_sales(db: &Db, after_lead_id: i64, seed: u64) -> anyhow::Result<()> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5a1e);
    let mut conn = db.pool().acquire().await?;
    let attributor = Attributor::new(&attribution_rules(&mut conn).await?);
    let sources = demo_sale_sources(&mut conn, after_lead_id, EXPRESS_EVERY, FLAGSHIP_EVERY).await?;
    let now = now_ms();
    let mut sales = Vec::with_capacity(sources.len());
    for lead in sources {
        let attribution = attributor.attribute(UtmTags {
            source: lead.utm_source.as_deref(),
            medium: lead.utm_medium.as_deref(),
            campaign: lead.utm_campaign.as_deref(),
            slug: lead.campaign_slug.as_deref(),
        });
        for (product, every, amount, deal_base) in
            [("express", EXPRESS_EVERY, 5_000, 50_000_000), ("flagship", FLAGSHIP_EVERY, 490_000, 60_000_000)]
        {
            if lead.lead_id % every != 0 {
                continue;
            }
            let sold_at = (lead.created_at + rng.gen_range(3_600_000..259_200_000)).min(now);
            sales.push(NewSale {
                crm_deal_id: deal_base + lead.lead_id,
                product,
                amount,
                sold_at,
                sold_day: almaty_day(sold_at),
                lead_id: Some(lead.lead_id),
                contact_name: Some(lead.name.clone()),
                utm_source: lead.utm_source.clone(),
                utm_medium: lead.utm_medium.clone(),
                utm_campaign: lead.utm_campaign.clone(),
                attribution: attribution.clone(),
            });
        }
    }
    drop(conn);
    let mut tx = db.pool().begin().await?;
    insert_sales(&mut tx, &sales, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Demo ad accounts (one per active team, and one shared account not yet assigned to any
/// team whose campaigns match no team) with `ads` ads between them, and their daily spend,
/// clicks and impressions over the last `days` Almaty days, about `daily_budget` tenge a
/// day in all. Running it again replaces the same rows.
pub async fn load_spend(db: &Db, days: u32, ads: u32, daily_budget: i64, seed: u64) -> anyhow::Result<u64> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5bed);
    let now = now_ms();
    let mut conn = db.pool().acquire().await?;
    let teams = attribution_rules(&mut conn).await?;
    drop(conn);
    if teams.is_empty() || ads == 0 {
        return Ok(0);
    }
    let per_ad_minor = (daily_budget * 100 / i64::from(ads)).max(100);
    let today = today_almaty();
    let mut tx = db.pool().begin().await?;
    for team in &teams {
        let account_id = format!("act_demo_{}", team.team_id);
        upsert_ad_account(&mut tx, &account_id, &format!("Демо-кабинет {}", team.name), "KZT", Some(team.team_id), now)
            .await?;
    }
    upsert_ad_account(&mut tx, SHARED_ACCOUNT, "Демо-кабинет общий", "KZT", None, now).await?;
    let mut rows = Vec::new();
    for ad in 0..ads {
        // Every fifth ad runs in the shared account, under a campaign no pattern matches.
        let shared = ad % 5 == 4;
        let team = &teams[ad as usize % teams.len()];
        let tag = if shared {
            "general".to_owned()
        } else {
            team.patterns.first().cloned().unwrap_or_else(|| team.name.to_lowercase())
        };
        let (account_id, team_id, rule) = if shared {
            (SHARED_ACCOUNT.to_owned(), None, "нет совпадений")
        } else {
            (format!("act_demo_{}", team.team_id), Some(team.team_id), "account")
        };
        let campaign_id = format!("demo-campaign-{}-{}", team_id.unwrap_or_default(), ad % 5 + 1);
        let adset = ad / 5 % 2 + 1;
        for back in 0..days.max(1) {
            let spend_minor = per_ad_minor * rng.gen_range(50..150) / 100;
            let clicks = spend_minor / rng.gen_range(8_000..20_000);
            rows.push(SpendRow {
                account_id: account_id.clone(),
                day: day_number(today - Days::days(i64::from(back))),
                ad_id: demo_ad_id(ad),
                ad_name: Some(format!("{tag} — объявление {}", ad + 1)),
                adset_id: Some(format!("{campaign_id}-set-{adset}")),
                adset_name: Some(format!("Аудитория {adset}")),
                campaign_id: Some(campaign_id.clone()),
                campaign_name: Some(format!("{tag}_campaign_{}", ad % 5 + 1)),
                impressions: clicks * rng.gen_range(40..90),
                clicks,
                currency: "KZT".into(),
                spend_minor,
                spend_kzt_minor: spend_minor,
                team_id,
                attribution_rule: Some(rule.into()),
            });
        }
    }
    upsert_spend(&mut tx, &rows, now).await?;
    tx.commit().await?;
    Ok(rows.len() as u64)
}

/// The id of the `n`-th demo ad.
fn demo_ad_id(n: u32) -> String {
    format!("demo-ad-{n}")
}

/// The number as a person might have typed it.
fn typed_phone(rng: &mut StdRng, operator: &str, subscriber: u32) -> String {
    let (a, b) = (subscriber / 100, subscriber % 100);
    match rng.gen_range(0..4) {
        0 => format!("+7 ({operator}) 000-{a:02}-{b:02}"),
        1 => format!("8{operator}000{subscriber:04}"),
        2 => format!("{operator}000{subscriber:04}"),
        _ => format!("+7 {operator} 000-{a:02}-{b:02}"),
    }
}

fn pick(rng: &mut StdRng, weighted: &[(&'static str, u32)]) -> &'static str {
    let total: u32 = weighted.iter().map(|(_, weight)| weight).sum();
    let mut roll = rng.gen_range(0..total);
    for (value, weight) in weighted {
        if roll < *weight {
            return value;
        }
        roll -= weight;
    }
    weighted[0].0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::phone::Phone;

    #[test]
    fn demo_phones_are_valid_and_typed_in_many_shapes() {
        let leads = generate(DemoOptions { leads: 200, days: 90, seed: 7, ads: 12 });
        assert_eq!(leads.len(), 200);
        // Tagged traffic names one of the twelve demo ads, as Facebook's {{ad.id}} would.
        let ads: Vec<&str> = leads.iter().filter_map(|lead| lead.utm_content.as_deref()).collect();
        assert!(!ads.is_empty() && ads.iter().all(|ad| (0..12).any(|n| *ad == format!("demo-ad-{n}"))));
        for lead in &leads {
            assert_eq!(Phone::parse(&lead.phone_raw).map(|p| p.as_str().to_owned()), Ok(lead.phone_e164.clone()));
            assert!(lead.email.ends_with("@example.com"));
        }
        assert!(leads.windows(2).all(|pair| pair[0].created_at <= pair[1].created_at));
    }
}
