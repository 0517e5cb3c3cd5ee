//! `GET /api/live`: committed leads, statuses and sales reach open streams as they happen,
//! a targetologist's stream carries only their own team's, and on PostgreSQL a change taken
//! by one server process reaches a stream served by another.

use std::time::{Duration, Instant};

use secrecy::SecretString;
use serde_json::{json, Value};

use app::auth::{hash_password, new_secret, secret_hash};
use app::db::{credential, user, Engine};
use app::models::Role;
use app::time::now_ms;

use crate::crm_webhooks::{deliver, run_all_jobs, status_change, SECRET};
use crate::fakes::mobizon::FakeMobizon;
use crate::fakes::resend::FakeResend;
use crate::helpers::{with_each_engine, TestApp, TestDatabase, NOTIFY_DELAY};
use crate::processes::{observe, ServerProcess, Wait};

/// An open event stream.
struct LiveStream {
    response: reqwest::Response,
    buffer: String,
}

impl LiveStream {
    /// Opens `/api/live` at `base` with `token`.
    async fn open(base: &str, token: &str) -> Self {
        let response = reqwest::Client::new().get(format!("{base}/api/live")).bearer_auth(token).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        // A proxy passes it on unbuffered.
        assert_eq!(response.headers()["x-accel-buffering"], "no");
        let mut stream = Self { response, buffer: String::new() };
        assert_eq!(stream.next(Duration::from_secs(2)).await.map(|(name, _)| name).as_deref(), Some("hello"));
        stream
    }

    /// The next event (`name`, its data), or `None` when none comes within `limit`.
    async fn next(&mut self, limit: Duration) -> Option<(String, Value)> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let field = |name: &str| {
                    block.lines().find_map(|line| line.strip_prefix(name).map(|value| value.trim().to_owned()))
                };
                // Keep-alive comments carry no event.
                if let Some(name) = field("event:") {
                    let data = field("data:").map_or(Value::Null, |data| serde_json::from_str(&data).unwrap());
                    return Some((name, data));
                }
                continue;
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk()).await.ok()?.unwrap()?;
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    /// Every event until each of `expected` has come, within `limit` in all.
    async fn until_all(&mut self, limit: Duration, expected: &[(String, Value)]) -> Vec<(String, Value)> {
        let started = Instant::now();
        let mut seen: Vec<(String, Value)> = Vec::new();
        while !expected.iter().all(|event| seen.contains(event)) {
            match self.next(limit.saturating_sub(started.elapsed())).await {
                Some(event) => seen.push(event),
                None => panic!("{expected:?} did not all come within {limit:?}; seen {seen:?}"),
            }
        }
        seen
    }

    /// Every event until one matches `last` (which is included), within `limit` in all.
    async fn until(&mut self, limit: Duration, last: impl Fn(&str, &Value) -> bool) -> Vec<(String, Value)> {
        let started = Instant::now();
        let mut seen = Vec::new();
        while let Some((name, data)) = self.next(limit.saturating_sub(started.elapsed())).await {
            let done = last(&name, &data);
            seen.push((name, data));
            if done {
                return seen;
            }
        }
        panic!("the awaited event did not come within {limit:?}; seen {seen:?}");
    }
}

async fn sale_of_deal(app: &TestApp, deal_id: i64) -> i64 {
    sqlx::query_scalar("SELECT sale_id FROM sale WHERE crm_deal_id = $1")
        .bind(deal_id)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
}

