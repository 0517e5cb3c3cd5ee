//! The funnel (`GET /api/traffic-dashboard/funnel`, `/traffic/cabinet/:team`): numbers
//! checked against values this test computes on its own from UTC timestamps, who may see
//! which team, and re-attribution moving leads and sales between teams.

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde_json::Value;

use app::db::lead::{insert_seed_leads, rebuild_lead_stats, LeadSeed};
use app::db::sale::{insert_sales, NewSale};
use app::db::spend::{upsert_spend, SpendRow};
use app::db::team::{find_team_by_name, list_teams, Attributed};
use app::domain::attribution::{Attribution, Confidence};
use app::domain::team_input::TeamFields;
use app::models::{Role, TeamInput};
use app::services::attribution::reattribute_chunk;
use app::services::teams::save_team;
use app::time::{almaty_day, now_ms};

use crate::helpers::{on_both_engines, TestApp};

/// UTM sources of the dataset and the team `docs/product.md` gives each.
const SOURCES: [(&str, Option<&str>); 4] = [
    ("fb_kenesary", Some("Kenesary")),
    ("fb_arystan", Some("Arystan")),
    ("google", None),
    ("KENESARY_promo", Some("Kenesary")),
];

/// Almaty is UTC+5 all year: the test's own clock, independent of `chrono-tz`.
fn almaty_date(utc_ms: i64) -> NaiveDate {
    let offset = FixedOffset::east_opt(5 * 3600).unwrap();
    DateTime::from_timestamp_millis(utc_ms).unwrap().with_timezone(&offset).date_naive()
}

