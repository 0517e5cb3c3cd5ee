//! Leads and sales sent back to Meta through the Conversions API, against a fake that
//! checks each event as Meta does: one `Purchase` however often a won deal is delivered,
//! carrying the person's clicked lead; one event received across an outage and across an
//! answer lost after our timeout; a refused token pauses the integration and the events go
//! out once it passes; events past Meta's 7 days are marked, not sent.

use std::time::Duration;

use secrecy::SecretString;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use app::models::Role;
use app::time::now_ms;

use crate::crm_webhooks::{deliver, run_all_jobs, status_change, SECRET};
use crate::fakes::conversions::{FakeConversions, PIXEL, TOKEN};
use crate::fakes::Mode;
use crate::helpers::{with_each_engine, TestApp};

const EXPRESS_PIPELINE: i64 = 10_350_882;
const WON: i64 = 142;
const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64) LeadtrackTest/1.0";

async fn spawn(engine: app::db::Engine, meta: &FakeConversions, lead_events: &str) -> Option<TestApp> {
    let (graph_url, lead_events) = (meta.graph_url(), lead_events.to_owned());
    TestApp::spawn_with(engine, move |config| {
        config.crm.webhook_secret = Some(SecretString::from(SECRET));
        config.facebook.graph_url = graph_url;
        config.facebook.timeout = Duration::from_secs(1);
        config.conversions.pixel_id = Some(PIXEL.to_owned());
        config.conversions.token = Some(SecretString::from(TOKEN));
        config.conversions.test_event_code = Some("TEST4711".to_owned());
        config.conversions.lead_events = app::domain::conversions::LeadEvents::parse(&lead_events).unwrap();
    })
    .await
}

