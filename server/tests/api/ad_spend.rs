//! Facebook ad accounts and spend against the fake Graph API: discovery, the daily sync
//! (paged insights, string metrics, a USD account, throttling, asynchronous report runs,
//! revised days), and the funnel's spend stage.

use std::time::Duration;

use serde_json::Value;

use app::db::job::enqueue_jobs;
use app::db::sale::{insert_sales, NewSale};
use app::db::spend::set_rate;
use app::db::team::{find_team_by_name, list_teams};
use app::domain::attribution::{Attribution, Confidence};
use app::domain::team_input::TeamFields;
use app::jobs::{ScheduleAdSpendSync, SyncAdSpend};
use app::models::{Role, TeamInput};
use app::queue::Registered;
use app::services::ad_accounts::{queue_discovery, save_account_settings};
use app::services::teams::save_team;
use app::time::{almaty_day, now_ms};
use secrecy::SecretString;

use crate::fakes::facebook::{AdDay, FakeGraph, TOKEN};
use crate::helpers::{with_each_engine, TestApp};

const DAYS: [&str; 3] = ["2026-03-09", "2026-03-10", "2026-03-11"];

/// Four ads a day in the main account (Kenesary), two in the shared one (campaigns named
/// for Arystan and for nobody) and one in the USD account.
fn dataset() -> Vec<AdDay> {
    let mut rows = Vec::new();
    for (d, day) in DAYS.iter().enumerate() {
        let d = d as i64;
        for ad in 0..4 {
            rows.push(AdDay {
                account_id: "act_1001".into(),
                day: (*day).into(),
                ad_id: format!("2386000{ad}"),
                campaign_name: "tripwire_march".into(),
                spend: format!("{}.{}", 10_000 + 1_111 * ad + d * 7, 5 * ad),
                clicks: 100 + ad + d,
                currency: "KZT".into(),
            });
        }
        for (ad, campaign) in [("23870001", "ARYSTAN_leads"), ("23870002", "brand_general")] {
            rows.push(AdDay {
                account_id: "act_1002".into(),
                day: (*day).into(),
                ad_id: ad.into(),
                campaign_name: campaign.into(),
                spend: "2500.25".into(),
                clicks: 40,
                currency: "KZT".into(),
            });
        }
        rows.push(AdDay {
            account_id: "act_1003".into(),
            day: (*day).into(),
            ad_id: "23880001".into(),
            campaign_name: "kenesary_usd".into(),
            spend: "12.34".into(),
            clicks: 9,
            currency: "USD".into(),
        });
    }
    rows
}

/// Tiyn of a Facebook amount string, computed here: `"10000.5"` → 1 000 050.
fn tiyn(text: &str) -> i64 {
    (text.parse::<f64>().unwrap() * 100.0).round() as i64
}

async fn spawn(engine: app::db::Engine, fake: &FakeGraph) -> Option<TestApp> {
    let graph_url = fake.graph_url();
    TestApp::spawn_with(engine, |config| {
        config.facebook.graph_url = graph_url;
        config.facebook.access_token = Some(SecretString::from(TOKEN));
        config.facebook.report_poll = Duration::from_millis(10);
        config.facebook.timeout = Duration::from_secs(5);
    })
    .await
}

async fn discover(app: &TestApp) {
    queue_discovery(&app.services).await.unwrap();
    app.run_jobs_after(Duration::ZERO).await;
}

async fn sync(app: &TestApp, account_id: &str) {
    let job =
        SyncAdSpend { account_id: account_id.into(), since: DAYS[0].parse().unwrap(), until: DAYS[2].parse().unwrap() };
    let now = now_ms();
    let mut conn = app.db.pool().acquire().await.unwrap();
    enqueue_jobs(&mut conn, &[job.queued(None, format!("test-sync-{account_id}-{now}"), now)], now).await.unwrap();
    drop(conn);
    app.run_jobs_after(Duration::ZERO).await;
}

async fn team_id(app: &TestApp, name: &str) -> i64 {
    let mut conn = app.db.pool().acquire().await.unwrap();
    find_team_by_name(&mut conn, name).await.unwrap().unwrap().team_id
}

async fn funnel(app: &TestApp, token: &str, team: &str) -> Value {
    let path = format!("/api/traffic-dashboard/funnel?team={team}&start={}&end={}", DAYS[0], DAYS[2]);
    app.get_json(&path, Some(token)).await
}

