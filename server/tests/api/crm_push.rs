//! Pushing leads to AmoCRM against the fake: one contact and one deal per person however
//! often and however differently they type their phone, the deal on the stage of the last
//! submission, a retry after a timeout that creates nothing twice, and pacing under the
//! rate limit.

use std::time::Duration;

use secrecy::SecretString;
use serde_json::json;

use crate::fakes::amocrm::{FakeAmoCrm, TOKEN};
use crate::helpers::{with_each_engine, TestApp};

async fn spawn(engine: app::db::Engine, fake: &FakeAmoCrm) -> Option<TestApp> {
    let url = fake.url();
    TestApp::spawn_with(engine, |config| {
        config.crm.base_url = Some(url);
        config.crm.access_token = Some(SecretString::from(TOKEN));
        config.crm.timeout = Duration::from_secs(1);
    })
    .await
}

async fn push_due(app: &TestApp) {
    while app.run_jobs_after(Duration::ZERO).await > 0 {}
}

with_each_engine!(three_submissions_of_one_person_are_one_contact_and_one_deal, |engine| {
    let fake = FakeAmoCrm::start().await;
    let Some(app) = spawn(engine, &fake).await else { return };
    let quiz = |phone: &'static str| {
        json!({"name": "Тест Персона", "email": "person@example.com", "phone": phone, "utm_source": "fb_kenesary",
               "utm_campaign": "tripwire_nov", "fbclid": "fb.1.123"})
    };
    app.post_lead_with(quiz("+7 (705) 123-45-67")).await;
    push_due(&app).await;
    assert_eq!(fake.counts(), (1, 1));
    let deal = &fake.deals()[0];
    assert_eq!((deal.pipeline_id, deal.status_id), (10_350_882, 81_856_842), "the quiz stage");
    let fields = deal.fields.to_string();
    assert!(fields.contains("434731") && fields.contains("fb_kenesary") && fields.contains("fb.1.123"), "{fields}");

    app.post_lead_with(quiz("87051234567")).await;
    push_due(&app).await;
    let checkout = json!({"name": "Тест Персона", "email": "PERSON@example.com", "phone": "705 123 45 67",
                          "payment_method": "Kaspi"});
    let response = app.post_json("/api/landing/submit", &checkout).await;
    assert_eq!(response.status(), 200);
    push_due(&app).await;

    assert_eq!(fake.counts(), (1, 1), "one contact, one deal");
    assert_eq!(fake.deals()[0].status_id, 82_174_958, "the stage of the last submission (Kaspi)");
    let deal_ids: Vec<Option<i64>> =
        sqlx::query_scalar("SELECT crm_deal_id FROM lead ORDER BY lead_id").fetch_all(app.db.pool()).await.unwrap();
    assert_eq!(deal_ids, vec![Some(fake.deals()[0].id); 3]);
    let in_crm: i64 = sqlx::query_scalar("SELECT CAST(SUM(in_crm) AS BIGINT) FROM lead_stat_daily")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(in_crm, 3, "the «В AmoCRM» card counts each lead once");
});

