//! Providers that refuse our credentials pause their integration instead of failing its
//! jobs one by one: the jobs wait without spending attempts, a probe on a backoff resumes
//! the integration by itself (or «Проверить сейчас», or a restart with new credentials),
//! and then every waiting job runs once. The clock is driven: `run_jobs_after` runs what is
//! due at a later time, probes included.

use std::time::Duration;

use secrecy::SecretString;
use serde_json::{json, Value};

use app::models::Role;

use crate::fakes::amocrm::{FakeAmoCrm, TOKEN};
use crate::fakes::resend::{self, FakeResend};
use crate::fakes::Mode;
use crate::helpers::{with_each_engine, TestApp, NOTIFY_DELAY};

const SECRET: &str = "amo-hook-secret-0001";

fn amocrm(url: String, token: &'static str) -> impl FnOnce(&mut app::config::Config) {
    move |config| {
        config.crm.base_url = Some(url);
        config.crm.access_token = Some(SecretString::from(token));
        config.crm.timeout = Duration::from_secs(2);
        config.crm.webhook_secret = Some(SecretString::from(SECRET));
    }
}

async fn integration(app: &TestApp, admin: &str, name: &str) -> Value {
    app.get_json(&format!("/api/integrations/{name}"), Some(admin)).await["integration"].clone()
}

async fn push_jobs(app: &TestApp) -> Vec<(String, i64)> {
    sqlx::query_as("SELECT status, attempts FROM job WHERE kind = 'push_lead_to_crm' ORDER BY job_id")
        .fetch_all(app.db.pool())
        .await
        .unwrap()
}

fn won_deal_without_utm(deal_id: i64) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("leads[status][0][id]", deal_id.to_string()),
            ("leads[status][0][status_id]", "142".to_owned()),
            ("leads[status][0][old_status_id]", "81854618".to_owned()),
            ("leads[status][0][pipeline_id]", "10350882".to_owned()),
            ("leads[status][0][updated_at]", "1773147600".to_owned()),
            ("account[id]", "30739638".to_owned()),
        ])
        .finish()
}

with_each_engine!(amocrm_refusing_everything_for_a_while_pauses_and_then_every_lead_gets_one_deal, |engine| {
    let fake = FakeAmoCrm::start().await;
    fake.seed(9_001, 142, 1_773_147_600, "+77010009001", "won@example.com");
    fake.set_fields(9_001, json!([{"field_id": 434_731, "values": [{"value": "fb_arystan"}]}]));
    let Some(app) = TestApp::spawn_with(engine, amocrm(fake.url(), TOKEN)).await else { return };
    let admin = app.token_for("amo.admin", Role::Admin, None).await;
    fake.set_blocked(true);

    for n in 0..5 {
        app.post_lead_with(json!({"name": format!("Лид {n}"), "email": format!("block{n}@example.com"),
                                  "phone": format!("+7701444000{n}")}))
            .await;
    }
    // The same person again, during the block.
    app.post_lead_with(json!({"name": "Лид 0", "email": "block0@example.com", "phone": "+77014440000"})).await;
    // A won deal whose delivery carries no UTM tags: its processing must read the deal.
    let hook = app.client.post(app.url(&format!("/api/amocrm/sales-webhook?token={SECRET}")));
    let delivered = hook.header("content-type", "application/x-www-form-urlencoded").body(won_deal_without_utm(9_001));
    assert_eq!(delivered.send().await.unwrap().status(), 200);
    app.run_jobs_after(Duration::ZERO).await;

    let refused_at_first = fake.refused();
    assert!((1..=3).contains(&refused_at_first), "a refusal pauses AmoCRM at once: {refused_at_first} calls refused");
    let health = integration(&app, &admin, "amocrm").await;
    assert_eq!(health["state"], "paused", "{health}");
    assert!(health["pauseReason"].as_str().unwrap().contains("403"), "{health}");
    let next_probe = health["nextProbeAt"].as_i64().unwrap() - app::time::now_ms();
    assert!((50_000..=61_000).contains(&next_probe), "the first probe a minute later: {next_probe} ms");
    assert!(push_jobs(&app).await.iter().all(|(status, attempts)| status == "queued" && *attempts == 0));
    assert_eq!(app.count("SELECT COUNT(*) FROM sale").await, 0, "the sale waits for AmoCRM");

    // The probe a minute later is refused too: nothing else is tried, the next probe is later.
    app.run_jobs_after(Duration::from_secs(61)).await;
    assert_eq!(fake.refused(), refused_at_first + 1, "only the probe called AmoCRM");
    assert_eq!(integration(&app, &admin, "amocrm").await["state"], "paused");

    fake.set_blocked(false);
    app.run_jobs_after(Duration::from_secs(61 + 121)).await;

    assert_eq!(fake.counts(), (5 + 1, 5 + 1), "one contact and one deal per person (and the seeded deal)");
    let linked = app.count("SELECT COUNT(*) FROM lead WHERE crm_deal_id IS NOT NULL").await;
    assert_eq!(linked, 6, "every lead has its deal, the repeat one the person's deal");
    assert_eq!(app.count("SELECT COUNT(*) FROM job WHERE status = 'failed'").await, 0, "nothing was parked");
    assert!(push_jobs(&app).await.iter().all(|(status, attempts)| status == "done" && *attempts == 1));
    let team: Option<String> =
        sqlx::query_scalar("SELECT team.name FROM sale LEFT JOIN team USING (team_id) WHERE crm_deal_id = 9001")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(team.as_deref(), Some("Arystan"), "the sale was recorded with the deal's own tags");
    let health = integration(&app, &admin, "amocrm").await;
    assert_eq!(health["state"], "ok", "{health}");
    assert!(health["pauseReason"].is_null());
});

