//! `GET /api/traffic-dashboard/ads`: spend, leads, sales and ROI per campaign, ad set and
//! ad, against a dataset whose figures this test works out by hand; who may see it.

use serde_json::{json, Value};

use app::db::sale::{insert_sales, NewSale};
use app::db::spend::{set_manual_spend, upsert_ad_account, upsert_spend, SpendRow};
use app::db::team::find_team_by_name;
use app::domain::attribution::{Attribution, Confidence};
use app::models::Role;
use app::time::{almaty_day, now_ms, today_almaty};

use crate::helpers::{on_both_engines, TestApp};

fn ad(ad_id: &str, ad_name: &str, tenge: i64, impressions: i64, clicks: i64, team_id: i64) -> SpendRow {
    SpendRow {
        account_id: "act_100".into(),
        day: almaty_day(now_ms()),
        ad_id: ad_id.into(),
        ad_name: Some(ad_name.into()),
        adset_id: Some("s-1".into()),
        adset_name: Some("Аудитория A".into()),
        campaign_id: Some("c-1".into()),
        campaign_name: Some("Tripwire".into()),
        impressions,
        clicks,
        currency: "KZT".into(),
        spend_minor: tenge * 100,
        spend_kzt_minor: tenge * 100,
        team_id: Some(team_id),
        attribution_rule: Some("account".into()),
    }
}

/// Posts `count` Kenesary quiz leads with these extra tags; returns their ids.
async fn leads(app: &TestApp, count: usize, tags: Value, first: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    for n in first..first + count {
        let mut fields = json!({ "email": format!("ads{n}@example.com"), "phone": format!("+770100020{n:02}"), "utm_source": "fb_kenesary" });
        fields.as_object_mut().unwrap().extend(tags.as_object().unwrap().clone());
        ids.push(app.post_lead_with(fields).await);
    }
    ids
}

fn row<'a>(rows: &'a Value, name: &str) -> &'a Value {
    rows.as_array().unwrap().iter().find(|row| row["name"] == name).unwrap_or_else(|| panic!("no row {name} in {rows}"))
}

/// Spend, leads, cost per lead, revenue and ROI of a row.
fn figures(row: &Value) -> (i64, i64, Option<i64>, i64, Option<f64>) {
    (
        row["spend"].as_i64().unwrap(),
        row["leads"].as_i64().unwrap(),
        row["cost_per_lead"].as_i64(),
        row["revenue"].as_i64().unwrap(),
        row["roi"].as_f64().map(|roi| (roi * 100.0).round() / 100.0),
    )
}

