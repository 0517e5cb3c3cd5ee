//! `GET /api/lead-tracking/leads`: filters, search, paging and counters.

use serde_json::{json, Value};

use app::models::Role;

use crate::helpers::{on_both_engines, TestApp};

async fn post_leads(app: &TestApp) -> Vec<i64> {
    let people = [
        ("/api/landing/proftest", "Айгерим Тест", "aigerim@example.com", "8 701 000 00 01", None),
        ("/api/landing/proftest", "Данияр Тест", "daniyar@example.com", "8 701 000 00 02", Some("spring")),
        ("/api/landing/submit", "Асель Тест", "asel@example.com", "8 701 000 00 03", None),
        ("/api/landing/proftest", "Ерлан Тест", "erlan@example.com", "8 701 000 00 04", Some("spring")),
        ("/api/landing/proftest", "Мадина Тест", "madina@example.com", "8 701 000 00 05", None),
    ];
    let mut ids = Vec::new();
    for (path, name, email, phone, slug) in people {
        let body = json!({"name": name, "email": email, "phone": phone, "slug": slug, "payment_method": "kaspi"});
        let response: Value = app.post_json(path, &body).await.json().await.unwrap();
        ids.push(response["leadId"].as_i64().unwrap());
    }
    ids
}

async fn get(app: &TestApp, token: &str, query: &str) -> (u16, Value) {
    let response =
        app.client.get(app.url(&format!("/api/lead-tracking/leads{query}"))).bearer_auth(token).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

fn ids(body: &Value) -> Vec<i64> {
    body["leads"].as_array().unwrap().iter().map(|lead| lead["lead_id"].as_i64().unwrap()).collect()
}

on_both_engines!(leads_are_listed_newest_first_with_filters_and_counters, |app| {
    let posted = post_leads(&app).await;
    let token = app.token_for("admin", Role::Admin, None).await;

    let (status, all) = get(&app, &token, "").await;
    assert_eq!(status, 200);
    assert_eq!(ids(&all), posted.iter().rev().copied().collect::<Vec<_>>());
    assert_eq!(all["stats"]["total"], 5);
    assert_eq!(all["leads"][0]["email_status"], "pending");
    assert_eq!(all["leads"][0]["phone"], "+77010000005");

    let (_, spring) = get(&app, &token, "?source=proftest_spring").await;
    assert_eq!(ids(&spring), vec![posted[3], posted[1]]);
    assert_eq!(spring["stats"]["total"], 2);

    let (_, by_phone) = get(&app, &token, "?q=8%20701%20000%2000%2003").await;
    assert_eq!(ids(&by_phone), vec![posted[2]]);
    assert_eq!(by_phone["stats"]["total"], 1);
    let (_, by_name) = get(&app, &token, "?q=%D0%B4%D0%B0%D0%BD%D0%B8%D1%8F%D1%80").await; // "данияр"
    assert_eq!(ids(&by_name), vec![posted[1]]);
    let (_, by_email) = get(&app, &token, "?q=MADINA@").await;
    assert_eq!(ids(&by_email), vec![posted[4]]);

    let today = chrono::Utc::now().with_timezone(&chrono_tz::Asia::Almaty).date_naive();
    let (_, today_only) = get(&app, &token, &format!("?from={today}&to={today}")).await;
    assert_eq!(today_only["stats"]["total"], 5);
    let yesterday = today.pred_opt().unwrap();
    let (_, none) = get(&app, &token, &format!("?to={yesterday}")).await;
    assert_eq!(none["stats"]["total"], 0);
    assert!(ids(&none).is_empty());

    let (bad_status, bad) = get(&app, &token, "?from=22.11.2026").await;
    assert_eq!(bad_status, 422);
    assert_eq!(bad["field"], "from");
});

on_both_engines!(keyset_pages_walk_forward_and_back, |app| {
    let posted = post_leads(&app).await;
    let token = app.token_for("admin", Role::Admin, None).await;

    let (_, first) = get(&app, &token, "?limit=2").await;
    assert_eq!(ids(&first), vec![posted[4], posted[3]]);
    assert!(first["prevAfter"].is_null());
    let next = first["nextBefore"].as_i64().unwrap();

    let (_, second) = get(&app, &token, &format!("?limit=2&before={next}")).await;
    assert_eq!(ids(&second), vec![posted[2], posted[1]]);
    let (_, third) = get(&app, &token, &format!("?limit=2&before={}", second["nextBefore"])).await;
    assert_eq!(ids(&third), vec![posted[0]]);
    assert!(third["nextBefore"].is_null());

    let (_, back) = get(&app, &token, &format!("?limit=2&after={}", third["prevAfter"])).await;
    assert_eq!(ids(&back), vec![posted[2], posted[1]]);

    let (status, _) = get(&app, &token, "?limit=0").await;
    assert_eq!(status, 422);
});
