//! Email and SMS delivery: the job runner against fake Resend and Mobizon servers, the
//! provider webhooks, the compatibility routes and the development outbox.

use std::time::Duration;

use secrecy::SecretString;
use serde_json::{json, Value};

use app::config::Config;
use app::models::Role;
use app::providers::resend::svix_signature;
use app::time::now_ms;

use crate::fakes::mobizon::{self, FakeMobizon};
use crate::fakes::resend::{self, FakeResend};
use crate::fakes::Mode;
use crate::helpers::{on_both_engines, with_each_engine, TestApp};

const RESEND_SECRET: &str = "whsec_cmVzZW5kLWZha2Utd2ViaG9vay1zZWNyZXQtMDAwMQ==";
const MOBIZON_SECRET: &str = "mobizon-webhook-secret";
pub(crate) const DELAY: Duration = Duration::from_secs(2);

/// Both fakes and an app configured to use them, with short timeouts and retries.
pub(crate) struct Setup {
    pub(crate) app: TestApp,
    pub(crate) resend: FakeResend,
    pub(crate) mobizon: FakeMobizon,
}

impl Setup {
    pub(crate) async fn start(engine: app::db::Engine) -> Option<Self> {
        Self::start_with(engine, |_| {}).await
    }

    /// Like [`start`](Self::start), with the configuration adjusted by `adjust` after.
    pub(crate) async fn start_with(engine: app::db::Engine, adjust: impl FnOnce(&mut Config)) -> Option<Self> {
        let (resend, mobizon) = (FakeResend::start().await, FakeMobizon::start().await);
        let (resend_url, mobizon_url) = (resend.url(), mobizon.url());
        let app = TestApp::spawn_with(engine, move |config: &mut Config| {
            config.intake.notify_delay = DELAY;
            config.email.api_url = resend_url;
            config.email.api_key = Some(SecretString::from(resend::API_KEY));
            config.email.webhook_secret = Some(SecretString::from(RESEND_SECRET));
            config.email.timeout = Duration::from_millis(500);
            config.sms.api_url = mobizon_url;
            config.sms.api_key = Some(SecretString::from(mobizon::API_KEY));
            config.sms.webhook_secret = Some(SecretString::from(MOBIZON_SECRET));
            config.sms.timeout = Duration::from_millis(500);
            config.jobs.retry_base = Duration::from_secs(1);
            config.jobs.max_attempts = 4;
            adjust(config);
        })
        .await?;
        Some(Self { app, resend, mobizon })
    }

    /// Posts a Resend event about the lead's email, signed; returns the HTTP status.
    async fn resend_event(&self, event_id: &str, event_type: &str, email_id: &str, secret: &str) -> u16 {
        let body = json!({
            "type": event_type,
            "created_at": chrono::Utc::now().to_rfc3339(),
            "data": { "created_at": "2026-11-22 10:00:00.000000+00", "email_id": email_id,
                      "from": "Академия <noreply@example.kz>", "to": ["someone@example.com"],
                      "subject": "Тест пройден. Получить продукт", "tags": [] },
        })
        .to_string();
        let timestamp = now_ms() / 1000;
        let response = self
            .app
            .client
            .post(self.app.url("/webhooks/resend"))
            .header("svix-id", event_id)
            .header("svix-timestamp", timestamp.to_string())
            .header("svix-signature", svix_signature(secret, event_id, timestamp, body.as_bytes()))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        response.status().as_u16()
    }

    async fn mobizon_report(&self, body: &Value) -> u16 {
        self.app.client.post(self.app.url("/webhooks/mobizon")).json(body).send().await.unwrap().status().as_u16()
    }
}

fn statuses(status: &Value) -> (String, String) {
    (status["email"]["status"].as_str().unwrap().to_owned(), status["sms"]["status"].as_str().unwrap().to_owned())
}

