//! `/metrics` of the real server binary (the recorder is one per process): counters move
//! as leads arrive and jobs finish, the gauges show the queue and the integrations, and
//! nothing is served without the token or outside `METRICS_ADDR`.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::fakes::mobizon::FakeMobizon;
use crate::fakes::resend::FakeResend;
use crate::helpers::{with_each_engine, TestDatabase};
use crate::processes::{free_address, ServerProcess, Wait};

const TOKEN: &str = "metrics-test-token";

/// The value of the sample `name` whose labels include every one of `labels`.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines().filter(|line| !line.starts_with('#')).find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        let (metric, label_text) = series.split_once('{').unwrap_or((series, ""));
        let matches = metric == name
            && labels.iter().all(|(label, wanted)| label_text.contains(&format!("{label}=\"{wanted}\"")));
        matches.then(|| value.parse().ok()).flatten()
    })
}

async fn scrape(client: &reqwest::Client, url: &str, token: Option<&str>) -> (u16, String) {
    let mut request = client.get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("the server answers");
    (response.status().as_u16(), response.text().await.unwrap_or_default())
}

with_each_engine!(metrics_move_as_leads_arrive_and_jobs_finish_and_stay_private, |engine| {
    let Some(database) = TestDatabase::create(engine).await else { return };
    let (resend, mobizon) = (FakeResend::start().await, FakeMobizon::start().await);
    let metrics_addr = free_address();
    // The messages wait 5 s: the queue gauge is read before they fall due.
    let extra = [
        ("METRICS_ADDR", metrics_addr.to_string()),
        ("METRICS_TOKEN", TOKEN.to_owned()),
        ("NOTIFY_DELAY_SECS", "5".to_owned()),
    ];
    let server = ServerProcess::start_with(&database.url, &resend, &mobizon, &extra, Wait::Ready).await;
    let client = reqwest::Client::new();
    let (main_url, private_url) =
        (format!("http://{}/metrics", server.address), format!("http://{metrics_addr}/metrics"));

    // Private: the main address wants the token, the metrics address serves only /metrics.
    assert_eq!(scrape(&client, &main_url, None).await.0, 404);
    assert_eq!(scrape(&client, &main_url, Some("wrong-token")).await.0, 404);
    assert_eq!(scrape(&client, &main_url, Some(TOKEN)).await.0, 200);
    assert_eq!(scrape(&client, &format!("http://{metrics_addr}/api/landing/proftest"), None).await.0, 404);

    let intake = format!("http://{}/api/landing/proftest", server.address);
    for n in 0..3 {
        let body = json!({ "name": format!("Лид {n}"), "email": format!("metrics{n}@example.com"), "phone": format!("+7705000000{n}") });
        assert_eq!(client.post(&intake).json(&body).send().await.unwrap().status(), 200);
    }
    let refused = client.post(&intake).json(&json!({ "name": "Без почты" })).send().await.unwrap();
    assert_eq!(refused.status(), 422);

    let (_, text) = scrape(&client, &private_url, None).await;
    assert_eq!(sample(&text, "leadtrack_leads_accepted_total", &[("outcome", "stored")]), Some(3.0), "{text}");
    assert_eq!(sample(&text, "leadtrack_leads_refused_total", &[("reason", "invalid")]), Some(1.0));
    let posted = [("route", "/api/landing/proftest"), ("status", "200")];
    assert_eq!(sample(&text, "leadtrack_http_requests_total", &posted), Some(3.0));
    assert!(
        sample(&text, "leadtrack_http_request_duration_seconds_count", &[("route", "/api/landing/proftest")])
            >= Some(4.0)
    );
    assert!(sample(&text, "leadtrack_intake_batch_size_sum", &[]) == Some(3.0), "{text}");
    assert_eq!(sample(&text, "leadtrack_jobs_queued", &[("kind", "send_lead_email")]), Some(3.0));
    assert_eq!(sample(&text, "leadtrack_integration_state", &[("integration", "resend"), ("state", "ok")]), Some(1.0));
    assert!(sample(&text, "leadtrack_db_pool_connections", &[("state", "idle")]).is_some());

    // The runner sends and records them once they fall due.
    let deadline = Instant::now() + Duration::from_secs(60);
    let text = loop {
        let (_, text) = scrape(&client, &private_url, None).await;
        let sent = |kind| sample(&text, "leadtrack_jobs_finished_total", &[("kind", kind), ("outcome", "done")]);
        if sent("send_lead_email") == Some(3.0) && sent("send_lead_sms") == Some(3.0) {
            break text;
        }
        assert!(Instant::now() < deadline, "the jobs never finished: {text}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(resend.accepted().len(), 3);
    assert_eq!(sample(&text, "leadtrack_jobs_queued", &[("kind", "send_lead_email")]), Some(0.0));
    server.kill().await;
});

with_each_engine!(without_metrics_settings_there_is_no_metrics_route, |engine| {
    let Some(database) = TestDatabase::create(engine).await else { return };
    let (resend, mobizon) = (FakeResend::start().await, FakeMobizon::start().await);
    let server = ServerProcess::start_with(&database.url, &resend, &mobizon, &[], Wait::Ready).await;
    let client = reqwest::Client::new();
    let url = format!("http://{}/metrics", server.address);
    assert_eq!(scrape(&client, &url, Some(TOKEN)).await.0, 404);
    server.kill().await;
});
