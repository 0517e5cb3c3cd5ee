//! `POST /api/landing/proftest` and `/submit`: validation, normalisation, atomic storage.

use serde_json::{json, Value};

use app::db::job::jobs_of_lead;
use app::domain::team_input::TeamFields;
use app::error::AppError;
use app::models::TeamInput;
use app::services::teams::{reattribution_percent, save_team};

use crate::helpers::{on_both_engines, NOTIFY_DELAY};

fn quiz_body(phone: &str) -> Value {
    json!({
        "name": "Тестовый Лид",
        "email": "  Test.Lead@Example.COM ",
        "phone": phone,
        "answers": {"q1": "маркетинг", "q2": 3},
        "slug": "spring",
        "utm_source": "fb_kenesary",
        "utm_medium": "cpc",
        "utm_campaign": "tripwire_nov",
        "utm_content": "video1",
        "utm_term": "курсы",
        "fbclid": "fb.1.123",
        "referrer": "https://landing.example.com/quiz"
    })
}

#[derive(sqlx::FromRow)]
struct StoredLead {
    kind: String,
    source: String,
    campaign_slug: Option<String>,
    name: String,
    email: String,
    email_raw: String,
    phone_e164: String,
    phone_raw: String,
    answers: Option<String>,
    utm_source: Option<String>,
    utm_term: Option<String>,
    fbclid: Option<String>,
    payment_method: Option<String>,
    email_status: String,
    sms_status: String,
    created_at: i64,
}

async fn stored_lead(app: &crate::helpers::TestApp, lead_id: i64) -> StoredLead {
    sqlx::query_as(
        "SELECT kind, source, campaign_slug, name, email, email_raw, phone_e164, phone_raw, answers, utm_source, \
         utm_term, fbclid, payment_method, email_status, sms_status, created_at FROM lead WHERE lead_id = $1",
    )
    .bind(lead_id)
    .fetch_one(app.db.pool())
    .await
    .expect("the accepted lead is stored")
}

