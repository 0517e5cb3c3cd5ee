//! The sync with AmoCRM against the fake: 700 recent deals, the newest 500 read in pages,
//! matched to leads by deal id, then phone, then email.

use std::time::Duration;

use secrecy::SecretString;
use serde_json::Value;

use app::db::lead::{insert_seed_leads, rebuild_lead_stats, LeadSeed};
use app::models::Role;
use app::time::now_ms;

use crate::fakes::amocrm::{FakeAmoCrm, TOKEN};
use crate::helpers::{quiz_lead_seed, with_each_engine, TestApp};

fn phone(n: i64) -> String {
    format!("+7701{n:07}")
}

fn seed(n: i64, email: String, phone_e164: String, crm_deal_id: Option<i64>) -> LeadSeed {
    let lead = quiz_lead_seed(format!("Синк Лид {n}"), email, phone_e164, now_ms() - 3_600_000);
    LeadSeed { email_status: "pending", sms_status: "pending", crm_deal_id, ..lead }
}

with_each_engine!(a_sync_matches_recent_deals_by_id_phone_and_email, |engine| {
    let fake = FakeAmoCrm::start().await;
    let url = fake.url();
    let Some(app) = TestApp::spawn_with(engine, |config| {
        config.crm.base_url = Some(url);
        config.crm.access_token = Some(SecretString::from(TOKEN));
        config.crm.timeout = Duration::from_secs(5);
    })
    .await
    else {
        return;
    };
    let admin = app.token_for("sync.admin", Role::Admin, None).await;
    // 700 deals of the last hours; deal n is the n-th newest.
    let now = now_ms() / 1_000;
    for n in 0..700 {
        // AmoCRM keeps numbers as people typed them: `8 701 …`.
        let typed = format!("8{}", &phone(n)[2..]);
        fake.seed(50_000_000 + n, 81_856_842, now - 60 - n * 10, &typed, &format!("deal{n}@example.com"));
    }
    // Leads: 0–99 know their deal, 100–199 share only the phone, 200–299 only the email,
    // 600–649 match by email but are older than the newest 500 deals.
    let mut leads = Vec::new();
    for n in 0..100 {
        leads.push(seed(n, format!("other{n}@example.com"), phone(9_000 + n), Some(50_000_000 + n)));
    }
    for n in 100..200 {
        leads.push(seed(n, format!("other{n}@example.com"), phone(n), None));
    }
    for n in (200..300).chain(600..650) {
        leads.push(seed(n, format!("deal{n}@example.com"), phone(9_000 + n), None));
    }
    let mut conn = app.db.pool().acquire().await.unwrap();
    insert_seed_leads(&mut conn, &leads).await.unwrap();
    rebuild_lead_stats(&mut conn).await.unwrap();
    drop(conn);

    let response = app.client.post(app.url("/api/lead-tracking/sync")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let counts: Value = response.json().await.unwrap();
    assert_eq!(
        (&counts["fetched"], &counts["matched"], &counts["updated"], &counts["notFound"]),
        (&Value::from(500), &Value::from(300), &Value::from(300), &Value::from(200)),
        "{counts}"
    );
    // The other direction: leads 600–649 have no deal, and the link lists exactly them.
    let since = chrono::DateTime::from_timestamp(now - 24 * 3_600, 0).unwrap();
    let since = since.with_timezone(&chrono_tz::Asia::Almaty).date_naive().to_string();
    assert_eq!((&counts["missingInCrm"], counts["missingSince"].as_str()), (&Value::from(50), Some(since.as_str())));
    let missing =
        app.get_json(&format!("/api/lead-tracking/leads?crm=unlinked&from={since}&limit=500"), Some(&admin)).await;
    assert_eq!(missing["stats"]["total"], 50, "{missing}");
    assert!(missing["leads"].as_array().unwrap().iter().all(|lead| lead["crm_deal_id"].is_null()));
    let linked: Vec<(String, i64)> = sqlx::query_as(
        "SELECT email, crm_deal_id FROM lead WHERE crm_deal_id IS NOT NULL AND crm_status_id = 81856842 ORDER BY crm_deal_id",
    )
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    assert_eq!(linked.len(), 300);
    assert!(linked.iter().any(|(email, deal)| email == "other150@example.com" && *deal == 50_000_150), "by phone");
    assert!(linked.iter().any(|(email, deal)| email == "deal250@example.com" && *deal == 50_000_250), "by email");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM lead WHERE email = 'deal620@example.com' AND crm_deal_id IS NULL").await,
        1
    );

    // Again: the same matches, nothing to update; the other route runs the same sync.
    let again: Value = app
        .client
        .post(app.url("/api/admin/landing/sync-amocrm"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!((&again["matched"], &again["updated"]), (&Value::from(300), &Value::from(0)), "{again}");
    assert_eq!(fake.throttled(), 0);
});