with_each_engine!(a_lead_gets_one_email_and_one_sms_after_the_delay_and_not_before, |engine| {
    let Some(setup) = Setup::start(engine).await else { return };
    let lead_id = setup.app.post_lead("Айгерим Тестова", "aigerim@example.com", "+7 705 123-45-67").await;

    setup.app.run_jobs_after(DELAY - Duration::from_millis(300)).await;
    assert_eq!((setup.resend.requests(), setup.mobizon.requests()), (0, 0), "nothing before the delay");
    assert_eq!(statuses(&setup.app.lead_status(lead_id).await), ("pending".into(), "pending".into()));

    setup.app.run_jobs_after(DELAY + Duration::from_millis(300)).await;
    setup.app.run_jobs_after(DELAY + Duration::from_secs(5)).await;
    let emails = setup.resend.accepted();
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0].to, "aigerim@example.com");
    assert_eq!(emails[0].subject, "Тест пройден. Получить продукт");
    assert_eq!(emails[0].idempotency_key, format!("lead-{lead_id}-email"));
    assert!(emails[0].body["html"].as_str().unwrap().contains("Айгерим"));
    assert!(!emails[0].body["text"].as_str().unwrap().is_empty());
    let sms = setup.mobizon.accepted();
    assert_eq!(sms.len(), 1);
    assert_eq!(sms[0].to, "77051234567");
    assert_eq!(sms[0].campaign_name, format!("lead-{lead_id}-sms"));
    assert_eq!(statuses(&setup.app.lead_status(lead_id).await), ("sent".into(), "sent".into()));
    assert_eq!(setup.app.count("SELECT COUNT(*) FROM job WHERE status = 'failed'").await, 0);
});

with_each_engine!(webhooks_move_the_status_forward_and_replays_or_bad_signatures_change_nothing, |engine| {
    let Some(setup) = Setup::start(engine).await else { return };
    let lead_id = setup.app.post_lead("Дана", "dana@example.com", "87011234567").await;
    setup.app.run_jobs_after(DELAY + Duration::from_secs(1)).await;
    let email_id = setup.resend.accepted()[0].id.clone();
    let sms_id = setup.mobizon.accepted()[0].id.clone();

    assert_eq!(setup.resend_event("msg_1", "email.delivered", &email_id, RESEND_SECRET).await, 200);
    // The route stores the event and answers; the job applies it.
    assert_eq!(setup.app.lead_status(lead_id).await["email"]["status"], "sent");
    assert_eq!(setup.app.run_jobs_after(Duration::ZERO).await, 1);
    assert_eq!(setup.app.lead_status(lead_id).await["email"]["status"], "delivered");
    assert_eq!(setup.resend_event("msg_2", "email.opened", &email_id, RESEND_SECRET).await, 200);
    assert_eq!(setup.resend_event("msg_3", "email.clicked", &email_id, RESEND_SECRET).await, 200);
    setup.app.run_jobs_after(Duration::ZERO).await;
    assert_eq!(setup.app.lead_status(lead_id).await["email"]["status"], "clicked");
    // A replay, and a late event of an earlier stage, leave it alone.
    assert_eq!(setup.resend_event("msg_1", "email.delivered", &email_id, RESEND_SECRET).await, 200);
    assert_eq!(setup.resend_event("msg_4", "email.delivered", &email_id, RESEND_SECRET).await, 200);
    assert_eq!(setup.app.run_jobs_after(Duration::ZERO).await, 1, "the replay queues nothing");
    assert_eq!(setup.app.lead_status(lead_id).await["email"]["status"], "clicked");
    assert_eq!(setup.app.count("SELECT COUNT(*) FROM webhook_event WHERE event_id = 'msg_1'").await, 1);
    // Reports of one lead may be applied in any order; only a forward move changes it.
    let late = "SELECT COUNT(*) FROM webhook_event WHERE event_id = 'msg_4' AND outcome = 'stale'";
    assert_eq!(setup.app.count(late).await, 1);
    // A wrong secret is refused and stores nothing.
    let wrong = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    assert_eq!(setup.resend_event("msg_5", "email.bounced", &email_id, wrong).await, 401);
    assert_eq!(setup.app.run_jobs_after(Duration::ZERO).await, 0);
    assert_eq!(setup.app.lead_status(lead_id).await["email"]["status"], "clicked");
    assert_eq!(setup.app.count("SELECT COUNT(*) FROM webhook_event WHERE event_id = 'msg_5'").await, 0);

    let mut report = setup.mobizon.delivery_report(&sms_id, "DELIVRD", MOBIZON_SECRET);
    assert_eq!(setup.mobizon_report(&report).await, 200);
    setup.app.run_jobs_after(Duration::ZERO).await;
    assert_eq!(setup.app.lead_status(lead_id).await["sms"]["status"], "delivered");
    assert_eq!(setup.mobizon_report(&report).await, 200, "a replay is answered and ignored");
    report["sign"] = json!("0000000000000000000000000000000000000000");
    assert_eq!(setup.mobizon_report(&report).await, 401);
    let rejected = setup.mobizon.delivery_report(&sms_id, "UNDELIV", "not-our-secret");
    assert_eq!(setup.mobizon_report(&rejected).await, 401);
    assert_eq!(setup.app.run_jobs_after(Duration::ZERO).await, 0);
    assert_eq!(setup.app.lead_status(lead_id).await["sms"]["status"], "delivered");

    assert_eq!(setup.app.get_json("/api/landing/leads/999999/status", None).await["success"], false);
});