on_both_engines!(a_quiz_lead_is_stored_with_its_three_jobs, |app| {
    let response = app.post_json("/api/landing/proftest", &quiz_body("+7 (705) 123-45-67")).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["success"], true);
    let lead_id = body["leadId"].as_i64().expect("leadId is a number");

    let lead = stored_lead(&app, lead_id).await;
    assert_eq!(lead.kind, "proftest");
    assert_eq!(lead.source, "proftest_spring");
    assert_eq!(lead.campaign_slug.as_deref(), Some("spring"));
    assert_eq!(lead.name, "Тестовый Лид");
    assert_eq!(lead.email, "test.lead@example.com");
    assert_eq!(lead.email_raw, "Test.Lead@Example.COM");
    assert_eq!(lead.phone_e164, "+77051234567");
    assert_eq!(lead.phone_raw, "+7 (705) 123-45-67");
    assert_eq!(
        serde_json::from_str::<Value>(lead.answers.as_deref().unwrap()).unwrap(),
        json!({"q1": "маркетинг", "q2": 3})
    );
    assert_eq!(lead.utm_source.as_deref(), Some("fb_kenesary"));
    assert_eq!(lead.utm_term.as_deref(), Some("курсы"));
    assert_eq!(lead.fbclid.as_deref(), Some("fb.1.123"));
    assert_eq!((lead.email_status.as_str(), lead.sms_status.as_str()), ("pending", "pending"));

    let mut conn = app.db.pool().acquire().await.unwrap();
    let jobs = jobs_of_lead(&mut conn, lead_id).await.unwrap();
    let kinds: Vec<&str> = jobs.iter().map(|job| job.kind.as_str()).collect();
    assert_eq!(kinds, ["send_lead_email", "send_lead_sms", "push_lead_to_crm"]);
    let delay_ms = NOTIFY_DELAY.as_millis() as i64;
    assert_eq!(jobs[0].run_at, lead.created_at + delay_ms);
    assert_eq!(jobs[1].run_at, lead.created_at + delay_ms);
    assert_eq!(jobs[2].run_at, lead.created_at);
    assert!(jobs.iter().all(|job| job.status == "queued" && job.attempts == 0));
    assert!(jobs.iter().all(|job| job.payload == format!(r#"{{"lead_id":{lead_id}}}"#)));
});

on_both_engines!(every_kazakh_phone_spelling_is_stored_as_e164, |app| {
    for phone in ["+7 (705) 123-45-67", "87051234567", "8 705 123 45 67", "7051234567", "+77051234567"] {
        let response = app.post_json("/api/landing/proftest", &quiz_body(phone)).await;
        assert_eq!(response.status(), 200, "{phone}");
        let lead_id = response.json::<Value>().await.unwrap()["leadId"].as_i64().unwrap();
        let lead = stored_lead(&app, lead_id).await;
        assert_eq!(lead.phone_e164, "+77051234567", "{phone}");
        assert_eq!(lead.phone_raw, phone);
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM lead").await, 5);
});

on_both_engines!(a_lead_is_attributed_to_a_team_at_intake_with_the_rule_that_matched, |app| {
    let cases = [
        (json!({ "utm_source": "fb_kenesary" }), Some("Kenesary"), "medium", "utm_source «fb_kenesary» = fb_<команда>"),
        (
            json!({ "utm_source": "facebook", "utm_campaign": "Запуск ноябрь" }),
            Some("Muha"),
            "medium",
            "«запуск» в utm_campaign",
        ),
        (json!({ "utm_source": "google" }), None, "low", "нет совпадений"),
        (json!({}), None, "low", "нет совпадений"),
    ];
    for (tags, team, confidence, rule) in cases {
        let lead_id = app.post_lead_with(tags.clone()).await;
        let (stored_team, stored_confidence, stored_rule): (Option<String>, String, String) = sqlx::query_as(
            "SELECT team.name, lead.attribution_confidence, lead.attribution_rule \
             FROM lead LEFT JOIN team ON team.team_id = lead.team_id WHERE lead.lead_id = $1",
        )
        .bind(lead_id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
        assert_eq!(stored_team.as_deref(), team, "{tags}");
        assert_eq!((stored_confidence.as_str(), stored_rule.as_str()), (confidence, rule), "{tags}");
    }
});

on_both_engines!(a_checkout_lead_keeps_its_payment_method, |app| {
    let body = json!({"name": "Покупатель", "email": "buyer@example.com", "phone": "+998 90 123 45 67", "payment_method": "Kaspi"});
    let response = app.post_json("/api/landing/submit", &body).await;
    assert_eq!(response.status(), 200);
    let lead_id = response.json::<Value>().await.unwrap()["leadId"].as_i64().unwrap();
    let lead = stored_lead(&app, lead_id).await;
    assert_eq!((lead.kind.as_str(), lead.source.as_str()), ("express", "express"));
    assert_eq!(lead.payment_method.as_deref(), Some("kaspi"));
    assert_eq!(lead.phone_e164, "+998901234567");
});

on_both_engines!(bad_input_gets_a_4xx_naming_the_field_and_stores_nothing, |app| {
    let mut missing_name = quiz_body("87051234567");
    missing_name.as_object_mut().unwrap().remove("name");
    let cases: Vec<(&str, Value, &str)> = vec![
        ("missing name", missing_name, "name"),
        ("malformed email", json!({"name": "Лид", "email": "not-an-email", "phone": "87051234567"}), "email"),
        ("short phone", json!({"name": "Лид", "email": "a@example.com", "phone": "12345"}), "phone"),
        ("impossible phone", json!({"name": "Лид", "email": "a@example.com", "phone": "+7 000"}), "phone"),
        ("wrong type", json!({"name": ["Лид"], "email": "a@example.com", "phone": "87051234567"}), "name"),
    ];
    for (case, body, field) in cases {
        let response = app.post_json("/api/landing/proftest", &body).await;
        assert!(response.status().is_client_error(), "{case}: {}", response.status());
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["success"], false, "{case}");
        assert_eq!(error["field"], field, "{case}");
        assert!(!error["message"].as_str().unwrap_or_default().is_empty(), "{case}");
    }

    let not_json = app
        .client
        .post(app.url("/api/landing/proftest"))
        .header("content-type", "application/json")
        .body("name=Лид&phone=8705")
        .send()
        .await
        .unwrap();
    assert!(not_json.status().is_client_error());
    assert_eq!(not_json.json::<Value>().await.unwrap()["field"], "body");

    let huge = json!({"name": "Лид", "email": "a@example.com", "phone": "87051234567", "answers": {"x": "я".repeat(512 * 1024)}});
    let too_large = app.post_json("/api/landing/proftest", &huge).await;
    assert_eq!(too_large.status(), 413);
    assert!(!too_large.text().await.unwrap().is_empty());

    assert_eq!(app.count("SELECT COUNT(*) FROM lead").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM job").await, 0);
});

on_both_engines!(a_repeated_idempotency_key_returns_the_same_lead, |app| {
    let send = || {
        app.client
            .post(app.url("/api/landing/proftest"))
            .header("idempotency-key", "submit-7f3a")
            .json(&quiz_body("87051234567"))
            .send()
    };
    let first: Value = send().await.unwrap().json().await.unwrap();
    let second: Value = send().await.unwrap().json().await.unwrap();
    assert_eq!(first["leadId"], second["leadId"]);
    assert_eq!(app.count("SELECT COUNT(*) FROM lead").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM job").await, 3);
    // A separate person's submission is a separate lead.
    let other: Value = app.post_json("/api/landing/proftest", &quiz_body("87051234567")).await.json().await.unwrap();
    assert_ne!(other["leadId"], first["leadId"]);
});

on_both_engines!(the_lead_is_not_kept_when_its_jobs_cannot_be_stored, |app| {
    sqlx::query("DROP TABLE job").execute(app.db.pool()).await.unwrap();
    let response = app.post_json("/api/landing/proftest", &quiz_body("87051234567")).await;
    // The database refused it: the submission waits in the spool rather than being lost.
    assert_eq!(response.status(), 202);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["queued"], true);
    assert!(!body.to_string().to_lowercase().contains("job"), "internals leaked: {body}");
    assert_eq!(app.count("SELECT COUNT(*) FROM lead").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM lead_stat_daily").await, 0);
});

on_both_engines!(cors_allows_only_configured_landing_origins, |app| {
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/api/landing/proftest"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let allowed = preflight("https://landing.example.com").await.unwrap();
    assert_eq!(allowed.headers()["access-control-allow-origin"], "https://landing.example.com");
    let refused = preflight("https://evil.example.net").await.unwrap();
    assert!(refused.headers().get("access-control-allow-origin").is_none());
});

on_both_engines!(concurrent_submissions_are_each_stored_once_with_their_jobs, |app| {
    // 200 submissions at once land in shared batches; every tenth repeats a key.
    let requests = (0..200).map(|n| {
        let mut request = app.client.post(app.url("/api/landing/proftest")).json(&quiz_body(&format!("+7701{n:07}")));
        if n % 10 == 0 {
            request = request.header("idempotency-key", format!("retry-{}", n / 20));
        }
        request.send()
    });
    let responses = futures_util::future::join_all(requests).await;
    let mut ids = Vec::new();
    let mut by_key = std::collections::HashMap::new();
    for (n, response) in responses.into_iter().enumerate() {
        let response = response.unwrap();
        assert_eq!(response.status(), 200);
        let id = response.json::<Value>().await.unwrap()["leadId"].as_i64().unwrap();
        if n % 10 == 0 {
            let first = *by_key.entry(n / 20).or_insert(id);
            assert_eq!(first, id, "one key, one lead");
        } else {
            ids.push(id);
        }
    }
    let distinct: std::collections::HashSet<i64> = ids.iter().chain(by_key.values()).copied().collect();
    assert_eq!(distinct.len(), 180 + 10);
    assert_eq!(app.count("SELECT COUNT(*) FROM lead").await, 190);
    assert_eq!(app.count("SELECT COUNT(*) FROM job").await, 3 * 190);
    assert_eq!(app.count("SELECT COUNT(DISTINCT lead_id) FROM job").await, 190);
    assert_eq!(app.count("SELECT CAST(SUM(total) AS BIGINT) FROM lead_stat_daily").await, 190);
});

on_both_engines!(a_shutdown_finishes_the_submissions_in_flight, |app| {
    let mut app = app;
    let client = app.client.clone();
    let url = app.url("/api/landing/proftest");
    let submissions: Vec<_> = (0..100)
        .map(|n| tokio::spawn(client.post(url.clone()).json(&quiz_body(&format!("+7702{n:07}"))).send()))
        .collect();
    tokio::task::yield_now().await;
    app.shut_down().await;
    let mut answered = 0;
    for submission in submissions {
        if let Ok(response) = submission.await.unwrap() {
            assert_eq!(response.status(), 200, "a request that got in is answered, and only after its commit");
            answered += 1;
        }
    }
    // Whatever was answered is stored with its jobs; nothing is stored unanswered or twice.
    assert_eq!(app.count("SELECT COUNT(*) FROM lead").await, answered);
    assert_eq!(app.count("SELECT COUNT(*) FROM job").await, 3 * answered);
});

on_both_engines!(changing_a_teams_patterns_attributes_existing_leads_again, |app| {
    let black_friday = [
        app.post_lead_with(json!({ "utm_campaign": "Black_Friday_2026" })).await,
        app.post_lead_with(json!({ "utm_medium": "black_friday" })).await,
    ];
    let kenesary = app.post_lead_with(json!({ "utm_source": "fb_kenesary" })).await;
    let team_of = |lead_id: i64| {
        let pool = app.db.pool().clone();
        async move {
            sqlx::query_as::<_, (Option<String>, String)>(
                "SELECT team.name, lead.attribution_rule FROM lead LEFT JOIN team ON team.team_id = lead.team_id \
                 WHERE lead.lead_id = $1",
            )
            .bind(lead_id)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    assert_eq!(team_of(black_friday[0]).await, (None, "нет совпадений".to_owned()));

    let mut conn = app.db.pool().acquire().await.unwrap();
    let teams = app::db::team::list_teams(&mut conn).await.unwrap();
    drop(conn);
    let muha = teams.iter().find(|team| team.name == "Muha").unwrap();
    let patterns = format!("{}, black_friday", muha.patterns.join(", "));
    let form = TeamInput {
        name: muha.name.clone(),
        emoji: muha.emoji.clone(),
        color: muha.color.clone(),
        patterns,
        ..TeamInput::default()
    };
    let fields = TeamFields::parse(&form).unwrap();
    save_team(&app.services, Some(muha.team_id), &fields).await.unwrap();
    let mut conn = app.db.pool().acquire().await.unwrap();
    assert_eq!(reattribution_percent(&mut conn).await.unwrap(), Some(0), "queued, not started");
    drop(conn);
    app.run_jobs_after(std::time::Duration::ZERO).await;

    assert_eq!(team_of(black_friday[0]).await, (Some("Muha".to_owned()), "«black_friday» в utm_campaign".to_owned()));
    assert_eq!(team_of(black_friday[1]).await, (Some("Muha".to_owned()), "«black_friday» в utm_medium".to_owned()));
    assert_eq!(team_of(kenesary).await.0.as_deref(), Some("Kenesary"));
    assert_eq!(app.count("SELECT COUNT(*) FROM job WHERE kind = 'reattribute_leads' AND status = 'done'").await, 1);
    // Saving the same rules again changes nothing and queues nothing.
    save_team(&app.services, Some(muha.team_id), &fields).await.unwrap();
    assert_eq!(app.count("SELECT COUNT(*) FROM job WHERE kind = 'reattribute_leads'").await, 1);
    // A second team with the same name is refused.
    let clash = TeamFields::parse(&TeamInput { name: "muha".to_owned(), ..TeamInput::default() }).unwrap();
    assert!(matches!(save_team(&app.services, None, &clash).await, Err(AppError::Conflict(_))));
});