fn utc_ms(rfc3339: &str) -> i64 {
    DateTime::parse_from_rfc3339(rfc3339).unwrap().timestamp_millis()
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

struct Lead {
    at: i64,
    source: usize,
    quiz: bool,
}

struct Sale {
    at: i64,
    source: usize,
    product: &'static str,
    amount: i64,
    cancelled: bool,
}

struct Spend {
    day: NaiveDate,
    team: Option<&'static str>,
    minor: i64,
    clicks: i64,
}

/// A fixed dataset around Almaty midnight of 10 March 2026 (19:00 UTC on the 9th).
struct Dataset {
    leads: Vec<Lead>,
    sales: Vec<Sale>,
    spend: Vec<Spend>,
}

impl Dataset {
    fn new() -> Self {
        let start = utc_ms("2026-03-08T18:00:00Z");
        let mut leads: Vec<Lead> =
            (0..240).map(|i| Lead { at: start + i * 1_397_000, source: (i % 4) as usize, quiz: i % 5 != 0 }).collect();
        // 23:50 Almaty on the 9th and 00:10 on the 10th.
        leads.push(Lead { at: utc_ms("2026-03-09T18:50:00Z"), source: 0, quiz: true });
        leads.push(Lead { at: utc_ms("2026-03-09T19:10:00Z"), source: 0, quiz: true });
        let mut sales: Vec<Sale> = (0..40)
            .map(|i| Sale {
                at: start + i * 7_980_000,
                source: (i % 4) as usize,
                product: if i % 7 == 0 { "flagship" } else { "express" },
                amount: if i % 7 == 0 {
                    490_000
                } else if i % 9 == 0 {
                    4_500
                } else {
                    5_000
                },
                cancelled: i == 13,
            })
            .collect();
        // 00:30 Almaty on the 10th: the sale the old UTC filter put on the 9th.
        sales.push(Sale {
            at: utc_ms("2026-03-09T19:30:00Z"),
            source: 0,
            product: "express",
            amount: 5_000,
            cancelled: false,
        });
        // Another pipeline's won deal: a sale, but not a funnel stage.
        sales.push(Sale {
            at: utc_ms("2026-03-10T12:00:00Z"),
            source: 0,
            product: "other",
            amount: 70_000,
            cancelled: false,
        });
        let mut spend = Vec::new();
        for (n, day) in date("2026-03-08").iter_days().take(6).enumerate() {
            let n = n as i64;
            spend.push(Spend { day, team: Some("Kenesary"), minor: 1_234_567 + n * 1_050, clicks: 300 + n });
            spend.push(Spend { day, team: Some("Arystan"), minor: 2_000_049 + n, clicks: 410 + 2 * n });
            spend.push(Spend { day, team: None, minor: 99_999, clicks: 7 });
        }
        Self { leads, sales, spend }
    }

    /// Stores the dataset through the app's own writes, then attributes leads and sales
    /// with the default rules.
    async fn store(&self, app: &TestApp) {
        let seeds: Vec<LeadSeed> = self
            .leads
            .iter()
            .enumerate()
            .map(|(n, lead)| LeadSeed {
                created_at: lead.at,
                created_day: almaty_day(lead.at),
                kind: if lead.quiz { "proftest" } else { "express" },
                source: if lead.quiz { "proftest".into() } else { "express".into() },
                campaign_slug: None,
                name: format!("Тестовый Лид {n}"),
                email: format!("funnel.lead{n}@example.com"),
                phone_e164: format!("+7705000{n:04}"),
                phone_raw: format!("8705000{n:04}"),
                payment_method: None,
                utm_source: Some(SOURCES[lead.source].0.to_owned()),
                utm_medium: Some("cpc".into()),
                utm_campaign: None,
                utm_content: None,
                email_status: "pending",
                sms_status: "pending",
                crm_deal_id: None,
            })
            .collect();
        let unattributed = Attribution { team_id: None, confidence: Confidence::Low, rule: "—".into() };
        let sales: Vec<NewSale> = self
            .sales
            .iter()
            .enumerate()
            .map(|(n, sale)| NewSale {
                crm_deal_id: 70_000 + n as i64,
                product: sale.product,
                amount: sale.amount,
                sold_at: sale.at,
                sold_day: almaty_day(sale.at),
                lead_id: None,
                contact_name: Some(format!("Покупатель {n}")),
                utm_source: Some(SOURCES[sale.source].0.to_owned()),
                utm_medium: None,
                utm_campaign: None,
                attribution: unattributed.clone(),
            })
            .collect();
        let mut conn = app.db.pool().acquire().await.unwrap();
        let mut team_ids = std::collections::HashMap::new();
        for name in ["Kenesary", "Arystan"] {
            team_ids.insert(name, find_team_by_name(&mut conn, name).await.unwrap().unwrap().team_id);
        }
        let spend: Vec<SpendRow> = self
            .spend
            .iter()
            .map(|row| SpendRow {
                account_id: "manual".into(),
                day: app::time::day_number(row.day),
                ad_id: format!("ad-{}", row.team.unwrap_or("none")),
                ad_name: None,
                adset_id: None,
                adset_name: None,
                campaign_id: None,
                campaign_name: None,
                impressions: row.clicks * 50,
                clicks: row.clicks,
                currency: "KZT".into(),
                spend_minor: row.minor,
                spend_kzt_minor: row.minor,
                team_id: row.team.map(|name| team_ids[name]),
                attribution_rule: None,
            })
            .collect();
        insert_seed_leads(&mut conn, &seeds).await.unwrap();
        rebuild_lead_stats(&mut conn).await.unwrap();
        insert_sales(&mut conn, &sales, now_ms()).await.unwrap();
        upsert_spend(&mut conn, &spend, now_ms()).await.unwrap();
        for (n, sale) in self.sales.iter().enumerate() {
            if sale.cancelled {
                sqlx::query("UPDATE sale SET cancelled_at = $1 WHERE crm_deal_id = $2")
                    .bind(now_ms())
                    .bind(70_000 + n as i64)
                    .execute(&mut *conn)
                    .await
                    .unwrap();
            }
        }
        drop(conn);
        for what in [Attributed::Lead, Attributed::Sale] {
            let mut after = 0;
            while let Some((last, _)) = reattribute_chunk(&app.db, what, after).await.unwrap() {
                after = last;
            }
        }
    }

    /// The funnel's figures, computed here: `(clicks, spend in tiyn, quiz leads, express
    /// sales, express revenue, flagship sales, flagship revenue)`.
    fn expected(&self, team: Option<&str>, start: &str, end: &str) -> [i64; 7] {
        let (start, end) = (date(start), date(end));
        let in_range = |day: NaiveDate| start <= day && day <= end;
        let of_team = |source: usize| team.is_none() || SOURCES[source].1 == team;
        let mut figures = [0; 7];
        for row in self.spend.iter().filter(|row| in_range(row.day) && (team.is_none() || row.team == team)) {
            figures[0] += row.clicks;
            figures[1] += row.minor;
        }
        figures[2] = self
            .leads
            .iter()
            .filter(|lead| lead.quiz && of_team(lead.source) && in_range(almaty_date(lead.at)))
            .count() as i64;
        for sale in
            self.sales.iter().filter(|sale| !sale.cancelled && of_team(sale.source) && in_range(almaty_date(sale.at)))
        {
            let (count, revenue) = match sale.product {
                "express" => (3, 4),
                "flagship" => (5, 6),
                _ => continue,
            };
            figures[count] += 1;
            figures[revenue] += sale.amount;
        }
        figures
    }
}

/// Checks a funnel answer against `[clicks, spend tiyn, leads, express, express ₸, flagship, flagship ₸]`.
fn assert_funnel(answer: &Value, expected: [i64; 7], days: usize) {
    let [clicks, spend_minor, leads, express, express_revenue, flagship, flagship_revenue] = expected;
    let stage = |n: usize, field: &str| answer["stages"][n][field].clone();
    assert_eq!(stage(0, "count"), clicks, "{answer}");
    let spend = (spend_minor + 50) / 100;
    assert_eq!(stage(0, "money"), spend);
    assert_eq!(answer["spend"], spend);
    assert_eq!(
        (stage(1, "count"), stage(2, "count"), stage(3, "count")),
        (leads.into(), express.into(), flagship.into())
    );
    assert_eq!((stage(2, "money"), stage(3, "money")), (express_revenue.into(), flagship_revenue.into()));
    assert_eq!(answer["revenue"], express_revenue + flagship_revenue);
    let close = |value: &Value, expected: f64| (value.as_f64().unwrap() - expected).abs() < 1e-6;
    assert!(close(&stage(1, "conversion"), leads as f64 * 100.0 / clicks as f64), "{answer}");
    assert!(close(&stage(2, "conversion"), express as f64 * 100.0 / leads as f64), "{answer}");
    assert!(close(&stage(3, "conversion"), flagship as f64 * 100.0 / express as f64), "{answer}");
    assert_eq!(stage(1, "cost_per_result"), ((spend_minor as f64 / leads as f64) / 100.0).round() as i64);
    let spend_tenge = spend_minor as f64 / 100.0;
    let roi = ((express_revenue + flagship_revenue) as f64 - spend_tenge) / spend_tenge * 100.0;
    assert!(close(&answer["roi"], roi), "roi {} ≠ {roi}", answer["roi"]);
    let daily = answer["daily"].as_array().unwrap();
    assert_eq!(daily.len(), days);
    assert_eq!(daily.iter().map(|day| day["quiz_leads"].as_i64().unwrap()).sum::<i64>(), leads);
}

on_both_engines!(funnel_numbers_match_an_independent_count_across_almaty_midnight, |app| {
    let data = Dataset::new();
    data.store(&app).await;
    let admin = app.token_for("funnel.admin", Role::Admin, None).await;
    let funnel = |query: String| {
        let (app, admin) = (&app, admin.clone());
        async move { app.get_json(&format!("/api/traffic-dashboard/funnel?{query}"), Some(&admin)).await }
    };

    for (team, start, end, days) in [
        (Some("Kenesary"), "2026-03-10", "2026-03-11", 2),
        (None, "2026-03-10", "2026-03-11", 2),
        (Some("Arystan"), "2026-03-08", "2026-03-13", 6),
        (None, "2026-03-08", "2026-03-13", 6),
        // The day before midnight: the 23:50 lead counts, the 00:10 lead and 00:30 sale do not.
        (Some("Kenesary"), "2026-03-09", "2026-03-09", 1),
    ] {
        let team_param = team.map(|name| format!("team={name}&")).unwrap_or_default();
        let answer = funnel(format!("{team_param}start={start}&end={end}")).await;
        assert_funnel(&answer, data.expected(team, start, end), days);
        assert_eq!(answer["team"]["name"].as_str(), team);
    }

    // The boundary items land on the right side of midnight.
    let ninth = funnel("team=Kenesary&start=2026-03-09&end=2026-03-09".into()).await;
    let tenth = funnel("team=Kenesary&start=2026-03-10&end=2026-03-10".into()).await;
    let both = funnel("team=Kenesary&start=2026-03-09&end=2026-03-10".into()).await;
    let leads = |answer: &Value| answer["stages"][1]["count"].as_i64().unwrap();
    let express = |answer: &Value| answer["stages"][2]["count"].as_i64().unwrap();
    assert_eq!(leads(&ninth) + leads(&tenth), leads(&both));
    assert_eq!(express(&tenth), data.expected(Some("Kenesary"), "2026-03-10", "2026-03-10")[3]);
    assert!(express(&tenth) >= 1, "the 00:30 sale counts on the 10th");

    // A range without data is zeros and no ratios, not an error.
    let empty = funnel("team=Kenesary&start=2025-01-01&end=2025-01-31".into()).await;
    assert_eq!(empty["stages"][2]["count"], 0);
    assert_eq!(empty["stages"][2]["conversion"], Value::Null);
    assert_eq!(empty["roi"], Value::Null);
    let backwards = app
        .client
        .get(app.url("/api/traffic-dashboard/funnel?start=2026-03-10&end=2026-03-01"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(backwards.status(), 422);
});

on_both_engines!(a_targetologist_sees_only_their_own_team, |app| {
    let buyer = app.token_for("kenesary.buyer", Role::Targetologist, Some("Kenesary")).await;
    let admin = app.token_for("funnel.admin", Role::Admin, None).await;
    let status = |path: &'static str, token: Option<String>| {
        let app = &app;
        async move {
            let mut request = app.client.get(app.url(path));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            request.send().await.unwrap().status().as_u16()
        }
    };
    let as_buyer = || Some(buyer.clone());
    let as_admin = || Some(admin.clone());
    assert_eq!(status("/api/traffic-dashboard/funnel?team=Arystan", as_buyer()).await, 403);
    assert_eq!(status("/api/traffic-dashboard/funnel?team=all", as_buyer()).await, 403);
    assert_eq!(status("/api/traffic-dashboard/funnel?team=NoSuchTeam", as_buyer()).await, 403);
    assert_eq!(status("/api/traffic-dashboard/funnel?team=kenesary", as_buyer()).await, 200);
    assert_eq!(status("/api/traffic-dashboard/funnel", None).await, 401);
    assert_eq!(status("/api/traffic-dashboard/funnel?team=Arystan", as_admin()).await, 200);
    assert_eq!(status("/api/traffic-dashboard/funnel?team=NoSuchTeam", as_admin()).await, 404);
    // The server function the page calls, called directly.
    assert_eq!(status("/api/traffic/funnel?query%5Bteam%5D=Arystan", as_buyer()).await, 403);
    assert_eq!(status("/api/traffic/funnel?query%5Bteam%5D=Kenesary", as_buyer()).await, 200);
    assert_eq!(status("/api/traffic/funnel?query%5Bteam%5D=Arystan", as_admin()).await, 200);
    // Without a team, a targetologist gets their own and an admin gets all.
    let own = app.get_json("/api/traffic-dashboard/funnel", as_buyer().as_deref()).await;
    assert_eq!(own["team"]["name"], "Kenesary");
    assert_eq!(own["switchable"], Value::Array(Vec::new()));
    let all = app.get_json("/api/traffic-dashboard/funnel", as_admin().as_deref()).await;
    assert_eq!(all["team"], Value::Null);
    assert_eq!(all["switchable"].as_array().unwrap().len(), 4);

    // The page itself, with a browser session.
    app.create_user("arystan.buyer", "s3cret-password", Role::Targetologist, Some("Arystan")).await;
    let signed_in = app
        .client
        .post(app.url("/api/auth/sign_in"))
        .form(&[("login", "arystan.buyer"), ("password", "s3cret-password")])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.headers()["location"], "/traffic/cabinet", "a targetologist starts at their funnel");
    let other = app.client.get(app.url("/traffic/cabinet/Kenesary")).send().await.unwrap();
    assert_eq!(other.status(), 403);
    assert!(other.text().await.unwrap().contains("Недостаточно прав"));
    let mine = app.client.get(app.url("/traffic/cabinet/Arystan")).send().await.unwrap();
    assert_eq!(mine.status(), 200);
    let html = mine.text().await.unwrap();
    assert!(html.contains("🦁 Arystan</h1>") && html.contains("Лиды ProfTest"), "{html}");
    assert_eq!(app.client.get(app.url("/traffic/cabinet")).send().await.unwrap().status(), 200);
});

on_both_engines!(changing_a_teams_patterns_moves_leads_and_sales_in_the_funnel, |app| {
    let admin = app.token_for("funnel.admin", Role::Admin, None).await;
    for n in 0..3 {
        app.post_lead_with(serde_json::json!({
            "email": format!("spring{n}@example.com"), "utm_source": "partner", "utm_campaign": "spring_wave"
        }))
        .await;
    }
    let now = now_ms();
    let unattributed = Attribution { team_id: None, confidence: Confidence::Low, rule: "—".into() };
    let sale = NewSale {
        crm_deal_id: 555,
        product: "express",
        amount: 5_000,
        sold_at: now,
        sold_day: almaty_day(now),
        lead_id: None,
        contact_name: None,
        utm_source: Some("partner".into()),
        utm_medium: None,
        utm_campaign: Some("spring_wave".into()),
        attribution: unattributed,
    };
    let mut conn = app.db.pool().acquire().await.unwrap();
    insert_sales(&mut conn, &[sale], now).await.unwrap();
    let muha = list_teams(&mut conn).await.unwrap().into_iter().find(|team| team.name == "Muha").unwrap();
    drop(conn);
    let muha_funnel = || app.get_json("/api/traffic-dashboard/funnel?team=Muha&range=today", Some(&admin));
    let before = muha_funnel().await;
    assert_eq!((before["stages"][1]["count"].as_i64(), before["stages"][2]["count"].as_i64()), (Some(0), Some(0)));

    let input = TeamInput {
        name: muha.name.clone(),
        emoji: muha.emoji.clone(),
        color: muha.color.clone(),
        patterns: format!("{}, spring_wave", muha.patterns.join(", ")),
        ..TeamInput::default()
    };
    save_team(&app.services, Some(muha.team_id), &TeamFields::parse(&input).unwrap()).await.unwrap();
    while app.run_jobs_after(std::time::Duration::ZERO).await > 0 {}

    let after = muha_funnel().await;
    assert_eq!(after["stages"][1]["count"], 3, "{after}");
    assert_eq!(after["stages"][2]["count"], 1);
    assert_eq!(after["stages"][2]["money"], 5_000);
});

on_both_engines!(a_quiz_slug_attributes_leads_without_utm_tags_and_rules_move_them, |app| {
    let admin = app.token_for("slug.admin", Role::Admin, None).await;
    let kenesary = app.post_lead_with(serde_json::json!({ "email": "slug1@example.com", "slug": "kenesary" })).await;
    let spring = app.post_lead_with(serde_json::json!({ "email": "slug2@example.com", "slug": "spring" })).await;
    let tagged = app
        .post_lead_with(
            serde_json::json!({ "email": "slug3@example.com", "slug": "spring", "utm_source": "fb_arystan" }),
        )
        .await;
    let db = app.db.clone();
    let team_of = |lead_id: i64| {
        let db = db.clone();
        async move {
            sqlx::query_as::<_, (Option<String>, Option<String>)>(
                "SELECT team.name, lead.attribution_rule FROM lead LEFT JOIN team USING (team_id) WHERE lead_id = $1",
            )
            .bind(lead_id)
            .fetch_one(db.pool())
            .await
            .unwrap()
        }
    };
    assert_eq!(team_of(kenesary).await, (Some("Kenesary".into()), Some("«kenesary» в slug квиза".into())));
    assert_eq!(team_of(spring).await.0, None);
    assert_eq!(team_of(tagged).await.0, Some("Arystan".into()), "matching UTM tags come first");
    let funnel = app.get_json("/api/traffic-dashboard/funnel?team=Kenesary&range=today", Some(&admin)).await;
    assert_eq!(funnel["stages"][1]["count"], 1, "{funnel}");

    // Muha takes the `spring` quiz: the stored lead moves; the tagged one stays Arystan's.
    let mut conn = app.db.pool().acquire().await.unwrap();
    let muha = list_teams(&mut conn).await.unwrap().into_iter().find(|team| team.name == "Muha").unwrap();
    drop(conn);
    let input = TeamInput {
        name: muha.name.clone(),
        emoji: muha.emoji.clone(),
        color: muha.color.clone(),
        patterns: format!("{}, spring", muha.patterns.join(", ")),
        ..TeamInput::default()
    };
    save_team(&app.services, Some(muha.team_id), &TeamFields::parse(&input).unwrap()).await.unwrap();
    while app.run_jobs_after(std::time::Duration::ZERO).await > 0 {}
    assert_eq!(team_of(spring).await, (Some("Muha".into()), Some("«spring» в slug квиза".into())));
    assert_eq!(team_of(tagged).await.0, Some("Arystan".into()));
    let listed = app.get_json("/api/lead-tracking/leads?q=slug2%40example.com", Some(&admin)).await;
    assert_eq!(listed["leads"][0]["team"], "Muha", "{listed}");
});

on_both_engines!(manual_spend_feeds_the_funnel_and_only_admins_enter_it, |app| {
    let admin = app.token_for("funnel.admin", Role::Admin, None).await;
    let buyer = app.token_for("kenesary.buyer", Role::Targetologist, Some("Kenesary")).await;
    let mut conn = app.db.pool().acquire().await.unwrap();
    let kenesary = find_team_by_name(&mut conn, "Kenesary").await.unwrap().unwrap().team_id;
    drop(conn);
    let enter = |token: &str, date: &str, amount: &str| {
        let form = [("team_id", kenesary.to_string()), ("date", date.to_owned()), ("amount", amount.to_owned())];
        app.client.post(app.url("/api/traffic/manual_spend")).bearer_auth(token).form(&form).send()
    };
    assert_eq!(enter(&buyer, "2026-03-10", "1000").await.unwrap().status(), 403);
    assert_eq!(enter(&admin, "2026-03-10", "много").await.unwrap().status(), 422);
    assert_eq!(enter(&admin, "10.03.2026", "1000").await.unwrap().status(), 422);
    assert_eq!(app.count("SELECT COUNT(*) FROM ad_spend").await, 0, "refused entries store nothing");

    assert!(enter(&admin, "2026-03-10", "150 000").await.unwrap().status().is_success());
    assert!(enter(&admin, "2026-03-11", "50000").await.unwrap().status().is_success());
    let funnel =
        app.get_json("/api/traffic-dashboard/funnel?team=Kenesary&start=2026-03-10&end=2026-03-11", Some(&admin)).await;
    assert_eq!(funnel["spend"], 200_000);
    // Entering a day again replaces it; 0 removes it.
    assert!(enter(&admin, "2026-03-10", "100000").await.unwrap().status().is_success());
    assert!(enter(&admin, "2026-03-11", "0").await.unwrap().status().is_success());
    let funnel =
        app.get_json("/api/traffic-dashboard/funnel?team=Kenesary&start=2026-03-10&end=2026-03-11", Some(&admin)).await;
    assert_eq!(funnel["spend"], 100_000);
    assert_eq!(app.count("SELECT COUNT(*) FROM ad_spend").await, 1);
});

on_both_engines!(the_sales_tables_group_by_team_and_period_on_almaty_days, |app| {
    let mut conn = app.db.pool().acquire().await.unwrap();
    let kenesary = find_team_by_name(&mut conn, "Kenesary").await.unwrap().unwrap().team_id;
    let attributed = Attribution { team_id: Some(kenesary), confidence: Confidence::Medium, rule: "тест".into() };
    let none = Attribution { team_id: None, confidence: Confidence::Low, rule: "тест".into() };
    // Monday 9 March and Sunday 15 March 2026 are one week; 00:30 Almaty on Monday the
    // 16th (19:30 UTC on Sunday) starts the next.
    let sales = [
        ("2026-03-09T06:00:00Z", "express", 5_000, &attributed, "fb_kenesary"),
        ("2026-03-15T10:00:00Z", "flagship", 490_000, &attributed, "fb_kenesary"),
        ("2026-03-15T19:30:00Z", "express", 5_000, &attributed, "fb_kenesary"),
        ("2026-03-10T08:00:00Z", "express", 4_500, &none, "google"),
        ("2026-03-11T08:00:00Z", "other", 120_000, &attributed, "fb_kenesary"),
    ];
    let rows: Vec<NewSale> = sales
        .iter()
        .enumerate()
        .map(|(n, (at, product, amount, attribution, source))| NewSale {
            crm_deal_id: 900 + n as i64,
            product,
            amount: *amount,
            sold_at: utc_ms(at),
            sold_day: almaty_day(utc_ms(at)),
            lead_id: None,
            contact_name: None,
            utm_source: Some((*source).to_owned()),
            utm_medium: None,
            utm_campaign: None,
            attribution: (*attribution).clone(),
        })
        .collect();
    insert_sales(&mut conn, &rows, now_ms()).await.unwrap();
    drop(conn);
    let query = |by: &str| app::models::SalesReportQuery {
        start: Some("2026-03-01".into()),
        end: Some("2026-03-31".into()),
        by: Some(by.into()),
        ..Default::default()
    };
    let report = app::reports::sales_report(&app.db, &query("week")).await.unwrap();
    let by_team: Vec<(String, i64, i64, i64, i64)> = report
        .by_team
        .iter()
        .map(|row| (row.team.clone(), row.express_sales, row.flagship_sales, row.other_sales, row.revenue))
        .collect();
    assert_eq!(by_team, [("Kenesary".into(), 2, 1, 1, 620_000), ("Без команды".into(), 1, 0, 0, 4_500)]);
    let weeks: Vec<(String, String, i64, i64)> =
        report.by_period.iter().map(|row| (row.period.clone(), row.team.clone(), row.sales, row.revenue)).collect();
    assert_eq!(
        weeks,
        [
            ("16.03–22.03.2026".into(), "Kenesary".into(), 1, 5_000),
            ("09.03–15.03.2026".into(), "Kenesary".into(), 3, 615_000),
            ("09.03–15.03.2026".into(), "Без команды".into(), 1, 4_500),
        ]
    );
    let months = app::reports::sales_report(&app.db, &query("month")).await.unwrap();
    assert_eq!(months.by_period.len(), 2, "two teams in March");
    assert!(months.by_period.iter().all(|row| row.period == "Март 2026"));
    let google = report.sources.iter().find(|row| row.utm_source == "google").unwrap();
    assert_eq!((google.leads, google.sales, google.revenue, google.conversion), (0, 1, 4_500, None));
    assert!(matches!(
        app::reports::sales_report(&app.db, &query("year")).await,
        Err(app::error::AppError::Validation { .. })
    ));
});