with_each_engine!(a_revoked_long_lived_token_pauses_amocrm_until_a_restart_with_a_new_one, |engine| {
    let fake = FakeAmoCrm::start().await;
    // The token the server has was revoked in AmoCRM; a new one was issued.
    fake.set_long_lived_token("amo-long-lived-token-0002");
    let Some(app) = TestApp::spawn_with(engine, amocrm(fake.url(), TOKEN)).await else { return };
    for n in 0..3 {
        app.post_lead_with(json!({"email": format!("token{n}@example.com"), "phone": format!("+7701555100{n}")})).await;
    }
    app.run_jobs_after(Duration::ZERO).await;
    assert_eq!(fake.counts(), (0, 0));
    assert!(push_jobs(&app).await.iter().all(|(status, attempts)| status == "queued" && *attempts == 0));
    let reason: String = sqlx::query_scalar("SELECT pause_reason FROM integration_status WHERE integration = 'amocrm'")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert!(reason.contains("401"), "{reason}");

    // The operator puts the new token in the environment and restarts: the restart probes
    // the paused integration at once.
    let url = fake.url();
    let app = app.restart(amocrm(url, "amo-long-lived-token-0002")).await;
    app.run_jobs_after(Duration::ZERO).await;

    assert_eq!(fake.counts(), (3, 3));
    assert_eq!(app.count("SELECT COUNT(*) FROM lead WHERE crm_deal_id IS NOT NULL").await, 3);
    assert_eq!(app.count("SELECT COUNT(*) FROM job WHERE status = 'failed'").await, 0);
});

with_each_engine!(a_revoked_resend_key_holds_the_emails_until_the_key_works_and_then_each_goes_once, |engine| {
    let resend = FakeResend::start().await;
    let url = resend.url();
    let Some(app) = TestApp::spawn_with(engine, move |config| {
        config.email.api_url = url;
        config.email.api_key = Some(SecretString::from(resend::API_KEY));
        config.email.timeout = Duration::from_secs(2);
    })
    .await
    else {
        return;
    };
    let admin = app.token_for("mail.admin", Role::Admin, None).await;
    resend.set_mode(Mode::KeyRevoked);
    let mut leads = Vec::new();
    for n in 0..4 {
        leads.push(
            app.post_lead(&format!("Тест {n}"), &format!("revoked{n}@example.com"), &format!("+7701666000{n}")).await,
        );
    }
    app.run_jobs_after(NOTIFY_DELAY).await;
    let refused = resend.requests();
    assert!((1..=4).contains(&refused), "the sends already under way were refused: {refused}");
    app.run_jobs_after(NOTIFY_DELAY).await;
    assert_eq!(resend.requests(), refused, "paused: nothing more is sent until a probe passes");
    let emails = "SELECT COUNT(*) FROM job WHERE kind = 'send_lead_email'";
    assert_eq!(app.count(&format!("{emails} AND status = 'queued' AND attempts = 0")).await, 4);
    assert_eq!(app.lead_status(leads[0]).await["email"]["status"], "pending", "waiting is not an error");
    let health = integration(&app, &admin, "resend").await;
    assert_eq!(health["state"], "paused");
    assert!(health["pauseReason"].as_str().unwrap().contains("invalid_api_key"), "{health}");

    // «Проверить сейчас» while the key is still revoked: still paused, and said so.
    let check = |app: &TestApp, admin: &str| {
        let request = app.client.post(app.url("/api/integrations/resend/check")).bearer_auth(admin);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let still_refused = check(&app, &admin).await;
    assert!(still_refused["message"].as_str().unwrap().contains("не пройдена"), "{still_refused}");
    assert_eq!(still_refused["integration"]["state"], "paused");

    resend.set_mode(Mode::Normal);
    let passed = check(&app, &admin).await;
    assert!(passed["message"].as_str().unwrap().contains("пройдена, интеграция работает"), "{passed}");
    app.run_jobs_after(NOTIFY_DELAY).await;

    assert_eq!(resend.accepted().len(), 4);
    assert!(resend.count_by_recipient().values().all(|sent| *sent == 1));
    for lead_id in leads {
        assert_eq!(app.lead_status(lead_id).await["email"]["status"], "sent");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM job WHERE status = 'failed'").await, 0);
    assert_eq!(integration(&app, &admin, "resend").await["state"], "ok");
});
