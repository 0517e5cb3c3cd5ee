//! Synthetic demo data: leads over the last days with UTM tags that exercise every
//! attribution rule, phones typed in every common shape, and realistic delivery and CRM
//! statuses. Every name, email and phone is made up (emails use `example.com`).

use chrono::Duration as Days;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::db::lead::{insert_seed_leads, rebuild_lead_stats, LeadSeed};
use crate::db::team::max_lead_id;
use crate::db::Db;
use crate::jobs::attribution::reattribute_chunk;
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
/// SPEC §6: `fb_<team>`, patterns in source, campaign and medium, overlaps, Cyrillic,
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
                email_status,
                sms_status,
                crm_deal_id: (age_ms > 60_000 && rng.gen_bool(0.9)).then(|| 30_000_000 + n as i64),
            }
        })
        .collect()
}

/// Generates and stores demo leads in one transaction, recomputes the counters, then
/// attributes the new leads to teams with the current rules.
pub async fn load(db: &Db, options: DemoOptions) -> anyhow::Result<u64> {
    let leads = generate(options);
    let mut tx = db.pool().begin().await?;
    let mut after = max_lead_id(&mut tx).await?;
    insert_seed_leads(&mut tx, &leads).await?;
    rebuild_lead_stats(&mut tx).await?;
    tx.commit().await?;
    while let Some((last, _)) = reattribute_chunk(db, after).await? {
        after = last;
    }
    Ok(leads.len() as u64)
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
        let leads = generate(DemoOptions { leads: 200, days: 90, seed: 7 });
        assert_eq!(leads.len(), 200);
        for lead in &leads {
            assert_eq!(Phone::parse(&lead.phone_raw).map(|p| p.as_str().to_owned()), Ok(lead.phone_e164.clone()));
            assert!(lead.email.ends_with("@example.com"));
        }
        assert!(leads.windows(2).all(|pair| pair[0].created_at <= pair[1].created_at));
    }
}
