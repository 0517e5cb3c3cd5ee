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

on_both_engines!(team_status_crm_and_campaign_filters_narrow_the_page_and_the_counters, |app| {
    let token = app.token_for("admin", Role::Admin, None).await;
    let mut posted = Vec::new();
    for (n, utm_source, utm_campaign) in [
        (1, Some("fb_kenesary"), Some("Tripwire_Nov")),
        (2, Some("fb_kenesary"), Some("kenes_spring")),
        (3, Some("fb_muha"), Some("tripwire_copy")),
        (4, None, None),
        (5, Some("google"), Some("brand")),
    ] {
        let body = json!({
            "name": format!("Фильтр Тест {n}"), "email": format!("filter{n}@example.com"),
            "phone": format!("+7701000100{n}"), "utm_source": utm_source, "utm_campaign": utm_campaign,
        });
        let response: Value = app.post_json("/api/landing/proftest", &body).await.json().await.unwrap();
        posted.push(response["leadId"].as_i64().unwrap());
    }
    // Deliveries and AmoCRM as the jobs would leave them.
    for (sql, lead_id) in [
        ("UPDATE lead SET sms_status = 'error', email_status = 'opened' WHERE lead_id = $1", posted[0]),
        ("UPDATE lead SET sms_status = 'delivered', crm_deal_id = 9001 WHERE lead_id = $1", posted[1]),
        ("UPDATE lead SET sms_status = 'error', crm_deal_id = 9002 WHERE lead_id = $1", posted[2]),
        ("UPDATE lead SET email_status = 'opened' WHERE lead_id = $1", posted[4]),
    ] {
        sqlx::query(sql).bind(lead_id).execute(app.db.pool()).await.unwrap();
    }

    let (app, token) = (&app, &token);
    let expect = |query: &'static str, want: Vec<i64>| async move {
        let (status, body) = get(app, token, query).await;
        assert_eq!(status, 200, "{query}: {body}");
        assert_eq!(ids(&body), want, "{query}");
        assert_eq!(body["stats"]["total"], want.len(), "the counters follow {query}");
        body
    };
    let (k1, k2, m3, none4, none5) = (posted[0], posted[1], posted[2], posted[3], posted[4]);
    expect("?team=Kenesary", vec![k2, k1]).await;
    expect("?team=kenesary", vec![k2, k1]).await;
    expect("?team=none", vec![none5, none4]).await;
    expect("?sms_status=error", vec![m3, k1]).await;
    expect("?sms_status=failed", vec![m3, k1]).await;
    let opened = expect("?email_status=opened", vec![none5, k1]).await;
    assert_eq!(opened["stats"]["email_opened"], 2);
    let linked = expect("?crm=linked", vec![m3, k2]).await;
    assert_eq!(linked["stats"]["in_crm"], 2);
    expect("?crm=unlinked", vec![none5, none4, k1]).await;
    expect("?utm_campaign=TRIPWIRE", vec![m3, k1]).await;
    expect("?utm_campaign=50%25", vec![]).await;
    expect("?team=Kenesary&sms_status=error", vec![k1]).await;
    expect("?team=Muha&sms_status=error&crm=linked&utm_campaign=copy", vec![m3]).await;

    for (query, field) in [
        ("?team=Nobody", "team"),
        ("?sms_status=opened", "sms_status"),
        ("?email_status=read", "email_status"),
        ("?crm=maybe", "crm"),
    ] {
        let (status, body) = get(app, token, query).await;
        assert_eq!((status, body["field"].as_str()), (422, Some(field)), "{query}: {body}");
    }
});