with_each_engine!(checkout_leads_get_the_checkout_texts_and_quiz_leads_the_quiz_result, |engine| {
    let Some(setup) = Setup::start(engine).await else { return };
    let body = json!({ "name": "Асель Тестова", "email": "asel@example.com", "phone": "+77011234569", "payment_method": "kaspi" });
    assert_eq!(setup.app.post_json("/api/landing/submit", &body).await.status(), 200);
    setup.app.post_lead("Дана Тестова", "dana@example.com", "+77011234570").await;
    setup.app.run_jobs_after(DELAY + Duration::from_secs(1)).await;

    let emails = setup.resend.accepted();
    let email_to = |to: &str| emails.iter().find(|email| email.to == to).unwrap().clone();
    let checkout = email_to("asel@example.com");
    assert_eq!(checkout.subject, "Express-курс: завершите оплату");
    let text = checkout.body["text"].as_str().unwrap();
    assert!(text.starts_with("Асель, здравствуйте!") && text.contains("через Kaspi"), "{text}");
    assert!(!text.contains("Тест пройден"), "{text}");
    assert_eq!(email_to("dana@example.com").subject, "Тест пройден. Получить продукт");
    let sms = setup.mobizon.accepted();
    let sms_to = |to: &str| sms.iter().find(|sms| sms.to == to).unwrap().text.clone();
    assert!(sms_to("77011234569").contains("Express-курс ждёт оплаты через Kaspi"));
    assert!(sms_to("77011234570").contains("Тест пройден!"));

    // Admins preview both, rendered for a sample lead.
    let admin = setup.app.token_for("templates.admin", Role::Admin, None).await;
    let previews = setup.app.get_json("/api/messages/previews", Some(&admin)).await;
    let subjects: Vec<&str> = previews.as_array().unwrap().iter().map(|p| p["subject"].as_str().unwrap()).collect();
    assert_eq!(subjects, ["Тест пройден. Получить продукт", "Express-курс: завершите оплату"], "{previews}");
});