with_each_engine!(a_push_retried_after_a_timeout_creates_nothing_twice, |engine| {
    let fake = FakeAmoCrm::start().await;
    let Some(app) = spawn(engine, &fake).await else { return };
    fake.hang_next_create();
    // AmoCRM's search does not show the new contact yet when the retry looks.
    fake.lag_search(Duration::from_secs(60));
    let lead_id = app.post_lead_with(json!({"email": "slow@example.com", "phone": "+77019998877"})).await;
    push_due(&app).await;
    assert_eq!(fake.counts(), (1, 1), "AmoCRM stored it though we never heard");
    let (status, error): (String, Option<String>) =
        sqlx::query_as("SELECT status, last_error FROM job WHERE kind = 'push_lead_to_crm'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(status, "queued");
    assert!(error.unwrap().contains("timeout"));

    app.run_jobs_after(Duration::from_secs(10)).await;
    assert_eq!(fake.counts(), (1, 1), "the retry found the deal it had created among the new ones");
    let stored: Option<i64> = sqlx::query_scalar("SELECT crm_deal_id FROM lead WHERE lead_id = $1")
        .bind(lead_id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(stored, Some(fake.deals()[0].id));
});

with_each_engine!(pushes_stay_under_the_rate_limit, |engine| {
    let fake = FakeAmoCrm::start().await;
    let Some(app) = spawn(engine, &fake).await else { return };
    for n in 0..5 {
        app.post_lead_with(json!({"email": format!("rate{n}@example.com"), "phone": format!("+7701555000{n}")})).await;
    }
    push_due(&app).await;
    assert_eq!(fake.counts(), (5, 5));
    assert_eq!(fake.throttled(), 0, "never above 7 requests a second");
});

with_each_engine!(oauth_refresh_tokens_are_used_once_and_stored_before_use, |engine| {
    use crate::fakes::amocrm::{CLIENT_ID, CLIENT_SECRET, REDIRECT_URI};

    let fake = FakeAmoCrm::start().await;
    fake.set_refresh_token("refresh-from-the-grant");
    let url = fake.url();
    let Some(app) = TestApp::spawn_with(engine, |config| {
        config.crm.base_url = Some(url);
        config.crm.client_id = Some(CLIENT_ID.to_owned());
        config.crm.client_secret = Some(SecretString::from(CLIENT_SECRET));
        config.crm.redirect_uri = Some(REDIRECT_URI.to_owned());
        config.crm.refresh_token = Some(SecretString::from("refresh-from-the-grant"));
        config.crm.timeout = Duration::from_secs(2);
    })
    .await
    else {
        return;
    };
    let stored = || async {
        sqlx::query_as::<_, (String, String)>("SELECT access_token, refresh_token FROM crm_token")
            .fetch_optional(app.db.pool())
            .await
            .unwrap()
    };
    app.post_lead_with(json!({"email": "oauth1@example.com", "phone": "+77017770001"})).await;
    push_due(&app).await;
    assert_eq!(fake.counts(), (1, 1));
    assert_eq!(stored().await, Some(("access-1".to_owned(), "refresh-1".to_owned())), "the new pair is kept");

    // AmoCRM expires the access token: one 401, one refresh with the stored token, a retry.
    fake.expire_access_tokens();
    app.post_lead_with(json!({"email": "oauth2@example.com", "phone": "+77017770002"})).await;
    push_due(&app).await;
    assert_eq!(fake.counts(), (2, 2));
    assert_eq!(stored().await, Some(("access-2".to_owned(), "refresh-2".to_owned())));
    assert_eq!(fake.oauth(), (Some("refresh-2".to_owned()), 2, 0), "never a spent refresh token");

    let admin = app.token_for("crm.admin", app::models::Role::Admin, None).await;
    let health = app.get_json("/api/integrations/amocrm", Some(&admin)).await;
    assert_eq!(health["integration"]["configured"], true, "{health}");
    assert!(health["integration"]["lastSuccessAt"].is_i64(), "{health}");
    assert!(health["integration"]["tokenExpiresAt"].as_i64().unwrap() > app::time::now_ms(), "{health}");
});

with_each_engine!(a_retaken_quiz_never_moves_a_deal_back, |engine| {
    let fake = FakeAmoCrm::start().await;
    // The person has passed lesson 2 of the express course.
    fake.seed(7_001, 81_854_586, 1_764_000_000, "+77051234567", "person@example.com");
    let Some(app) = spawn(engine, &fake).await else { return };

    let quiz = json!({"name": "Тест Персона", "email": "person@example.com", "phone": "+7 705 123 45 67"});
    let lead_id = app.post_lead_with(quiz).await;
    push_due(&app).await;

    assert_eq!(fake.counts(), (1, 1), "the person's contact and deal, nothing new");
    assert_eq!(fake.deals()[0].status_id, 81_854_586, "the deal stays on «passed lesson 2»");
    let (deal_id, status_id): (Option<i64>, Option<i64>) =
        sqlx::query_as("SELECT crm_deal_id, crm_status_id FROM lead WHERE lead_id = $1")
            .bind(lead_id)
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!((deal_id, status_id), (Some(7_001), Some(81_854_586)), "the lead records where the deal is");

    // A checkout with Kaspi is further along than the quiz but not than lesson 2 either.
    let checkout = json!({"name": "Тест Персона", "email": "person@example.com", "phone": "87051234567",
                          "payment_method": "kaspi"});
    assert_eq!(app.post_json("/api/landing/submit", &checkout).await.status(), 200);
    push_due(&app).await;
    assert_eq!(fake.deals()[0].status_id, 81_854_586);
});

/// Two processes on one PostgreSQL, each with its own client, need a token at the same
/// moment: one refreshes, the other waits and uses the pair it stored. (Only PostgreSQL
/// is shared by processes; a SQLite process refreshes under its client's own lock.)
#[tokio::test]
async fn two_processes_on_postgres_refresh_the_oauth_token_once() {
    use app::config::{Config, DatabaseConfig};
    use app::db::Db;
    use app::providers::amocrm::{AmoCrmClient, CrmAuth, OAuth};

    use crate::fakes::amocrm::{CLIENT_ID, CLIENT_SECRET, REDIRECT_URI};
    use crate::helpers::TestDatabase;

    let Some(database) = TestDatabase::create(app::db::Engine::Postgres).await else { return };
    let db = Db::connect(&DatabaseConfig {
        url: database.url.clone(),
        max_connections: None,
        acquire_timeout: Duration::from_secs(5),
    })
    .await
    .unwrap();
    db.migrate().await.unwrap();
    let fake = FakeAmoCrm::start().await;
    fake.set_refresh_token("refresh-from-the-grant");
    fake.seed(7_002, 81_856_842, 1_764_000_000, "+77051234568", "pair@example.com");
    let config = Config::for_tests(&database.url).crm;
    let process = || {
        let oauth = OAuth {
            db: db.clone(),
            client_id: CLIENT_ID.to_owned(),
            client_secret: SecretString::from(CLIENT_SECRET),
            redirect_uri: REDIRECT_URI.to_owned(),
            first_refresh_token: Some(SecretString::from("refresh-from-the-grant")),
            current: tokio::sync::Mutex::new(None),
        };
        AmoCrmClient::new(&config, &fake.url(), CrmAuth::OAuth(oauth))
    };
    let (first, second) = (process(), process());

    let (one, other) = tokio::join!(first.deal(7_002), second.deal(7_002));

    assert!(one.unwrap().is_some() && other.unwrap().is_some(), "both read the deal");
    assert_eq!(fake.oauth(), (Some("refresh-1".to_owned()), 1, 0), "one refresh, and no spent token sent");
    db.close().await;
}
