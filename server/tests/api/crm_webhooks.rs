//! AmoCRM's webhooks: bodies in the real bracket format, the `token` secret, one sale and
//! one Telegram message however often a won deal is delivered, cancellation, and Telegram's
//! 429.

use std::time::Duration;

use secrecy::SecretString;

use crate::fakes::telegram::{FakeTelegram, BOT_TOKEN};
use crate::helpers::{with_each_engine, TestApp};

pub(crate) const SECRET: &str = "amo-hook-secret-0001";
const CHAT: &str = "-1001234567890";

async fn spawn(engine: app::db::Engine, telegram: &FakeTelegram) -> Option<TestApp> {
    let url = telegram.url();
    TestApp::spawn_with(engine, |config| {
        config.crm.webhook_secret = Some(SecretString::from(SECRET));
        config.telegram.api_url = url;
        config.telegram.bot_token = Some(SecretString::from(BOT_TOKEN));
        config.telegram.default_chat_id = Some(CHAT.to_owned());
    })
    .await
}

/// Like [`spawn`], with AmoCRM's API at `crm` (to read deals).
async fn spawn_with_crm(
    engine: app::db::Engine,
    telegram: &FakeTelegram,
    crm: &crate::fakes::amocrm::FakeAmoCrm,
) -> Option<TestApp> {
    let (telegram_url, crm_url) = (telegram.url(), crm.url());
    TestApp::spawn_with(engine, |config| {
        config.crm.webhook_secret = Some(SecretString::from(SECRET));
        config.crm.base_url = Some(crm_url);
        config.crm.access_token = Some(SecretString::from(crate::fakes::amocrm::TOKEN));
        config.telegram.api_url = telegram_url;
        config.telegram.bot_token = Some(SecretString::from(BOT_TOKEN));
        config.telegram.default_chat_id = Some(CHAT.to_owned());
    })
    .await
}