fn sha256(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Posts a quiz lead as the visitor's browser does (its `Origin`, `Referer` and user agent).
async fn post_from_browser(app: &TestApp, fields: Value) -> i64 {
    let mut body = json!({ "name": "Лид", "email": "Buyer.One@Example.com", "phone": "+7 705 000-11-22" });
    body.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
    let response = app
        .client
        .post(app.url("/api/landing/proftest"))
        .header("origin", "https://landing.example.com")
        .header("referer", "https://landing.example.com/proftest?utm_source=fb_kenesary")
        .header("user-agent", BROWSER)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json::<Value>().await.unwrap()["leadId"].as_i64().unwrap()
}

async fn created_at(app: &TestApp, lead_id: i64) -> i64 {
    sqlx::query_scalar("SELECT created_at FROM lead WHERE lead_id = $1")
        .bind(lead_id)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
}

async fn meta_status(app: &TestApp, event_id: &str) -> String {
    sqlx::query_scalar("SELECT status FROM meta_event WHERE event_id = $1")
        .bind(event_id)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
}

/// A won express deal changed at `changed_at` (unix seconds), as AmoCRM delivers it.
fn won_deal(deal_id: i64, changed_at: i64) -> String {
    status_change(deal_id, EXPRESS_PIPELINE, WON, 1, &[]).replace("1773147600", &changed_at.to_string())
}

with_each_engine!(a_won_deal_delivered_three_times_reaches_meta_once_with_the_persons_click, |engine| {
    let meta = FakeConversions::start().await;
    let Some(app) = spawn(engine, &meta, "all").await else { return };
    let admin = app.token_for("meta.admin", Role::Admin, None).await;
    // The person clicked an ad, then came back without a click; the deal is of the second lead.
    let clicked = post_from_browser(&app, json!({"fbclid": "IwAR0clickA", "utm_source": "fb_kenesary"})).await;
    let returned = post_from_browser(&app, json!({"email": "buyer.one@example.com"})).await;
    sqlx::query("UPDATE lead SET crm_deal_id = 880001 WHERE lead_id = $1")
        .bind(returned)
        .execute(app.db.pool())
        .await
        .unwrap();

    // Won a second after the leads arrived (Meta takes no event time in the future).
    let won_at = now_ms() / 1_000 + 1;
    for _ in 0..3 {
        assert_eq!(deliver(&app, "/api/amocrm/sales-webhook", Some(SECRET), won_deal(880_001, won_at)).await, 200);
    }
    run_all_jobs(&app).await;

    let received = meta.accepted();
    let names: Vec<(&str, &str)> =
        received.iter().map(|event| (event.event["event_name"].as_str().unwrap(), event.event_id.as_str())).collect();
    let sale_id: i64 = sqlx::query_scalar("SELECT sale_id FROM sale").fetch_one(app.db.pool()).await.unwrap();
    let (lead_a, lead_b, sale) = (format!("lead-{clicked}"), format!("lead-{returned}"), format!("sale-{sale_id}"));
    assert_eq!(names.len(), 3, "{names:?}");
    for expected in [("Lead", lead_a.as_str()), ("Lead", lead_b.as_str()), ("Purchase", sale.as_str())] {
        assert!(names.contains(&expected), "{expected:?} in {names:?}");
    }
    assert!(meta.refusals().is_empty(), "{:?}", meta.refusals());
    assert_eq!(meta.requests(), 3, "one request per event, none repeated");

    let purchase = &received.iter().find(|event| event.event_id == sale).unwrap().event;
    assert_eq!(purchase["event_time"], won_at);
    assert_eq!(purchase["action_source"], "system_generated");
    assert_eq!(purchase["custom_data"]["currency"], "KZT");
    assert_eq!(purchase["custom_data"]["value"], 5_000);
    let user = &purchase["user_data"];
    assert_eq!(user["em"], json!([sha256("buyer.one@example.com")]));
    assert_eq!(user["ph"], json!([sha256("77050001122")]));
    // The click of the person's earliest lead in the window, with that lead's time.
    assert_eq!(user["fbc"], format!("fb.1.{}.IwAR0clickA", created_at(&app, clicked).await));
    assert_eq!(user["client_user_agent"], BROWSER);
    assert_eq!(user["client_ip_address"], "127.0.0.1");
    assert!(received.iter().all(|event| event.test_event_code.as_deref() == Some("TEST4711")));

    let lead = &received.iter().find(|event| event.event_id == lead_a).unwrap().event;
    assert_eq!(lead["action_source"], "website");
    assert_eq!(lead["event_time"], created_at(&app, clicked).await / 1_000);
    assert_eq!(lead["event_source_url"], "https://landing.example.com/proftest?utm_source=fb_kenesary");
    assert!(received.iter().find(|event| event.event_id == lead_b).unwrap().event["user_data"]["fbc"].is_null());

    let history = app.get_json("/api/amocrm/sales-history?start=2026-01-01", Some(&admin)).await;
    assert_eq!(history["sales"][0]["meta"], "sent", "{history}");
    let credited: Option<i64> = sqlx::query_scalar("SELECT lead_id FROM meta_event WHERE event_id = $1")
        .bind(&sale)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(credited, Some(clicked), "the purchase is credited to the clicked lead");
});

with_each_engine!(an_outage_and_a_lost_answer_still_leave_one_event_received, |engine| {
    let meta = FakeConversions::start().await;
    let Some(app) = spawn(engine, &meta, "quiz").await else { return };
    meta.set_mode(Mode::Outage);
    let lead_id = post_from_browser(&app, json!({"fbclid": "IwAR0outage"})).await;
    let event_id = format!("lead-{lead_id}");
    app.run_jobs_after(Duration::ZERO).await;
    assert_eq!((meta.requests(), meta.accepted().len()), (1, 0));
    assert_eq!(meta_status(&app, &event_id).await, "pending", "a 5xx is retried");

    // Meta takes the event but answers after our timeout; the retry is de-duplicated.
    meta.set_mode(Mode::AcceptThenHang);
    app.run_jobs_after(Duration::from_secs(3600)).await;
    assert_eq!(meta.accepted().len(), 1);
    assert_eq!(meta_status(&app, &event_id).await, "pending", "no answer: not known to be received");

    meta.set_mode(Mode::Normal);
    app.run_jobs_after(Duration::from_secs(4 * 3600)).await;
    assert_eq!(meta.requests(), 3);
    assert_eq!(meta.accepted().len(), 1, "Meta counts the event once");
    assert_eq!(meta_status(&app, &event_id).await, "sent");
    assert_eq!(app.count("SELECT COUNT(*) FROM job WHERE kind = 'send_conversion' AND status <> 'done'").await, 0);
});

with_each_engine!(a_refused_token_pauses_meta_and_the_events_go_once_it_passes, |engine| {
    let meta = FakeConversions::start().await;
    let Some(app) = spawn(engine, &meta, "all").await else { return };
    let admin = app.token_for("meta.pause.admin", Role::Admin, None).await;
    meta.set_mode(Mode::KeyRevoked);
    let first = post_from_browser(&app, json!({})).await;
    let second = post_from_browser(&app, json!({"phone": "+77050003344"})).await;
    app.run_jobs_after(Duration::ZERO).await;

    let health = app.get_json("/api/integrations/meta_conversions", Some(&admin)).await["integration"].clone();
    assert_eq!(health["state"], "paused", "{health}");
    assert!(health["pauseReason"].as_str().unwrap().contains("FB_CAPI_TOKEN"), "{health}");
    // Two run at once in the lane; the first refusal pauses Meta and nothing else is tried.
    let refused = meta.requests();
    assert!((1..=2).contains(&refused), "{refused} requests");
    app.run_jobs_after(Duration::ZERO).await;
    assert_eq!(meta.requests(), refused, "paused: the events wait");
    let waiting =
        app.count("SELECT COUNT(*) FROM job WHERE kind = 'send_conversion' AND status = 'queued' AND attempts = 0");
    assert_eq!(waiting.await, 2, "waiting spends no attempt");

    meta.set_mode(Mode::Normal);
    let check =
        app.client.post(app.url("/api/integrations/meta_conversions/check")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(check.status(), 200);
    run_all_jobs(&app).await;
    let ids: Vec<String> = meta.accepted().into_iter().map(|event| event.event_id).collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(ids.contains(&format!("lead-{first}")) && ids.contains(&format!("lead-{second}")), "{ids:?}");
    assert_eq!(meta_status(&app, &format!("lead-{second}")).await, "sent");
});

with_each_engine!(old_sales_expire_relayed_leads_are_skipped_and_express_leads_follow_the_setting, |engine| {
    let meta = FakeConversions::start().await;
    let Some(app) = spawn(engine, &meta, "quiz").await else { return };
    // Relayed by the landing's server: no Origin, no browser details.
    let relayed = reqwest::Client::new()
        .post(app.url("/api/landing/proftest"))
        .json(&json!({"name": "Лид", "email": "relay@example.com", "phone": "+77050005566"}))
        .send()
        .await
        .unwrap();
    let relayed: i64 = relayed.json::<Value>().await.unwrap()["leadId"].as_i64().unwrap();
    // An express checkout: `quiz` sends no Lead for it.
    let express = app
        .post_json(
            "/api/landing/submit",
            &json!({"name": "Лид", "email": "express@example.com",
        "phone": "+77050007788", "payment_method": "kaspi"}),
        )
        .await;
    assert_eq!(express.status(), 200);
    sqlx::query("UPDATE lead SET crm_deal_id = 880002 WHERE lead_id = $1")
        .bind(relayed)
        .execute(app.db.pool())
        .await
        .unwrap();
    // A deal AmoCRM won ten days ago, learned of only now.
    let ten_days_ago = now_ms() / 1_000 - 10 * 24 * 3600;
    assert_eq!(deliver(&app, "/api/amocrm/sales-webhook", Some(SECRET), won_deal(880_002, ten_days_ago)).await, 200);
    run_all_jobs(&app).await;

    assert_eq!(meta.requests(), 0, "nothing Meta could take was sent: {:?}", meta.refusals());
    assert_eq!(meta_status(&app, &format!("lead-{relayed}")).await, "skipped");
    let sale_id: i64 = sqlx::query_scalar("SELECT sale_id FROM sale").fetch_one(app.db.pool()).await.unwrap();
    assert_eq!(meta_status(&app, &format!("sale-{sale_id}")).await, "expired");
    assert_eq!(app.count("SELECT COUNT(*) FROM meta_event").await, 2, "no event for the express lead");
});

with_each_engine!(a_burst_of_browser_leads_records_each_browser_and_event_once, |engine| {
    let meta = FakeConversions::start().await;
    let Some(app) = spawn(engine, &meta, "all").await else { return };
    let posts = (0..40).map(|n| {
        post_from_browser(&app, json!({"email": format!("burst{n}@example.com"), "phone": format!("+77050{n:06}")}))
    });
    let leads = futures_util::future::join_all(posts).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM lead_client").await, 40);
    assert_eq!(app.count("SELECT COUNT(*) FROM lead_client WHERE client_user_agent IS NOT NULL").await, 40);
    assert_eq!(app.count("SELECT COUNT(*) FROM meta_event WHERE status = 'pending' AND event_name = 'Lead'").await, 40);
    run_all_jobs(&app).await;
    let mut received: Vec<String> = meta.accepted().into_iter().map(|event| event.event_id).collect();
    received.sort();
    let mut expected: Vec<String> = leads.iter().map(|lead_id| format!("lead-{lead_id}")).collect();
    expected.sort();
    assert_eq!(received, expected);
});