on_both_engines!(the_ads_report_gives_roi_per_campaign_ad_set_and_ad_and_keeps_what_matches_no_ad, |app| {
    let admin = app.token_for("ads.admin", Role::Admin, None).await;
    let mut conn = app.db.pool().acquire().await.unwrap();
    let kenesary = find_team_by_name(&mut conn, "Kenesary").await.unwrap().unwrap().team_id;
    let now = now_ms();
    upsert_ad_account(&mut conn, "act_100", "Кабинет Kenesary", "KZT", Some(kenesary), now).await.unwrap();
    let spend = [ad("111", "Видео", 20_000, 10_000, 200, kenesary), ad("112", "Карусель", 10_000, 5_000, 50, kenesary)];
    upsert_spend(&mut conn, &spend, now).await.unwrap();
    set_manual_spend(&mut conn, kenesary, almaty_day(now), 3_000, now).await.unwrap();
    drop(conn);
    // Joined by the ad id, by the ad's name, by the campaign id; three name no ad.
    let video = leads(&app, 4, json!({ "utm_campaign": "c-1", "utm_term": "s-1", "utm_content": "111" }), 0).await;
    leads(&app, 2, json!({ "utm_content": "карусель" }), 10).await;
    leads(&app, 1, json!({ "utm_campaign": "c-1" }), 20).await;
    leads(&app, 3, json!({ "utm_campaign": "brand" }), 30).await;
    let sale = |deal: i64, product: &'static str, amount: i64, lead_id: Option<i64>| NewSale {
        crm_deal_id: deal,
        product,
        amount,
        sold_at: now,
        sold_day: almaty_day(now),
        lead_id,
        contact_name: None,
        utm_source: Some("fb_kenesary".into()),
        utm_medium: None,
        utm_campaign: None,
        attribution: Attribution { team_id: Some(kenesary), confidence: Confidence::Medium, rule: "тест".into() },
    };
    let sales = [
        sale(1, "express", 5_000, Some(video[0])),
        sale(2, "flagship", 490_000, Some(video[1])),
        sale(3, "express", 5_000, None),
    ];
    let mut conn = app.db.pool().acquire().await.unwrap();
    insert_sales(&mut conn, &sales, now).await.unwrap();
    drop(conn);

    let today = today_almaty();
    let report = app
        .get_json(&format!("/api/traffic-dashboard/ads?team=Kenesary&start={today}&end={today}"), Some(&admin))
        .await;
    let rows = &report["rows"];
    assert_eq!(rows.as_array().unwrap().len(), 3, "{report}");
    let campaign = row(rows, "Tripwire");
    assert_eq!((campaign["level"].as_str(), campaign["id"].as_str()), (Some("campaign"), Some("c-1")));
    // 30 000 ₸ for 7 leads: 4 286 ₸ a lead; (495 000 − 30 000) / 30 000 = 1 550 %.
    assert_eq!(figures(campaign), (30_000, 7, Some(4_286), 495_000, Some(1_550.0)));
    assert_eq!((campaign["impressions"].as_i64(), campaign["clicks"].as_i64()), (Some(15_000), Some(250)));
    let adset = row(&campaign["children"], "Аудитория A");
    assert_eq!(figures(adset), (30_000, 6, Some(5_000), 495_000, Some(1_550.0)));
    // (495 000 − 20 000) / 20 000 = 2 375 %; CTR 200 / 10 000 = 2 %.
    let video_ad = row(&adset["children"], "Видео");
    assert_eq!(figures(video_ad), (20_000, 4, Some(5_000), 495_000, Some(2_375.0)));
    assert_eq!((video_ad["express_sales"].as_i64(), video_ad["flagship_sales"].as_i64()), (Some(1), Some(1)));
    assert_eq!(video_ad["ctr"].as_f64(), Some(2.0));
    assert_eq!(figures(row(&adset["children"], "Карусель")), (10_000, 2, Some(5_000), 0, Some(-100.0)));
    assert_eq!(row(&campaign["children"], "группа не указана")["leads"], 1);
    let manual = row(rows, "Расход без кампании (ручной ввод)");
    assert_eq!((manual["level"].as_str(), manual["spend"].as_i64()), (Some("unmatched_spend"), Some(3_000)));
    let unmatched = row(rows, "Лиды и продажи без объявления");
    assert_eq!(figures(unmatched), (0, 3, None, 5_000, None));
    // The rows add up to the total, and the total is the funnel's.
    let total = &report["total"];
    assert_eq!(figures(total), (33_000, 10, Some(3_300), 500_000, Some(1_415.15)));
    let funnel = app
        .get_json(&format!("/api/traffic-dashboard/funnel?team=Kenesary&start={today}&end={today}"), Some(&admin))
        .await;
    assert_eq!(
        (&funnel["spend"], &funnel["revenue"], &funnel["stages"][1]["count"]),
        (&json!(33_000), &json!(500_000), &json!(10))
    );

    // The funnel's access rules: a media buyer sees only their own team.
    let arystan = app.token_for("arystan.buyer", Role::Targetologist, Some("Arystan")).await;
    let other =
        app.client.get(app.url("/api/traffic-dashboard/ads?team=Kenesary")).bearer_auth(&arystan).send().await.unwrap();
    assert_eq!(other.status(), 403);
    let own = app.get_json("/api/traffic-dashboard/ads?range=7d", Some(&arystan)).await;
    assert_eq!((own["team"]["name"].as_str(), own["total"]["leads"].as_i64()), (Some("Arystan"), Some(0)));
    let anonymous = app.client.get(app.url("/api/traffic-dashboard/ads")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
});
