//! The alert watcher, driven by the clock: a source that goes quiet during working hours
//! raises one alert in the admins' Telegram chat, and one «решено» when leads come again.

use std::time::Duration;

use secrecy::SecretString;

use app::db::lead::{insert_seed_leads, rebuild_lead_stats, LeadSeed};
use app::domain::alerts::almaty_time_on_day_of;
use app::models::Role;
use app::services::alerts::{check_alerts, AlertCheck};
use app::time::now_ms;

use crate::fakes::telegram::{FakeTelegram, BOT_TOKEN};
use crate::helpers::{quiz_lead_seed, with_each_engine, TestApp};

const ALERT_CHAT: &str = "-1009876543210";
const MINUTE: i64 = 60_000;

fn quiz_lead(n: i64, at: i64) -> LeadSeed {
    quiz_lead_seed(format!("Тихий Лид {n}"), format!("quiet{n}@example.com"), format!("+7702{n:07}"), at)
}

async fn seed(app: &TestApp, leads: &[LeadSeed]) {
    let mut tx = app.db.begin_write().await.unwrap();
    insert_seed_leads(&mut tx, leads).await.unwrap();
    rebuild_lead_stats(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
}

with_each_engine!(a_source_that_goes_quiet_raises_one_alert_and_one_resolved, |engine| {
    let telegram = FakeTelegram::start().await;
    let url = telegram.url();
    let Some(app) = TestApp::spawn_with(engine, |config| {
        config.telegram.api_url = url;
        config.telegram.bot_token = Some(SecretString::from(BOT_TOKEN));
        config.alerts.chat_id = Some(ALERT_CHAT.to_owned());
    })
    .await
    else {
        return;
    };
    let admin = app.token_for("alert.admin", Role::Admin, None).await;
    // Two weeks of a quiz lead every 5 working minutes, the last at 11:00 today (Almaty).
    let noon = almaty_time_on_day_of(now_ms(), 12, 0);
    let mut history = Vec::new();
    for day in (0..14).rev() {
        let opening = almaty_time_on_day_of(noon - day * 24 * 60 * MINUTE, 9, 0);
        for slot in 0..144 {
            let at = opening + slot * 5 * MINUTE;
            if at <= noon - 60 * MINUTE {
                history.push(quiz_lead(history.len() as i64, at));
            }
        }
    }
    seed(&app, &history).await;

    // The usual gap is 5 minutes, so 30 working minutes of silence is the limit.
    assert_eq!(check_alerts(&app.services, noon - 35 * MINUTE).await.unwrap(), AlertCheck::default());
    assert_eq!(check_alerts(&app.services, noon).await.unwrap(), AlertCheck { raised: 1, cleared: 0 });
    assert_eq!(check_alerts(&app.services, noon + MINUTE).await.unwrap(), AlertCheck::default(), "once per incident");
    app.run_jobs_after(Duration::from_secs(86_400)).await;
    let sent = telegram.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].0, ALERT_CHAT);
    assert!(sent[0].1.contains("Нет лидов из «proftest»") && sent[0].1.contains("60 мин"), "{}", sent[0].1);

    // A lead arrives: the incident is over.
    seed(&app, &[quiz_lead(100_000, noon + 2 * MINUTE)]).await;
    assert_eq!(check_alerts(&app.services, noon + 3 * MINUTE).await.unwrap(), AlertCheck { raised: 0, cleared: 1 });
    assert_eq!(check_alerts(&app.services, noon + 4 * MINUTE).await.unwrap(), AlertCheck::default());
    app.run_jobs_after(Duration::from_secs(86_400)).await;
    let sent = telegram.sent();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(sent[1].1.contains("Решено") && sent[1].1.contains("Нет лидов из «proftest»"), "{}", sent[1].1);
    assert!(sent[1].1.contains("длилось 3 мин"), "{}", sent[1].1);
    let notices: (String, String) =
        sqlx::query_as("SELECT raise_notice, clear_notice FROM alert").fetch_one(app.db.pool()).await.unwrap();
    assert_eq!(notices, ("sent".to_owned(), "sent".to_owned()));

    // The page's list has it, resolved.
    let page = app.client.get(app.url("/api/jobs/alerts")).bearer_auth(&admin).send().await.unwrap();
    let alerts: serde_json::Value = page.json().await.unwrap();
    assert_eq!(alerts[0]["title"], "Нет лидов из «proftest»", "{alerts}");
    assert!(alerts[0]["cleared_local"].is_string(), "{alerts}");
});