with_each_engine!(the_history_keeps_every_status_with_its_time_in_any_order, |engine| {
    let Some(setup) = Setup::start(engine).await else { return };
    let lead_id = setup.app.post_lead("Жанар", "zhanar@example.com", "87011234568").await;
    setup.app.run_jobs_after(DELAY + Duration::from_secs(1)).await;
    let email_id = setup.resend.accepted()[0].id.clone();
    // Opened overtakes delivered on the way; a repeat adds nothing.
    for (event_id, event_type) in
        [("h_1", "email.opened"), ("h_2", "email.delivered"), ("h_3", "email.opened"), ("h_4", "email.clicked")]
    {
        assert_eq!(setup.resend_event(event_id, event_type, &email_id, RESEND_SECRET).await, 200);
        setup.app.run_jobs_after(Duration::ZERO).await;
    }
    let status = setup.app.lead_status(lead_id).await;
    assert_eq!(status["email"]["status"], "clicked");
    let steps = |channel: &str| -> Vec<String> {
        status["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|event| event["channel"] == channel)
            .map(|event| event["status"].as_str().unwrap().to_owned())
            .collect()
    };
    // In the order a message lives through, whatever order the reports came in.
    assert_eq!(steps("email"), ["sent", "delivered", "opened", "clicked"], "{status}");
    assert_eq!(steps("sms"), ["sent"]);
    assert!(status["history"].as_array().unwrap().iter().all(|event| event["at"].as_i64().unwrap() > 0));

    // The table's row carries the same steps; the counters count the lead once.
    let admin = setup.app.token_for("history.admin", Role::Admin, None).await;
    let listed = setup.app.get_json(&format!("/api/lead-tracking/leads?q=%23{lead_id}"), Some(&admin)).await;
    let history: Vec<&str> = listed["leads"][0]["email_history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| step["status"].as_str().unwrap())
        .collect();
    assert_eq!(history, ["sent", "delivered", "opened", "clicked"], "{listed}");
    let all = setup.app.get_json("/api/lead-tracking/leads", Some(&admin)).await;
    assert_eq!((&all["stats"]["email_sent"], &all["stats"]["email_opened"]), (&json!(1), &json!(1)), "{all}");

    // A resend starts a new attempt in the history.
    let mut conn = setup.app.db.pool().acquire().await.unwrap();
    app::db::delivery::reset_status(&mut conn, lead_id, app::models::Channel::Email, now_ms()).await.unwrap();
    drop(conn);
    let status = setup.app.lead_status(lead_id).await;
    let last = status["history"].as_array().unwrap().iter().rfind(|event| event["channel"] == "email").unwrap().clone();
    assert_eq!((last["status"].as_str(), last["detail"].as_str()), (Some("pending"), Some("отправка заново")));
});

with_each_engine!(a_report_that_comes_before_its_send_is_applied_once_the_send_is_stored, |engine| {
    let Some(setup) = Setup::start(engine).await else { return };
    let lead_id = setup.app.post_lead("Асель", "asel@example.com", "+77011112233").await;
    // Mobizon's report races our own commit of the send (the fake numbers its first SMS
    // 70000000001): the lead has no message id yet, so the report waits.
    let early = setup.mobizon.delivery_report("70000000001", "DELIVRD", MOBIZON_SECRET);
    assert_eq!(setup.mobizon_report(&early).await, 200);
    assert_eq!(setup.app.run_jobs_after(Duration::ZERO).await, 1);
    let waiting = "SELECT COUNT(*) FROM job WHERE kind = 'apply_delivery_report' AND status = 'queued'";
    assert_eq!(setup.app.count(waiting).await, 1, "the report waits for its lead");
    setup.app.run_jobs_after(DELAY + Duration::from_secs(1)).await;
    setup.app.run_jobs_after(DELAY + Duration::from_secs(40)).await;
    assert_eq!(setup.mobizon.accepted()[0].id, "70000000001");
    assert_eq!(setup.app.lead_status(lead_id).await["sms"]["status"], "delivered");

    // A report about no message of ours is given up after a few looks, without a failed job.
    assert_eq!(setup.resend_event("msg_stray", "email.delivered", "not-our-email", RESEND_SECRET).await, 200);
    for look in 1..=6 {
        setup.app.run_jobs_after(DELAY + Duration::from_secs(40 + 31 * look)).await;
    }
    assert_eq!(setup.app.count("SELECT COUNT(*) FROM webhook_event WHERE outcome = 'no_lead'").await, 1);
    assert_eq!(setup.app.count(waiting).await, 0);
    assert_eq!(setup.app.count("SELECT COUNT(*) FROM job WHERE status = 'failed'").await, 0);
});

with_each_engine!(polling_mobizon_finds_the_final_sms_status, |engine| {
    let Some(setup) = Setup::start(engine).await else { return };
    let lead_id = setup.app.post_lead("Ерлан", "erlan@example.com", "+77021234567").await;
    setup.app.run_jobs_after(DELAY + Duration::from_secs(1)).await;
    let sms_id = setup.mobizon.accepted()[0].id.clone();

    // Not final yet: the check is rescheduled, the status stays `sent`.
    setup.app.run_jobs_after(Duration::from_secs(90)).await;
    assert_eq!(setup.app.lead_status(lead_id).await["sms"]["status"], "sent");
    setup.mobizon.set_status(&sms_id, "DELIVRD");
    setup.app.run_jobs_after(Duration::from_secs(400)).await;
    assert_eq!(setup.app.lead_status(lead_id).await["sms"]["status"], "delivered");
    assert_eq!(
        setup.app.count("SELECT COUNT(*) FROM job WHERE kind = 'check_sms_status' AND status = 'queued'").await,
        0
    );
});

with_each_engine!(an_outage_with_timeouts_delivers_every_message_once_after_recovery, |engine| {
    let Some(setup) = Setup::start(engine).await else { return };
    let mut leads = Vec::new();
    for n in 0..6 {
        leads.push(
            setup.app.post_lead(&format!("Лид {n}"), &format!("lead{n}@example.com"), &format!("+7701000000{n}")).await,
        );
    }
    // First the providers are down, then they accept but the answer never comes back,
    // then they recover.
    setup.resend.set_mode(Mode::Outage);
    setup.mobizon.set_mode(Mode::Outage);
    setup.app.run_jobs_after(DELAY + Duration::from_secs(1)).await;
    assert_eq!(
        setup.app.count("SELECT COUNT(*) FROM job WHERE status = 'queued' AND last_error IS NOT NULL").await,
        12
    );
    setup.resend.set_mode(Mode::Hang);
    setup.mobizon.set_mode(Mode::Hang);
    setup.app.run_jobs_after(Duration::from_secs(20)).await;
    assert!(setup.resend.accepted().is_empty() && setup.mobizon.accepted().is_empty());
    setup.resend.set_mode(Mode::AcceptThenHang);
    setup.mobizon.set_mode(Mode::AcceptThenHang);
    setup.app.run_jobs_after(Duration::from_secs(60)).await;
    setup.resend.set_mode(Mode::Normal);
    setup.mobizon.set_mode(Mode::Normal);
    setup.app.run_jobs_after(Duration::from_secs(600)).await;

    for n in 0..6 {
        assert_eq!(setup.resend.count_by_recipient().get(&format!("lead{n}@example.com")), Some(&1));
        assert_eq!(setup.mobizon.count_by_recipient().get(&format!("7701000000{n}")), Some(&1));
    }
    for lead_id in leads {
        assert_eq!(statuses(&setup.app.lead_status(lead_id).await), ("sent".into(), "sent".into()));
    }
    assert_eq!(setup.app.count("SELECT COUNT(*) FROM job WHERE status = 'failed'").await, 0);
});

with_each_engine!(a_rate_limited_email_waits_for_retry_after, |engine| {
    let Some(setup) = Setup::start(engine).await else { return };
    let lead_id = setup.app.post_lead("Асель", "asel@example.com", "+77071234567").await;
    setup.resend.set_mode(Mode::RateLimited);
    setup.mobizon.set_mode(Mode::RateLimited);
    let at = now_ms() + 2_100;
    setup.app.jobs.run_due(at).await.unwrap();
    let (run_at, error): (i64, String) =
        sqlx::query_as("SELECT run_at, last_error FROM job WHERE kind = 'send_lead_email'")
            .fetch_one(setup.app.db.pool())
            .await
            .unwrap();
    assert!(error.contains("429"), "{error}");
    assert!(
        (at + 900..=at + 1_100).contains(&run_at),
        "retried after retry-after (1 s), not the backoff: {}",
        run_at - at
    );
    setup.resend.set_mode(Mode::Normal);
    setup.mobizon.set_mode(Mode::Normal);
    setup.app.run_jobs_after(Duration::from_secs(30)).await;
    assert_eq!(statuses(&setup.app.lead_status(lead_id).await), ("sent".into(), "sent".into()));
    assert_eq!(setup.resend.accepted().len(), 1);
});

with_each_engine!(a_rejected_message_is_parked_with_the_provider_error_and_a_retry_sends_it, |engine| {
    let Some(setup) = Setup::start(engine).await else { return };
    let lead_id = setup.app.post_lead("Марат", "marat@example.com", "+77051110000").await;
    let token = setup.app.token_for("ops-admin", Role::Admin, None).await;
    setup.resend.set_mode(Mode::Reject);
    setup.mobizon.set_mode(Mode::Reject);
    setup.app.run_jobs_after(DELAY + Duration::from_secs(1)).await;
    assert_eq!(setup.resend.requests(), 1, "a rejection is not retried");
    let status = setup.app.lead_status(lead_id).await;
    assert_eq!(statuses(&status), ("error".into(), "error".into()));
    assert!(status["email"]["error"].as_str().unwrap().contains("Invalid `to` field"), "{status}");
    assert!(status["sms"]["error"].as_str().unwrap().contains("Неверный номер получателя"), "{status}");

    let health = setup.app.get_json("/api/integrations/all", Some(&token)).await;
    let resend = &health["integrations"][0];
    assert_eq!(
        (resend["name"].as_str(), resend["mode"].as_str(), resend["failed"].as_i64()),
        (Some("resend"), Some("live"), Some(1))
    );
    assert!(resend["lastError"].as_str().unwrap().contains("Invalid `to` field"), "{health}");
    assert_eq!(health["integrations"][1]["failed"], 1);
    assert!(health["integrations"][1]["lastSuccessAt"].is_null());
    let failed = setup.app.get_json("/api/lead-tracking/jobs/failed", Some(&token)).await;
    assert_eq!(failed["total"], 2);
    setup.resend.set_mode(Mode::Normal);
    setup.mobizon.set_mode(Mode::Normal);
    for job in failed["jobs"].as_array().unwrap() {
        let url = setup.app.url(&format!("/api/lead-tracking/jobs/{}/retry", job["jobId"]));
        assert_eq!(setup.app.client.post(&url).bearer_auth(&token).send().await.unwrap().status(), 200);
        assert_eq!(setup.app.client.post(&url).bearer_auth(&token).send().await.unwrap().status(), 409, "retried once");
    }
    setup.app.run_jobs_after(Duration::ZERO).await;
    assert_eq!(statuses(&setup.app.lead_status(lead_id).await), ("sent".into(), "sent".into()));
    assert_eq!((setup.resend.accepted().len(), setup.mobizon.accepted().len()), (1, 1));
    let health = setup.app.get_json("/api/integrations/all", Some(&token)).await;
    assert!(health["integrations"][1]["lastSuccessAt"].is_i64(), "{health}");
    assert_eq!(health["integrations"][1]["failed"], 0);
});

with_each_engine!(compatibility_routes_need_an_admin_token_and_a_known_status, |engine| {
    let Some(setup) = Setup::start(engine).await else { return };
    let lead_id = setup.app.post_lead("Нурлан", "nurlan@example.com", "+77011112233").await;
    let token = setup.app.token_for("sender-script", Role::Admin, None).await;
    let post = |path: &'static str, body: Value, token: Option<String>| {
        let mut request = setup.app.client.post(setup.app.url(path)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move { request.send().await.unwrap() }
    };
    let email = "/api/lead-tracking/update-email-status";
    let sms = "/api/lead-tracking/update-sms-status";
    assert_eq!(post(email, json!({ "leadId": lead_id, "status": "opened" }), None).await.status(), 401);
    assert_eq!(post(email, json!({ "leadId": lead_id, "status": "read" }), Some(token.clone())).await.status(), 422);
    assert_eq!(post(sms, json!({ "leadId": lead_id, "status": "opened" }), Some(token.clone())).await.status(), 422);
    assert_eq!(post(email, json!({ "leadId": 999_999, "status": "sent" }), Some(token.clone())).await.status(), 404);
    assert_eq!(post(email, json!({ "leadId": lead_id, "status": "opened" }), Some(token.clone())).await.status(), 200);
    let response = post(email, json!({ "leadId": lead_id, "status": "sent" }), Some(token.clone())).await;
    assert_eq!(response.json::<Value>().await.unwrap()["changed"], false, "never backwards");
    assert_eq!(
        post(sms, json!({ "leadId": lead_id, "status": "error", "error": "нет сети" }), Some(token)).await.status(),
        200
    );
    let status = setup.app.lead_status(lead_id).await;
    assert_eq!(statuses(&status), ("opened".into(), "error".into()));
    assert_eq!(status["sms"]["error"], "нет сети");
    let opened: i64 = setup.app.count("SELECT CAST(SUM(email_opened) AS BIGINT) FROM lead_stat_daily").await;
    assert_eq!(opened, 1, "the cards count the new status");
});

on_both_engines!(without_credentials_messages_go_to_the_development_outbox, |app| {
    let lead_id = app.post_lead("Тест", "outbox@example.com", "+77051234500").await;
    app.run_jobs_after(crate::helpers::NOTIFY_DELAY + Duration::from_secs(1)).await;
    app.run_jobs_after(crate::helpers::NOTIFY_DELAY + Duration::from_secs(1)).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM dev_outbox WHERE channel = 'email'").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM dev_outbox WHERE channel = 'sms'").await, 1);
    assert_eq!(statuses(&app.lead_status(lead_id).await), ("sent".into(), "sent".into()));
    assert_eq!(app.count("SELECT COUNT(*) FROM job WHERE kind = 'check_sms_status'").await, 0);
    let token = app.token_for("health-admin", Role::Admin, None).await;
    let health = app.get_json("/api/integrations/all", Some(&token)).await;
    assert_eq!(health["integrations"][0]["mode"], "test");
    assert_eq!(health["integrations"][1]["configured"], false);
    assert_eq!(app.get_json("/api/integrations/all", None).await["success"], false, "admins only");
});

