//! The real server binary as separate processes: killed with SIGKILL in the middle of
//! sending, pushing to AmoCRM and announcing sales, and restarted; two processes sharing
//! one PostgreSQL queue; and PostgreSQL cut off under a stream of submissions. In the end
//! every lead is stored once, with exactly one email, one SMS, one contact and one deal at
//! the fake providers, and every sale is announced at most once.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};
use serde_json::json;
use tokio::process::{Child, Command};

use app::config::DatabaseConfig;
use app::db::{Db, Engine};

use crate::fakes::amocrm::{self, FakeAmoCrm};
use crate::fakes::mobizon::{self, FakeMobizon};
use crate::fakes::resend::{self, FakeResend};
use crate::fakes::tcp_proxy::TcpProxy;
use crate::fakes::telegram::{self, FakeTelegram};
use crate::helpers::{with_each_engine, TestDatabase};

/// A server process started from the built binary.
pub(crate) struct ServerProcess {
    child: Child,
    pub(crate) address: SocketAddr,
}

/// What a started process must answer before the test goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wait {
    /// `/readyz`: the database answers and the background tasks run.
    Ready,
    /// `/healthz`: it serves (its database may be down).
    Serving,
}

impl ServerProcess {
    /// Starts `server serve` on a free port against `database_url` and the fakes, and
    /// waits until it answers `/readyz`.
    async fn start(database_url: &str, resend: &FakeResend, mobizon: &FakeMobizon) -> Self {
        Self::start_with(database_url, resend, mobizon, &[], Wait::Ready).await
    }

    /// Like [`start`](Self::start), with more environment and another readiness.
    pub(crate) async fn start_with(
        database_url: &str,
        resend: &FakeResend,
        mobizon: &FakeMobizon,
        extra: &[(&str, String)],
        wait: Wait,
    ) -> Self {
        let address = free_address();
        let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace root");
        let child = Command::new(env!("CARGO_BIN_EXE_server"))
            .current_dir(workspace)
            .env("APP_ENV", "development")
            .env("DATABASE_URL", database_url)
            .env("LEPTOS_SITE_ADDR", address.to_string())
            .env("NOTIFY_DELAY_SECS", "1")
            .env("RESEND_API_URL", resend.url())
            .env("RESEND_API_KEY", resend::API_KEY)
            .env("RESEND_TIMEOUT_SECS", "2")
            .env("MOBIZON_API_URL", mobizon.url())
            .env("MOBIZON_API_KEY", mobizon::API_KEY)
            .env("MOBIZON_TIMEOUT_SECS", "2")
            .env("MOBIZON_STATUS_POLL_SECS", "3600")
            .env("JOB_LEASE_SECS", "4")
            .env("JOB_RETRY_BASE_SECS", "1")
            .env("JOB_POLL_MS", "200")
            .env("INTAKE_SPOOL_DIR", spool_dir(database_url))
            // The tests post thousands of leads from one address.
            .env("INTAKE_RATE_PER_MINUTE", "0")
            // Long, unless a test shortens it: a loaded machine must not spool what a test
            // expects stored.
            .env("INTAKE_SPOOL_AFTER_MS", "10000")
            .env("RUST_LOG", std::env::var("TEST_LOG").map(|_| "info").unwrap_or("error"))
            .envs(extra.iter().map(|(name, value)| (*name, value.as_str())))
            .stdout(Stdio::null())
            .stderr(if std::env::var("TEST_LOG").is_ok() { Stdio::inherit() } else { Stdio::null() })
            .kill_on_drop(true)
            .spawn()
            .expect("starting the server binary");
        let server = Self { child, address };
        server.wait_until(wait).await;
        server
    }