/// A `leads[status]` delivery, form-encoded as AmoCRM sends it.
pub(crate) fn status_change(
    deal_id: i64,
    pipeline_id: i64,
    status_id: i64,
    old_status_id: i64,
    fields: &[(i64, &str)],
) -> String {
    let mut pairs = vec![
        ("leads[status][0][id]".to_owned(), deal_id.to_string()),
        ("leads[status][0][name]".to_owned(), "<b>Айгерим & Co</b>".to_owned()),
        ("leads[status][0][status_id]".to_owned(), status_id.to_string()),
        ("leads[status][0][old_status_id]".to_owned(), old_status_id.to_string()),
        ("leads[status][0][price]".to_owned(), "0".to_owned()),
        ("leads[status][0][pipeline_id]".to_owned(), pipeline_id.to_string()),
        ("leads[status][0][updated_at]".to_owned(), "1773147600".to_owned()),
        ("account[subdomain]".to_owned(), "academy".to_owned()),
        ("account[id]".to_owned(), "30739638".to_owned()),
    ];
    for (n, (field, value)) in fields.iter().enumerate() {
        pairs.push((format!("leads[status][0][custom_fields][{n}][id]"), field.to_string()));
        pairs.push((format!("leads[status][0][custom_fields][{n}][values][0][value]"), (*value).to_owned()));
    }
    form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

pub(crate) async fn deliver(app: &TestApp, path: &str, token: Option<&str>, body: String) -> u16 {
    let url = match token {
        Some(token) => app.url(&format!("{path}?token={token}")),
        None => app.url(path),
    };
    let request = app.client.post(url).header("content-type", "application/x-www-form-urlencoded").body(body);
    request.send().await.unwrap().status().as_u16()
}

pub(crate) async fn run_all_jobs(app: &TestApp) {
    while app.run_jobs_after(Duration::ZERO).await > 0 {}
}

with_each_engine!(a_won_deal_delivered_twenty_times_is_one_sale_and_one_message, |engine| {
    let telegram = FakeTelegram::start().await;
    let Some(app) = spawn(engine, &telegram).await else { return };
    let body =
        status_change(777_001, 10_350_882, 142, 81_854_574, &[(434_731, "fb_kenesary"), (434_729, "tripwire_nov")]);
    let deliveries = (0..20).map(|_| deliver(&app, "/api/amocrm/funnel-sale", Some(SECRET), body.clone()));
    let statuses = futures_util::future::join_all(deliveries).await;
    assert!(statuses.iter().all(|status| *status == 200), "{statuses:?}");
    run_all_jobs(&app).await;
    // The same deal again an hour later, through another of the three routes.
    assert_eq!(deliver(&app, "/api/amocrm/sales-webhook", Some(SECRET), body.clone()).await, 200);
    app.run_jobs_after(Duration::from_secs(3600)).await;
    run_all_jobs(&app).await;

    let sale: (String, i64, Option<String>, Option<String>) = sqlx::query_as(
        "SELECT sale.product, sale.amount, team.name, sale.contact_name FROM sale LEFT JOIN team USING (team_id)",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(sale, ("express".into(), 5_000, Some("Kenesary".into()), Some("<b>Айгерим & Co</b>".into())));
    assert_eq!(app.count("SELECT COUNT(*) FROM sale").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM crm_event WHERE status = 'processed'").await, 21);
    let sent = telegram.sent();
    assert_eq!(sent.len(), 1, "one message: {sent:?}");
    let (chat, text, parse_mode) = &sent[0];
    assert_eq!((chat.as_str(), parse_mode.as_str()), (CHAT, "HTML"));
    assert!(text.contains("👤 Клиент: &lt;b&gt;Айгерим &amp; Co&lt;/b&gt;"), "{text}");
    assert!(text.contains("💰 Сумма: 5 000 ₸") && text.contains("🏷️ Кампания: tripwire_nov"), "{text}");
    assert!(text.contains("Kenesary, ПОЗДРАВЛЯЕМ!"), "{text}");
});

with_each_engine!(webhooks_need_the_secret_and_store_every_delivery, |engine| {
    let telegram = FakeTelegram::start().await;
    let Some(app) = spawn(engine, &telegram).await else { return };
    let won = status_change(777_002, 10_418_746, 142, 1, &[]);
    assert_eq!(deliver(&app, "/api/amocrm/funnel-sale", None, won.clone()).await, 401);
    assert_eq!(deliver(&app, "/webhook/amocrm/traffic", Some("wrong"), won.clone()).await, 401);
    assert_eq!(app.count("SELECT COUNT(*) FROM crm_event").await, 0, "a refused request stores nothing");

    // Malformed: 200 (so AmoCRM stops retrying), stored as rejected with the reason.
    assert_eq!(deliver(&app, "/api/amocrm/sales-webhook", Some(SECRET), "leads[status][0][id]=abc".into()).await, 200);
    let (status, reason): (String, Option<String>) =
        sqlx::query_as("SELECT status, reason FROM crm_event").fetch_one(app.db.pool()).await.unwrap();
    assert_eq!(status, "rejected");
    assert!(reason.unwrap().contains("abc"));

    // `add` and `update` deliveries in the documented shape: stored, nothing to act on.
    let add = "leads%5Badd%5D%5B0%5D%5Bid%5D=1190401&leads%5Badd%5D%5B0%5D%5Bstatus_id%5D=53861254\
               &leads%5Badd%5D%5B0%5D%5Bpipeline_id%5D=6254262&account%5Bid%5D=30739638";
    let update = "leads[update][0][id]=25399013&leads[update][0][status_id]=53861254&leads[update][0][price]=22500\
                  &leads[update][0][tags][0][name]=повторное&leads[update][0][custom_fields][1][id]=72333\
                  &leads[update][0][custom_fields][1][values][0]=1542067200&account[id]=30739638";
    assert_eq!(deliver(&app, "/api/amocrm/sales-webhook", Some(SECRET), add.into()).await, 200);
    assert_eq!(deliver(&app, "/api/amocrm/sales-webhook", Some(SECRET), update.into()).await, 200);
    // A won flagship deal, then a deal of another pipeline: a flagship and an "other" sale.
    assert_eq!(deliver(&app, "/webhook/amocrm/traffic", Some(SECRET), won).await, 200);
    let other = status_change(777_003, 9_965_766, 142, 1, &[]).replace("price%5D=0", "price%5D=120000");
    assert_eq!(deliver(&app, "/api/amocrm/sales-webhook", Some(SECRET), other).await, 200);
    run_all_jobs(&app).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM crm_event WHERE status = 'ignored'").await, 2);
    let sales: Vec<(String, i64)> =
        sqlx::query_as("SELECT product, amount FROM sale ORDER BY crm_deal_id").fetch_all(app.db.pool()).await.unwrap();
    assert_eq!(sales, [("flagship".to_owned(), 490_000), ("other".to_owned(), 120_000)]);
    assert_eq!(telegram.sent().len(), 2);
});

with_each_engine!(telegram_throttling_waits_and_a_lost_deal_is_cancelled, |engine| {
    let telegram = FakeTelegram::start().await;
    let Some(app) = spawn(engine, &telegram).await else { return };
    telegram.throttle_next(1);
    let won = status_change(777_004, 10_350_882, 142, 81_854_574, &[(434_731, "fb_arystan")]);
    assert_eq!(deliver(&app, "/api/amocrm/funnel-sale", Some(SECRET), won).await, 200);
    run_all_jobs(&app).await;
    assert!(telegram.sent().is_empty(), "throttled");
    let run_at: i64 = sqlx::query_scalar("SELECT run_at FROM job WHERE kind = 'notify_sale' AND status = 'queued'")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert!(run_at >= app::time::now_ms() + 500, "waits for Telegram's retry_after");
    app.run_jobs_after(Duration::from_secs(2)).await;
    assert_eq!(telegram.sent().len(), 1);

    // The deal leaves the won stage: the sale stays, marked cancelled, out of the counts.
    let lost = status_change(777_004, 10_350_882, 143, 142, &[]);
    assert_eq!(deliver(&app, "/api/amocrm/funnel-sale", Some(SECRET), lost).await, 200);
    run_all_jobs(&app).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM sale WHERE cancelled_at IS NOT NULL").await, 1);
    assert_eq!(telegram.sent().len(), 1, "no message for a cancellation");
});

with_each_engine!(without_a_secret_the_webhook_routes_do_not_exist, |engine| {
    let Some(app) = TestApp::spawn(engine).await else { return };
    let body = status_change(1, 10_350_882, 142, 1, &[]);
    assert_eq!(deliver(&app, "/api/amocrm/funnel-sale", Some("anything"), body).await, 404);
    assert_eq!(app.count("SELECT COUNT(*) FROM crm_event").await, 0);
});

with_each_engine!(sales_stats_count_a_sale_at_00_30_almaty_on_its_almaty_day, |engine| {
    let telegram = FakeTelegram::start().await;
    let Some(app) = spawn(engine, &telegram).await else { return };
    let admin = app.token_for("stats.admin", app::models::Role::Admin, None).await;
    let buyer = app.token_for("arystan.buyer", app::models::Role::Targetologist, Some("Arystan")).await;
    // 00:30 on 10 March in Almaty is 19:30 UTC on the 9th.
    let half_past_midnight = chrono::DateTime::parse_from_rfc3339("2026-03-09T19:30:00Z").unwrap().timestamp();
    let won = status_change(777_005, 10_350_882, 142, 1, &[(434_731, "fb_kenesary")])
        .replace("1773147600", &half_past_midnight.to_string());
    assert_eq!(deliver(&app, "/api/amocrm/funnel-sale", Some(SECRET), won).await, 200);
    run_all_jobs(&app).await;

    let stats = |start: &'static str, end: &'static str| {
        let (app, admin) = (&app, admin.clone());
        async move { app.get_json(&format!("/api/amocrm/sales-stats?start={start}&end={end}"), Some(&admin)).await }
    };
    let tenth = stats("2026-03-10", "2026-03-10").await;
    assert_eq!((tenth["totalSales"].as_i64(), tenth["totalRevenue"].as_i64()), (Some(1), Some(5_000)), "{tenth}");
    assert_eq!(tenth["stats"][0]["targetologist"], "Kenesary");
    assert_eq!(stats("2026-03-09", "2026-03-09").await["totalSales"], 0, "not on the UTC day");
    assert_eq!(stats("2026-03-01", "2026-03-10").await["totalSales"], 1, "the end date is inclusive");

    let history = app
        .get_json("/api/amocrm/sales-history?targetologist=Kenesary&start=2026-03-10&end=2026-03-10", Some(&admin))
        .await;
    assert_eq!(history["sales"].as_array().unwrap().len(), 1, "{history}");
    assert_eq!(history["sales"][0]["crm_deal_id"], 777_005);
    let status = |path: &'static str, token: String| {
        let app = &app;
        async move { app.client.get(app.url(path)).bearer_auth(token).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(status("/api/amocrm/sales-history?targetologist=Kenesary", buyer.clone()).await, 403);
    assert_eq!(status("/api/amocrm/sales-history?targetologist=Arystan", buyer.clone()).await, 200);
    assert_eq!(status("/api/amocrm/sales-stats", buyer.clone()).await, 403);

    let test = serde_json::json!({"targetologist": "Kenesary", "contact_name": "Тест <Клиент>", "sale_amount": 5000,
        "product_name": "Express Course"});
    let refused = app.client.post(app.url("/api/amocrm/test-sale-notification")).bearer_auth(&buyer).json(&test);
    assert_eq!(refused.send().await.unwrap().status(), 403);
    let sent = app.client.post(app.url("/api/amocrm/test-sale-notification")).bearer_auth(&admin).json(&test);
    assert_eq!(sent.send().await.unwrap().status(), 200);
    let messages = telegram.sent();
    assert_eq!(messages.len(), 2, "the sale and the test");
    assert!(messages[1].1.starts_with("🧪 Тестовое сообщение") && messages[1].1.contains("Тест &lt;Клиент&gt;"));
});

with_each_engine!(a_won_deal_without_utm_in_the_delivery_is_attributed_by_the_deals_fields, |engine| {
    let telegram = FakeTelegram::start().await;
    let crm = crate::fakes::amocrm::FakeAmoCrm::start().await;
    crm.seed(777_006, 142, 1_773_147_600, "+77010000006", "deal6@example.com");
    crm.set_fields(777_006, serde_json::json!([{"field_id": 434_731, "values": [{"value": "fb_muha"}]}]));
    let Some(app) = spawn_with_crm(engine, &telegram, &crm).await else { return };
    let won = status_change(777_006, 10_350_882, 142, 1, &[]);
    assert_eq!(deliver(&app, "/api/amocrm/funnel-sale", Some(SECRET), won).await, 200);
    run_all_jobs(&app).await;
    let team: Option<String> =
        sqlx::query_scalar("SELECT team.name FROM sale LEFT JOIN team USING (team_id) WHERE crm_deal_id = 777006")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(team.as_deref(), Some("Muha"), "the UTM tags were read from the deal in AmoCRM");
});

/// Unix seconds of an Almaty wall-clock time.
fn almaty(rfc3339_local: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(&format!("{rfc3339_local}+05:00")).unwrap().timestamp()
}

with_each_engine!(a_left_won_delivered_before_the_earlier_won_records_no_sale, |engine| {
    let telegram = FakeTelegram::start().await;
    let Some(app) = spawn(engine, &telegram).await else { return };
    let won_at = almaty("2026-03-10T10:00:00");
    let won = status_change(777_101, 10_350_882, 142, 81_854_618, &[(434_731, "fb_kenesary")])
        .replace("1773147600", &won_at.to_string());
    let left =
        status_change(777_101, 10_350_882, 81_854_618, 142, &[]).replace("1773147600", &(won_at + 3_600).to_string());

    // AmoCRM's retry ladder delivers the earlier change last.
    assert_eq!(deliver(&app, "/api/amocrm/sales-webhook", Some(SECRET), left).await, 200);
    run_all_jobs(&app).await;
    assert_eq!(deliver(&app, "/api/amocrm/sales-webhook", Some(SECRET), won).await, 200);
    run_all_jobs(&app).await;

    assert_eq!(app.count("SELECT COUNT(*) FROM sale").await, 0, "the deal is no longer won");
    assert!(telegram.sent().is_empty());
    let reasons: Vec<Option<String>> =
        sqlx::query_scalar("SELECT reason FROM crm_event ORDER BY event_id").fetch_all(app.db.pool()).await.unwrap();
    assert!(reasons[1].as_deref().is_some_and(|reason| reason.contains("старее")), "{reasons:?}");

    // Both processed at once, in whichever order: the deal ends lost, with no sale that counts.
    let won = status_change(777_102, 10_350_882, 142, 81_854_618, &[]).replace("1773147600", &won_at.to_string());
    let left = status_change(777_102, 10_350_882, 143, 142, &[]).replace("1773147600", &(won_at + 60).to_string());
    assert_eq!(deliver(&app, "/api/amocrm/sales-webhook", Some(SECRET), won).await, 200);
    assert_eq!(deliver(&app, "/api/amocrm/sales-webhook", Some(SECRET), left).await, 200);
    run_all_jobs(&app).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM sale WHERE crm_deal_id = 777102 AND cancelled_at IS NULL").await, 0);
});

/// A `leads[update]` delivery of a deal that is won, sent `at` (unix seconds) when a manager
/// edits it later.
fn won_deal_updated(deal_id: i64, at: i64) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("leads[update][0][id]", deal_id.to_string()),
            ("leads[update][0][name]", "Сделка".to_owned()),
            ("leads[update][0][status_id]", "142".to_owned()),
            ("leads[update][0][pipeline_id]", "10350882".to_owned()),
            ("leads[update][0][updated_at]", at.to_string()),
            ("account[id]", "30739638".to_owned()),
        ])
        .finish()
}

with_each_engine!(a_won_deal_learnt_late_is_a_sale_on_the_day_it_was_won, |engine| {
    let telegram = FakeTelegram::start().await;
    let crm = crate::fakes::amocrm::FakeAmoCrm::start().await;
    let won_at = almaty("2026-03-10T23:30:00");
    crm.seed(777_201, 142, won_at, "+77010000201", "late201@example.com");
    crm.set_fields(777_201, serde_json::json!([{"field_id": 434_731, "values": [{"value": "fb_muha"}]}]));
    let recent = app::time::now_ms() / 1_000 - 3_600;
    crm.seed(777_202, 81_854_618, recent, "+77010000202", "late202@example.com");
    crm.set_status(777_202, 142, recent);
    let Some(app) = spawn_with_crm(engine, &telegram, &crm).await else { return };
    let admin = app.token_for("late.admin", app::models::Role::Admin, None).await;

    // The status webhook never came; three days later a manager edits the deal.
    let edited = won_deal_updated(777_201, won_at + 3 * 86_400);
    assert_eq!(deliver(&app, "/api/amocrm/sales-webhook", Some(SECRET), edited).await, 200);
    run_all_jobs(&app).await;
    let on_the_day = app.get_json("/api/amocrm/sales-history?start=2026-03-10&end=2026-03-10", Some(&admin)).await;
    assert_eq!(on_the_day["sales"].as_array().map(Vec::len), Some(1), "{on_the_day}");
    assert_eq!(on_the_day["sales"][0]["team"], "Muha", "{on_the_day}");

    // Another deal won an hour ago without a webhook: the sync records it.
    let sync = app.client.post(app.url("/api/lead-tracking/sync")).bearer_auth(&admin).send().await.unwrap();
    let counts: serde_json::Value = sync.json().await.unwrap();
    assert_eq!(counts["salesRecorded"], 1, "{counts}");
    let sold_at: i64 = sqlx::query_scalar("SELECT sold_at FROM sale WHERE crm_deal_id = 777202")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(sold_at, recent * 1_000, "recorded at the time it was won");
    let again = app.client.post(app.url("/api/lead-tracking/sync")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(again.json::<serde_json::Value>().await.unwrap()["salesRecorded"], 0);
    run_all_jobs(&app).await;
    assert_eq!(telegram.sent().len(), 2, "each sale announced once");
});

with_each_engine!(telegram_that_records_a_message_then_times_out_leaves_one_message_and_an_uncertain_sale, |engine| {
    let telegram = FakeTelegram::start().await;
    let url = telegram.url();
    let Some(app) = TestApp::spawn_with(engine, |config| {
        config.crm.webhook_secret = Some(SecretString::from(SECRET));
        config.telegram.api_url = url;
        config.telegram.bot_token = Some(SecretString::from(BOT_TOKEN));
        config.telegram.default_chat_id = Some(CHAT.to_owned());
        config.telegram.timeout = Duration::from_millis(500);
    })
    .await
    else {
        return;
    };
    let admin = app.token_for("tg.admin", app::models::Role::Admin, None).await;
    telegram.hang_next(1);
    let won = status_change(777_301, 10_350_882, 142, 1, &[(434_731, "fb_kenesary")]);
    assert_eq!(deliver(&app, "/api/amocrm/funnel-sale", Some(SECRET), won).await, 200);
    run_all_jobs(&app).await;
    app.run_jobs_after(Duration::from_secs(3_600)).await;

    assert_eq!(telegram.sent().len(), 1, "the message is in the chat once, never repeated by itself");
    let state: String = sqlx::query_scalar("SELECT notify_state FROM sale").fetch_one(app.db.pool()).await.unwrap();
    assert_eq!(state, "uncertain");
    let listed = app.get_json("/api/jobs/uncertain-notices", Some(&admin)).await;
    assert_eq!(listed["total"], 1, "{listed}");
    let history = app.get_json("/api/amocrm/sales-history?start=2026-01-01&end=2026-12-31", Some(&admin)).await;
    assert_eq!(history["sales"][0]["telegram"], "uncertain", "{history}");

    // The admin finds nothing in the chat and sends it again: a second message, by choice.
    let sale_id = listed["notices"][0]["sale_id"].as_i64().unwrap();
    let settle = app.client.post(app.url("/api/jobs/settle-notice")).bearer_auth(&admin);
    let settled = settle.form(&[("sale_id", sale_id.to_string()), ("send_again", "true".to_owned())]).send().await;
    assert_eq!(settled.unwrap().status(), 200);
    run_all_jobs(&app).await;
    assert_eq!(telegram.sent().len(), 2);
    let state: String = sqlx::query_scalar("SELECT notify_state FROM sale").fetch_one(app.db.pool()).await.unwrap();
    assert_eq!(state, "sent");
});

with_each_engine!(a_bot_removed_from_its_chat_pauses_telegram_until_it_is_back, |engine| {
    let telegram = FakeTelegram::start().await;
    let Some(app) = spawn(engine, &telegram).await else { return };
    telegram.set_kicked(CHAT, true);
    for deal in 0..3 {
        let won = status_change(777_400 + deal, 10_350_882, 142, 1, &[]);
        assert_eq!(deliver(&app, "/api/amocrm/funnel-sale", Some(SECRET), won).await, 200);
    }
    run_all_jobs(&app).await;
    assert!(telegram.sent().is_empty());
    let reason: String =
        sqlx::query_scalar("SELECT pause_reason FROM integration_status WHERE integration = 'telegram'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert!(reason.contains(CHAT) && reason.contains("403"), "{reason}");
    let waiting = "SELECT COUNT(*) FROM job WHERE kind = 'notify_sale' AND status = 'queued' AND attempts = 0";
    assert_eq!(app.count(waiting).await, 3);

    // The probe checks that very chat: still kicked a minute later, back after that.
    app.run_jobs_after(Duration::from_secs(61)).await;
    assert!(telegram.sent().is_empty());
    telegram.set_kicked(CHAT, false);
    app.run_jobs_after(Duration::from_secs(61 + 121)).await;
    assert_eq!(telegram.sent().len(), 3, "each sale announced once");
    assert_eq!(app.count("SELECT COUNT(*) FROM sale WHERE notify_state = 'sent'").await, 3);
});

with_each_engine!(without_a_bot_token_announcements_wait_and_go_out_once_it_is_set, |engine| {
    let telegram = FakeTelegram::start().await;
    let url = telegram.url();
    let Some(app) = TestApp::spawn_with(engine, |config| {
        config.crm.webhook_secret = Some(SecretString::from(SECRET));
        config.telegram.api_url = url.clone();
        config.telegram.bot_token = None;
        config.telegram.default_chat_id = Some(CHAT.to_owned());
    })
    .await
    else {
        return;
    };
    let body = status_change(777_050, 10_350_882, 142, 81_854_574, &[(434_731, "fb_kenesary")]);
    assert_eq!(deliver(&app, "/api/amocrm/funnel-sale", Some(SECRET), body).await, 200);
    run_all_jobs(&app).await;
    // A day later, still without a bot: the announcement waits and spends no attempt.
    app.run_jobs_after(Duration::from_secs(86_400)).await;
    let waiting: (String, String, i64) = sqlx::query_as(
        "SELECT sale.notify_state, job.status, job.attempts FROM sale \
         JOIN job ON job.idempotency_key = 'sale-notify-' || CAST(sale.sale_id AS TEXT)",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(waiting, ("pending".to_owned(), "queued".to_owned(), 0));
    let reason: Option<String> =
        sqlx::query_scalar("SELECT pause_reason FROM integration_status WHERE integration = 'telegram'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert!(reason.unwrap_or_default().contains("TELEGRAM_BOT_TOKEN"));
    assert!(telegram.sent().is_empty());

    // The process restarts with a token: the integration resumes and the sale is announced once.
    let app = app
        .restart(|config| {
            config.crm.webhook_secret = Some(SecretString::from(SECRET));
            config.telegram.api_url = url;
            config.telegram.bot_token = Some(SecretString::from(BOT_TOKEN));
            config.telegram.default_chat_id = Some(CHAT.to_owned());
        })
        .await;
    run_all_jobs(&app).await;
    app.run_jobs_after(Duration::from_secs(3600)).await;
    assert_eq!(telegram.sent().len(), 1, "{:?}", telegram.sent());
    assert_eq!(app.count("SELECT COUNT(*) FROM sale WHERE notify_state = 'sent'").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM integration_status WHERE paused_at IS NOT NULL").await, 0);
});