with_each_engine!(shutdown_stops_claiming_and_lets_running_jobs_finish, |engine| {
    let Some(setup) = Setup::start(engine).await else { return };
    for n in 0..3 {
        setup.app.post_lead(&format!("Лид {n}"), &format!("stop{n}@example.com"), &format!("+7702000000{n}")).await;
    }
    // Make the jobs due now, and slow to answer, so that the stop comes while they run.
    sqlx::query("UPDATE job SET run_at = 0 WHERE kind = 'send_lead_email'").execute(setup.app.db.pool()).await.unwrap();
    setup.resend.set_latency(Duration::from_millis(300));
    let shutdown = tokio_util::sync::CancellationToken::new();
    let runner = setup.app.jobs.start(shutdown.clone());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while setup.resend.requests() < 3 {
        assert!(std::time::Instant::now() < deadline, "the runner never sent");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    shutdown.cancel();
    runner.await.unwrap();
    // The three sends in flight were finished and recorded; nothing new was claimed.
    assert_eq!(setup.app.count("SELECT COUNT(*) FROM job WHERE kind = 'send_lead_email' AND status = 'done'").await, 3);
    assert_eq!(setup.app.count("SELECT COUNT(*) FROM job WHERE status = 'running'").await, 0);
    assert_eq!(setup.app.count("SELECT COUNT(*) FROM job WHERE kind = 'send_lead_sms' AND status = 'queued'").await, 3);
});

with_each_engine!(retrying_every_failed_sms_sends_the_ones_never_sent_and_finds_the_one_that_went_out, |engine| {
    let Some(setup) = Setup::start_with(engine, |config| config.jobs.max_attempts = 1).await else { return };
    let (app, mobizon) = (&setup.app, &setup.mobizon);
    let admin = app.token_for("sms.admin", Role::Admin, None).await;
    // Weeks ago (as far as this test goes) the person got the same text for an earlier lead.
    app.post_lead("Асель Тестова", "asel@example.com", "+77071234567").await;
    app.run_jobs_after(DELAY).await;
    assert_eq!(mobizon.accepted().len(), 1);

    // Their new lead's SMS meets an outage and fails before reaching Mobizon.
    mobizon.set_mode(Mode::Outage);
    let unsent = app.post_lead("Асель Тестова", "asel@example.com", "+77071234567").await;
    app.run_jobs_after(DELAY).await;
    // Another lead's SMS reaches Mobizon, whose answer never comes back.
    mobizon.set_mode(Mode::AcceptThenHang);
    let unseen = app.post_lead("Дана Тестова", "dana@example.com", "+77077654321").await;
    app.run_jobs_after(DELAY).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM job WHERE kind = 'send_lead_sms' AND status = 'failed'").await, 2);
    assert_eq!(mobizon.accepted().len(), 2);

    mobizon.set_mode(Mode::Normal);
    let retry = app.client.post(app.url("/api/lead-tracking/jobs/retry")).bearer_auth(&admin);
    let answer: Value = retry.json(&json!({"integration": "mobizon"})).send().await.unwrap().json().await.unwrap();
    assert_eq!(answer["retried"], 2, "{answer}");
    app.run_jobs_after(DELAY).await;

    let sent = mobizon.count_by_recipient();
    assert_eq!(sent.get("77071234567"), Some(&2), "the earlier lead's SMS is not this one's: it is sent");
    assert_eq!(sent.get("77077654321"), Some(&1), "the one that went out unseen is found, not sent again");
    for lead_id in [unsent, unseen] {
        assert_eq!(setup.app.lead_status(lead_id).await["sms"]["status"], "sent");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM job WHERE status = 'failed'").await, 0);
});