    async fn wait_until(&self, wait: Wait) {
        let client = reqwest::Client::new();
        let path = match wait {
            Wait::Ready => "readyz",
            Wait::Serving => "healthz",
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(response) = client.get(format!("http://{}/{path}", self.address)).send().await {
                if response.status().is_success() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server did not become ready");
    }

    /// Kills the process with SIGKILL: no shutdown, no goodbye.
    pub(crate) async fn kill(mut self) {
        self.child.start_kill().expect("sending SIGKILL");
        self.child.wait().await.expect("reaping the server");
    }
}

/// The spool folder of the servers of one database: a restarted process finds what a
/// killed one left there.
fn spool_dir(database_url: &str) -> String {
    let name = database_url.rsplit(['/', '?']).find(|part| part.starts_with("leadtrack_test_")).unwrap_or("spool");
    std::env::temp_dir().join(format!("{}-spool", name.trim_end_matches(".db"))).display().to_string()
}

pub(crate) fn free_address() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("an address")
}

/// Posts `count` leads with distinct emails and phones, 16 at a time, spread over
/// `servers`; panics unless every one is accepted.
async fn post_leads(servers: &[SocketAddr], count: usize) {
    post_leads_of(servers, count, |n| (format!("lead{n}@example.com"), format!("+7701{n:07}"))).await;
}

/// Posts `count` leads whose email and phone `person` gives, 16 at a time, spread over
/// `servers`; panics unless every one is accepted: stored (200) or, when the database took
/// longer than `INTAKE_SPOOL_AFTER_MS` on a loaded machine, spooled to be stored (202).
async fn post_leads_of(servers: &[SocketAddr], count: usize, person: impl Fn(usize) -> (String, String)) {
    let client = reqwest::Client::new();
    let results: Vec<u16> = stream::iter(0..count)
        .map(|n| {
            let client = client.clone();
            let address = servers[n % servers.len()];
            let (email, phone) = person(n);
            async move {
                let body = json!({ "name": format!("Лид {n}"), "email": email, "phone": phone });
                let response = client.post(format!("http://{address}/api/landing/proftest")).json(&body).send().await;
                response.map(|response| response.status().as_u16()).unwrap_or(0)
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    assert!(results.iter().all(|status| matches!(status, 200 | 202)), "every lead is accepted: {results:?}");
}

/// Waits (polling the fakes, which is the outcome itself) until `count` distinct
/// recipients got an email and an SMS, or `limit` passes.
async fn wait_for_deliveries(resend: &FakeResend, mobizon: &FakeMobizon, count: usize, limit: Duration) {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if resend.count_by_recipient().len() >= count && mobizon.count_by_recipient().len() >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "only {} emails and {} SMS recipients after {limit:?}",
        resend.count_by_recipient().len(),
        mobizon.count_by_recipient().len()
    );
}

fn assert_each_recipient_once(resend: &FakeResend, mobizon: &FakeMobizon, count: usize) {
    let emails = resend.count_by_recipient();
    let sms = mobizon.count_by_recipient();
    assert_eq!(emails.len(), count);
    assert_eq!(sms.len(), count);
    assert!(emails.values().all(|n| *n == 1), "an email went out twice");
    assert!(
        sms.values().all(|n| *n == 1),
        "an SMS went out twice: {:?}",
        sms.iter().filter(|(_, n)| **n > 1).collect::<Vec<_>>()
    );
    assert_eq!(resend.accepted().len(), count, "one email per idempotency key");
}

with_each_engine!(a_server_killed_while_sending_loses_and_repeats_nothing_after_restart, |engine| {
    let Some(database) = TestDatabase::create(engine).await else { return };
    let (resend, mobizon) = (FakeResend::start().await, FakeMobizon::start().await);
    // Slow answers keep many messages accepted by the provider but not yet recorded by us.
    resend.set_latency(Duration::from_millis(40));
    mobizon.set_latency(Duration::from_millis(40));
    let server = ServerProcess::start(&database.url, &resend, &mobizon).await;
    post_leads(&[server.address], 500).await;

    let deadline = Instant::now() + Duration::from_secs(60);
    while resend.accepted().len() < 100 || mobizon.accepted().len() < 100 {
        assert!(Instant::now() < deadline, "sending never started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.kill().await;
    let at_kill = (resend.accepted().len(), mobizon.accepted().len());
    assert!(at_kill.0 < 500 || at_kill.1 < 500, "the kill came after everything was sent: {at_kill:?}");

    let restarted = ServerProcess::start(&database.url, &resend, &mobizon).await;
    wait_for_deliveries(&resend, &mobizon, 500, Duration::from_secs(120)).await;
    restarted.kill().await;
    assert_each_recipient_once(&resend, &mobizon, 500);
});

#[tokio::test]
async fn two_server_processes_on_one_postgres_send_each_message_once() {
    let Some(database) = TestDatabase::create(Engine::Postgres).await else {
        eprintln!("TEST_DATABASE_URL is not set: skipped");
        return;
    };
    let (resend, mobizon) = (FakeResend::start().await, FakeMobizon::start().await);
    resend.set_latency(Duration::from_millis(5));
    mobizon.set_latency(Duration::from_millis(5));
    let first = ServerProcess::start(&database.url, &resend, &mobizon).await;
    let second = ServerProcess::start(&database.url, &resend, &mobizon).await;
    let servers = [first.address, second.address];
    // Beside them one person submits 40 times, to both processes at once: within
    // NOTIFY_DEDUP_HOURS they are written to once.
    let same_person = |_| ("repeat@example.com".to_owned(), "+77019999999".to_owned());
    tokio::join!(post_leads(&servers, 1000), post_leads_of(&servers, 40, same_person));
    wait_for_deliveries(&resend, &mobizon, 1001, Duration::from_secs(120)).await;
    first.kill().await;
    second.kill().await;
    assert_each_recipient_once(&resend, &mobizon, 1001);
}

/// The environment of a server that pushes to AmoCRM and announces sales in Telegram.
fn crm_and_telegram(crm: &FakeAmoCrm, telegram: &FakeTelegram, max_rps: u32) -> Vec<(&'static str, String)> {
    vec![
        ("AMOCRM_BASE_URL", crm.url()),
        ("AMOCRM_ACCESS_TOKEN", amocrm::TOKEN.to_owned()),
        ("AMOCRM_TIMEOUT_SECS", "5".to_owned()),
        ("AMOCRM_MAX_RPS", max_rps.to_string()),
        ("AMOCRM_WEBHOOK_SECRET", HOOK_SECRET.to_owned()),
        ("TELEGRAM_API_URL", telegram.url()),
        ("TELEGRAM_BOT_TOKEN", telegram::BOT_TOKEN.to_owned()),
        ("TELEGRAM_DEFAULT_CHAT_ID", "-1001234567890".to_owned()),
        ("TELEGRAM_TIMEOUT_SECS", "5".to_owned()),
    ]
}

const HOOK_SECRET: &str = "amo-hook-secret-0001";

/// Delivers a won express deal `deal_id` of client `Клиент <n>` to one of `servers`.
async fn deliver_won_deal(servers: &[SocketAddr], n: usize) {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("leads[status][0][id]", (880_000 + n).to_string()),
            ("leads[status][0][name]", format!("Клиент {n}")),
            ("leads[status][0][status_id]", "142".to_owned()),
            ("leads[status][0][old_status_id]", "81854618".to_owned()),
            ("leads[status][0][pipeline_id]", "10350882".to_owned()),
            ("leads[status][0][updated_at]", "1773147600".to_owned()),
            ("leads[status][0][custom_fields][0][id]", "434731".to_owned()),
            ("leads[status][0][custom_fields][0][values][0][value]", "fb_kenesary".to_owned()),
        ])
        .finish();
    let url = format!("http://{}/api/amocrm/sales-webhook?token={HOOK_SECRET}", servers[n % servers.len()]);
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("delivering a webhook");
    assert_eq!(response.status(), 200);
}

/// Polls what the fakes saw until `done`, at most a minute.
async fn until(done: impl Fn() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "{what} never happened");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A pool on the test's database, to watch the outcome.
pub(crate) async fn observe(database: &TestDatabase) -> Db {
    let config =
        DatabaseConfig { url: database.url.clone(), max_connections: Some(2), acquire_timeout: Duration::from_secs(5) };
    Db::connect(&config).await.expect("connecting to the test database")
}

/// Waits until `count` leads have their deal and `sales` sales have a settled
/// announcement (sent or uncertain), or `limit` passes.
async fn wait_for_crm_and_announcements(db: &Db, leads: i64, sales: i64, limit: Duration) {
    let deadline = Instant::now() + limit;
    let count =
        |sql: &'static str| async move { sqlx::query_scalar::<_, i64>(sql).fetch_one(db.pool()).await.unwrap_or(0) };
    loop {
        let linked = count("SELECT COUNT(*) FROM lead WHERE crm_deal_id IS NOT NULL").await;
        let settled = count("SELECT COUNT(*) FROM sale WHERE notify_state IN ('sent', 'uncertain')").await;
        if linked >= leads && settled >= sales {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "after {limit:?}: {linked} of {leads} leads in AmoCRM, {settled} of {sales} sales announced"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One contact and one deal per lead; at most one message per sale, exactly one for each
/// sale marked sent; no sale left pending.
async fn assert_crm_and_announcements_once(
    db: &Db,
    crm: &FakeAmoCrm,
    telegram: &FakeTelegram,
    leads: usize,
    sales: usize,
) {
    assert_eq!(crm.counts(), (leads, leads), "one contact and one deal per person");
    let deals: Vec<Option<i64>> =
        sqlx::query_scalar("SELECT crm_deal_id FROM lead").fetch_all(db.pool()).await.unwrap();
    let mut distinct = deals.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), leads, "every lead has its own deal: {deals:?}");
    let mut messages: HashMap<String, usize> = HashMap::new();
    for (_, text, _) in telegram.sent() {
        let client = text.lines().find(|line| line.contains("Клиент")).unwrap_or_default().to_owned();
        *messages.entry(client).or_default() += 1;
    }
    assert!(messages.values().all(|count| *count == 1), "a sale announced twice: {messages:?}");
    let states: Vec<(String, String)> = sqlx::query_as("SELECT contact_name, notify_state FROM sale ORDER BY sale_id")
        .fetch_all(db.pool())
        .await
        .unwrap();
    assert_eq!(states.len(), sales);
    for (client, state) in &states {
        let sent = messages.iter().any(|(line, _)| line.ends_with(client.as_str()));
        match state.as_str() {
            "sent" => assert!(sent, "{client} is marked sent but no message came"),
            "uncertain" => {}
            other => panic!("{client}'s announcement is {other}"),
        }
    }
}

with_each_engine!(crm_pushes_and_sale_announcements_survive_a_sigkill_without_a_second_deal_or_message, |engine| {
    let Some(database) = TestDatabase::create(engine).await else { return };
    let (resend, mobizon) = (FakeResend::start().await, FakeMobizon::start().await);
    let (crm, telegram) = (FakeAmoCrm::start().await, FakeTelegram::start().await);
    // Slow answers keep creates and messages in flight when the process dies, and AmoCRM's
    // search shows a new contact only later.
    crm.slow_creates(Duration::from_millis(300));
    crm.lag_search(Duration::from_secs(60));
    telegram.set_latency(Duration::from_secs(1));
    let env = crm_and_telegram(&crm, &telegram, 6);
    let server = ServerProcess::start_with(&database.url, &resend, &mobizon, &env, Wait::Ready).await;
    post_leads(&[server.address], 24).await;
    until(|| crm.counts().1 >= 4, "pushing").await;
    for n in 0..8 {
        deliver_won_deal(&[server.address], n).await;
    }
    until(|| crm.counts().1 >= 10 && telegram.sent().len() >= 2, "announcing").await;
    server.kill().await;
    assert!(crm.counts().1 < 24 && telegram.sent().len() < 8, "the kill came after everything was done");

    let restarted = ServerProcess::start_with(&database.url, &resend, &mobizon, &env, Wait::Ready).await;
    let db = observe(&database).await;
    wait_for_crm_and_announcements(&db, 24, 8, Duration::from_secs(120)).await;
    restarted.kill().await;
    assert_crm_and_announcements_once(&db, &crm, &telegram, 24, 8).await;
    db.close().await;
});

#[tokio::test]
async fn two_server_processes_on_one_postgres_push_and_announce_each_once() {
    let Some(database) = TestDatabase::create(Engine::Postgres).await else {
        eprintln!("TEST_DATABASE_URL is not set: skipped");
        return;
    };
    let (resend, mobizon) = (FakeResend::start().await, FakeMobizon::start().await);
    let (crm, telegram) = (FakeAmoCrm::start().await, FakeTelegram::start().await);
    // Two processes share AmoCRM's 7 requests a second.
    let env = crm_and_telegram(&crm, &telegram, 3);
    let first = ServerProcess::start_with(&database.url, &resend, &mobizon, &env, Wait::Ready).await;
    let second = ServerProcess::start_with(&database.url, &resend, &mobizon, &env, Wait::Ready).await;
    let servers = [first.address, second.address];
    post_leads(&servers, 20).await;
    // The same people submit again at the other process while their first push runs.
    post_leads(&[second.address, first.address], 20).await;
    for n in 0..6 {
        deliver_won_deal(&servers, n).await;
        // AmoCRM retries: the same delivery again, to the other process.
        deliver_won_deal(&[servers[(n + 1) % 2], servers[n % 2]], n).await;
    }
    let db = observe(&database).await;
    wait_for_crm_and_announcements(&db, 40, 6, Duration::from_secs(120)).await;
    first.kill().await;
    second.kill().await;
    assert_eq!(crm.counts(), (20, 20), "one contact and one deal per person, whichever process pushed");
    assert_eq!(telegram.sent().len(), 6, "one message per sale");
    db.close().await;
}

/// Posts one submission, retrying with the same `Idempotency-Key` while the server is not
/// there to answer (refused, or killed with the request in hand) as a landing page does;
/// returns the answer's status and how long the answering attempt took.
async fn submit_with_retries(
    client: &reqwest::Client,
    servers: &std::sync::Mutex<SocketAddr>,
    n: usize,
) -> (u16, Duration) {
    let body = json!({ "name": format!("Лид {n}"), "email": format!("outage{n}@example.com"), "phone": format!("+7702{n:07}") });
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let address = *servers.lock().unwrap();
        let started = Instant::now();
        let sent = client
            .post(format!("http://{address}/api/landing/proftest"))
            .header("idempotency-key", format!("outage-{n}"))
            .json(&body)
            .send()
            .await;
        match sent {
            Ok(response) => return (response.status().as_u16(), started.elapsed()),
            // A request the server held for 10 s is a failure, not a restart.
            Err(error) if !error.is_timeout() && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => panic!("submission {n} got no answer: {error}"),
        }
    }
}

#[tokio::test]
async fn postgres_cut_off_for_a_minute_under_steady_submissions_and_a_sigkill_loses_and_doubles_nothing() {
    let Some(database) = TestDatabase::create(Engine::Postgres).await else {
        eprintln!("TEST_DATABASE_URL is not set: skipped");
        return;
    };
    let proxy = TcpProxy::start("127.0.0.1:5432".parse().unwrap()).await;
    let proxied = database.url.replacen("127.0.0.1:5432", &proxy.address.to_string(), 1);
    assert_ne!(proxied, database.url, "TEST_DATABASE_URL points at 127.0.0.1:5432");
    let (resend, mobizon) = (FakeResend::start().await, FakeMobizon::start().await);
    let env = [("DATABASE_ACQUIRE_TIMEOUT_MS", "1000".to_owned()), ("INTAKE_SPOOL_AFTER_MS", "500".to_owned())];
    let server = ServerProcess::start_with(&proxied, &resend, &mobizon, &env, Wait::Ready).await;
    let address = std::sync::Arc::new(std::sync::Mutex::new(server.address));

    // A steady stream: a submission every 50 ms, each answered or retried until it is.
    let stream = {
        let address = address.clone();
        tokio::spawn(async move {
            let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
            let mut answers = Vec::new();
            let mut ticks = tokio::time::interval(Duration::from_millis(50));
            let mut pending = tokio::task::JoinSet::new();
            for n in 0..1_500 {
                ticks.tick().await;
                let (client, address) = (client.clone(), address.clone());
                pending.spawn(async move { (n, submit_with_retries(&client, &address, n).await) });
            }
            while let Some(answer) = pending.join_next().await {
                answers.push(answer.unwrap());
            }
            answers
        })
    };
    tokio::time::sleep(Duration::from_secs(3)).await;
    proxy.cut();
    let cut_at = Instant::now();

    // While the database is away: health answers at once, pages say so plainly.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let client = reqwest::Client::new();
    let started = Instant::now();
    let ready = client.get(format!("http://{}/readyz", server.address)).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    assert!(started.elapsed() < Duration::from_secs(1), "/readyz took {:?}", started.elapsed());
    let page = client.get(format!("http://{}/target", server.address)).send().await.unwrap();
    assert_eq!(page.status(), 503);
    assert!(page.text().await.unwrap().contains("База данных временно недоступна"));

    // Half way through the outage the process is killed and started again (its database
    // still away): what it spooled must survive.
    tokio::time::sleep(Duration::from_secs(25)).await;
    server.kill().await;
    let restarted = ServerProcess::start_with(&proxied, &resend, &mobizon, &env, Wait::Serving).await;
    *address.lock().unwrap() = restarted.address;
    tokio::time::sleep(Duration::from_secs(60).saturating_sub(cut_at.elapsed())).await;
    proxy.restore();

    let answers = stream.await.unwrap();
    let mut slowest: Vec<(Duration, usize, u16)> =
        answers.iter().map(|(n, (status, took))| (*took, *n, *status)).collect();
    slowest.sort_unstable_by(|a, b| b.cmp(a));
    eprintln!("slowest answers: {:?}", &slowest[..10]);
    for (n, (status, took)) in &answers {
        assert!(*status == 200 || *status == 202, "submission {n} got {status}");
        assert!(*took < Duration::from_secs(1), "submission {n} waited {took:?} for its answer");
    }
    let spooled = answers.iter().filter(|(_, (status, _))| *status == 202).count();
    assert!(spooled > 500, "the outage covered a good part of the stream: {spooled} spooled");

    let db = observe(&database).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM lead").fetch_one(db.pool()).await.unwrap();
        if stored >= 1_500 && resend.count_by_recipient().len() >= 1_500 && mobizon.count_by_recipient().len() >= 1_500
        {
            break;
        }
        assert!(Instant::now() < deadline, "{stored} of 1500 leads stored after the outage");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    restarted.kill().await;
    let per_email: Vec<(String, i64)> =
        sqlx::query_as("SELECT email, COUNT(*) FROM lead GROUP BY email HAVING COUNT(*) > 1")
            .fetch_all(db.pool())
            .await
            .unwrap();
    assert!(per_email.is_empty(), "stored twice: {per_email:?}");
    let times: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT lead.email, lead.created_at, job.run_at FROM lead JOIN job ON job.lead_id = lead.lead_id \
         WHERE job.kind = 'send_lead_email'",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    assert_eq!(times.len(), 1_500);
    assert!(times.iter().all(|(_, created, due)| due - created == 1_000), "emails fall due a delay after arrival");
    assert_each_recipient_once(&resend, &mobizon, 1_500);
    db.close().await;
}