with_each_engine!(streams_carry_what_each_viewer_may_see_as_it_is_committed, |engine| {
    let Some(app) = TestApp::spawn_with(engine, |config| {
        config.crm.webhook_secret = Some(SecretString::from(SECRET));
    })
    .await
    else {
        return;
    };
    let admin = app.token_for("live.admin", Role::Admin, None).await;
    let buyer = app.token_for("live.kenesary", Role::Targetologist, Some("Kenesary")).await;
    let base = app.url("");
    let (mut admin_stream, mut buyer_stream) =
        (LiveStream::open(&base, &admin).await, LiveStream::open(&base, &buyer).await);

    let other = app.post_lead_with(json!({"email": "other@example.com", "utm_source": "fb_arystan"})).await;
    let own = app
        .post_lead_with(json!({"email": "own@example.com", "phone": "+77050001111", "utm_source": "fb_kenesary"}))
        .await;
    let won_at = (now_ms() / 1_000).to_string();
    let won = |deal: i64, source: &str| {
        status_change(deal, 10_350_882, 142, 1, &[(434_731, source)]).replace("1773147600", &won_at)
    };
    assert_eq!(deliver(&app, "/api/amocrm/sales-webhook", Some(SECRET), won(990_001, "fb_arystan")).await, 200);
    assert_eq!(deliver(&app, "/api/amocrm/sales-webhook", Some(SECRET), won(990_002, "fb_kenesary")).await, 200);
    run_all_jobs(&app).await;
    let (other_sale, own_sale) = (sale_of_deal(&app, 990_001).await, sale_of_deal(&app, 990_002).await);

    let limit = Duration::from_secs(2);
    let expected = [
        ("lead".to_owned(), json!({"leadId": other})),
        ("lead".to_owned(), json!({"leadId": own})),
        ("sale".to_owned(), json!({"saleId": other_sale})),
        ("sale".to_owned(), json!({"saleId": own_sale})),
    ];
    // Leads in the order they were stored; the two sales as their jobs committed them.
    let seen = admin_stream.until_all(limit, &expected).await;
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert_eq!(&seen[..2], &expected[..2]);
    // The targetologist's stream: their team's lead and sale, and nothing else.
    let mut seen = buyer_stream.until_all(limit, &[expected[1].clone(), expected[3].clone()]).await;
    seen.extend(buyer_stream.next(Duration::from_millis(300)).await);
    assert_eq!(seen, [expected[1].clone(), expected[3].clone()]);

    // The emails go out: the admin hears of the statuses, the targetologist of nothing.
    app.run_jobs_after(NOTIFY_DELAY).await;
    let seen = admin_stream.until(limit, |name, data| name == "status" && data["leadId"] == own).await;
    assert!(seen.iter().all(|(name, _)| name == "status"), "{seen:?}");
    assert_eq!(buyer_stream.next(Duration::from_millis(300)).await, None);

    let anonymous = reqwest::Client::new().get(app.url("/api/live")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
});

/// Two real server processes on one PostgreSQL database: a lead posted to the first
/// reaches a stream served by the second within two seconds.
#[tokio::test]
async fn a_lead_taken_by_one_process_reaches_a_stream_of_another() {
    let Some(database) = TestDatabase::create(Engine::Postgres).await else {
        eprintln!("TEST_DATABASE_URL is not set: skipped");
        return;
    };
    let (resend, mobizon) = (FakeResend::start().await, FakeMobizon::start().await);
    let first = ServerProcess::start_with(&database.url, &resend, &mobizon, &[], Wait::Ready).await;
    let second = ServerProcess::start_with(&database.url, &resend, &mobizon, &[], Wait::Ready).await;
    let db = observe(&database).await;
    let token = new_secret();
    {
        let mut conn = db.pool().acquire().await.unwrap();
        let hash = hash_password("password-123".to_owned()).await.unwrap();
        let user_id = user::insert_user(&mut conn, "live.two", &hash, Role::Admin, None, now_ms()).await.unwrap();
        credential::insert_api_token(&mut conn, user_id, &secret_hash(&token), now_ms()).await.unwrap();
    }
    let mut stream = LiveStream::open(&format!("http://{}", second.address), &token).await;

    let posted = reqwest::Client::new()
        .post(format!("http://{}/api/landing/proftest", first.address))
        .json(&json!({"name": "Лид", "email": "two@example.com", "phone": "+77050002222"}))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 200);
    let lead_id = posted.json::<Value>().await.unwrap()["leadId"].as_i64().unwrap();
    let seen = stream.until(Duration::from_secs(2), |name, data| name == "lead" && data["leadId"] == lead_id).await;
    assert_eq!(seen.last().unwrap().0, "lead");
    first.kill().await;
    second.kill().await;
}