with_each_engine!(discovery_finds_every_account_once, |engine| {
    let fake = FakeGraph::start(dataset()).await;
    let Some(app) = spawn(engine, &fake).await else { return };
    discover(&app).await;
    discover(&app).await;
    let accounts: Vec<(String, String, String, Option<String>)> = sqlx::query_as(
        "SELECT account_id, currency, status, business_name FROM ad_account WHERE account_id <> 'manual' ORDER BY account_id",
    )
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    let ids: Vec<&str> = accounts.iter().map(|(id, ..)| id.as_str()).collect();
    assert_eq!(
        ids,
        ["act_1001", "act_1002", "act_1003", "act_1004", "act_1005"],
        "both pages, client and own accounts, once"
    );
    assert_eq!(accounts[2].1, "USD");
    assert_eq!(accounts[4].2, "disabled");
    assert_eq!(accounts[0].3.as_deref(), Some("Демо Академия BM"), "the business of an owned account is kept");
    assert_eq!(app.count("SELECT COUNT(*) FROM job WHERE kind = 'discover_ad_accounts' AND status = 'done'").await, 2);
});

with_each_engine!(synced_spend_feeds_the_funnel_in_tenge_and_revisions_replace_days, |engine| {
    let fake = FakeGraph::start(dataset()).await;
    let Some(app) = spawn(engine, &fake).await else { return };
    let admin = app.token_for("spend.admin", Role::Admin, None).await;
    discover(&app).await;
    let (kenesary, arystan) = (team_id(&app, "Kenesary").await, team_id(&app, "Arystan").await);
    save_account_settings(&app.services, "act_1001", Some(kenesary), true).await.unwrap();
    save_account_settings(&app.services, "act_1002", None, true).await.unwrap();
    save_account_settings(&app.services, "act_1003", Some(kenesary), true).await.unwrap();
    let mut conn = app.db.pool().acquire().await.unwrap();
    set_rate(&mut conn, "USD", 20260301, 500_000_000).await.unwrap();
    drop(conn);

    for account in ["act_1001", "act_1002", "act_1003"] {
        sync(&app, account).await;
    }
    let rows = dataset();
    let (insight_calls, _) = fake.calls();
    assert_eq!(insight_calls, 3 * 3, "three pages per account");
    let expected = |account_filter: &dyn Fn(&AdDay) -> bool| -> (i64, i64) {
        rows.iter().filter(|row| account_filter(row)).fold((0, 0), |(spend, clicks), row| {
            let kzt = if row.currency == "USD" { tiyn(&row.spend) * 500 } else { tiyn(&row.spend) };
            (spend + kzt, clicks + row.clicks)
        })
    };
    let (kenesary_tiyn, kenesary_clicks) =
        expected(&|row| row.account_id == "act_1001" || row.account_id == "act_1003");
    let answer = funnel(&app, &admin, "Kenesary").await;
    assert_eq!(answer["spend"], (kenesary_tiyn + 50) / 100, "{answer}");
    assert_eq!(answer["stages"][0]["count"], kenesary_clicks);
    // The shared account has no team: its ads go by campaign name.
    let (arystan_tiyn, _) = expected(&|row| row.campaign_name == "ARYSTAN_leads");
    assert_eq!(funnel(&app, &admin, "Arystan").await["spend"], (arystan_tiyn + 50) / 100);
    let unattributed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ad_spend WHERE team_id IS NULL")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(unattributed, 3, "brand_general matches no team");
    let usd: (String, i64, i64) = sqlx::query_as(
        "SELECT currency, spend_minor, spend_kzt_minor FROM ad_spend WHERE account_id = 'act_1003' AND day = 20260310",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(usd, ("USD".to_owned(), 1_234, 617_000), "the original amount is kept beside the tenge");

    // The same days again: the same totals.
    let stored = app.count("SELECT COUNT(*) FROM ad_spend").await;
    sync(&app, "act_1001").await;
    assert_eq!(app.count("SELECT COUNT(*) FROM ad_spend").await, stored);
    assert_eq!(funnel(&app, &admin, "Kenesary").await["spend"], (kenesary_tiyn + 50) / 100);

    // Facebook revises yesterday's figure of one ad: the new one replaces it.
    fake.revise("23860002", DAYS[2], "99.99");
    sync(&app, "act_1001").await;
    let old = rows.iter().find(|row| row.ad_id == "23860002" && row.day == DAYS[2]).unwrap();
    let revised = kenesary_tiyn - tiyn(&old.spend) + 9_999;
    assert_eq!(funnel(&app, &admin, "Kenesary").await["spend"], (revised + 50) / 100);

    // ROI counts the synced spend in tenge.
    let sale_at = chrono::DateTime::parse_from_rfc3339("2026-03-10T09:00:00Z").unwrap().timestamp_millis();
    let sale = NewSale {
        crm_deal_id: 31_000_001,
        product: "flagship",
        amount: 490_000,
        sold_at: sale_at,
        sold_day: almaty_day(sale_at),
        lead_id: None,
        contact_name: None,
        utm_source: Some("fb_kenesary".into()),
        utm_medium: None,
        utm_campaign: None,
        attribution: Attribution { team_id: Some(kenesary), confidence: Confidence::High, rule: "тест".into() },
    };
    let mut conn = app.db.pool().acquire().await.unwrap();
    insert_sales(&mut conn, &[sale], now_ms()).await.unwrap();
    drop(conn);
    let answer = funnel(&app, &admin, "Kenesary").await;
    let spend = revised as f64 / 100.0;
    let roi = (490_000.0 - spend) / spend * 100.0;
    assert!((answer["roi"].as_f64().unwrap() - roi).abs() < 1e-6, "{answer}");

    // A new pattern re-attributes the spend of accounts without a team.
    let muha = list_teams(&mut app.db.pool().acquire().await.unwrap())
        .await
        .unwrap()
        .into_iter()
        .find(|team| team.name == "Muha")
        .unwrap();
    let input = TeamInput {
        name: muha.name.clone(),
        emoji: muha.emoji.clone(),
        color: muha.color.clone(),
        patterns: format!("{}, brand_general", muha.patterns.join(", ")),
        ..TeamInput::default()
    };
    save_team(&app.services, Some(muha.team_id), &TeamFields::parse(&input).unwrap()).await.unwrap();
    while app.run_jobs_after(Duration::ZERO).await > 0 {}
    let (general_tiyn, _) = expected(&|row| row.campaign_name == "brand_general");
    assert_eq!(funnel(&app, &admin, "Muha").await["spend"], (general_tiyn + 50) / 100);

    // Moving the shared account to Arystan moves all its spend there at once.
    save_account_settings(&app.services, "act_1002", Some(arystan), true).await.unwrap();
    let (shared_tiyn, _) = expected(&|row| row.account_id == "act_1002");
    assert_eq!(funnel(&app, &admin, "Arystan").await["spend"], (shared_tiyn + 50) / 100);

    let health = app.get_json("/api/integrations/all", Some(&admin)).await;
    let facebook = health["integrations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|integration| integration["name"] == "facebook")
        .cloned()
        .unwrap();
    assert_eq!(facebook["configured"], true);
    assert!(facebook["lastSuccessAt"].is_i64(), "{facebook}");
    assert!(facebook["usagePercent"].is_u64(), "{facebook}");
});

with_each_engine!(throttling_waits_and_big_queries_go_through_a_report_run, |engine| {
    let fake = FakeGraph::start(dataset()).await;
    let Some(app) = spawn(engine, &fake).await else { return };
    discover(&app).await;
    let kenesary = team_id(&app, "Kenesary").await;
    save_account_settings(&app.services, "act_1001", Some(kenesary), true).await.unwrap();
    save_account_settings(&app.services, "act_1002", Some(kenesary), true).await.unwrap();

    fake.throttle_next(1);
    sync(&app, "act_1001").await;
    assert_eq!(app.count("SELECT COUNT(*) FROM ad_spend").await, 0, "throttled: nothing stored yet");
    let (status, run_at, error): (String, i64, Option<String>) =
        sqlx::query_as("SELECT status, run_at, last_error FROM job WHERE kind = 'sync_ad_spend'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(status, "queued");
    assert!(run_at >= now_ms() + 55_000, "retried after the minute Facebook asked for");
    assert!(error.unwrap().contains("80000"));
    app.run_jobs_after(Duration::from_secs(61)).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM ad_spend").await, 12);
    assert_eq!(app.count("SELECT COUNT(*) FROM job WHERE kind = 'sync_ad_spend' AND status = 'done'").await, 1);

    fake.refuse_sync_insights("act_1002");
    sync(&app, "act_1002").await;
    assert_eq!(fake.calls().1, 1, "one asynchronous report run");
    let shared: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ad_spend WHERE account_id = 'act_1002'")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(shared, 6);

    // The schedule queues the recent days of every enabled account and comes back.
    let now = now_ms();
    let mut conn = app.db.pool().acquire().await.unwrap();
    enqueue_jobs(&mut conn, &[ScheduleAdSpendSync::job(now)], now).await.unwrap();
    drop(conn);
    app.run_jobs_after(Duration::ZERO).await;
    let scheduled = app.count("SELECT COUNT(*) FROM job WHERE kind = 'sync_ad_spend'").await;
    assert_eq!(scheduled, 2 + 2, "one more sync for each enabled account");
    let schedule: String = sqlx::query_scalar("SELECT status FROM job WHERE kind = 'schedule_ad_spend_sync'")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(schedule, "queued", "the schedule runs again in an hour");
});
