//! The real server binary as separate processes: killed with SIGKILL in the middle of
//! sending and restarted, and two processes sharing one PostgreSQL queue. In the end
//! every lead has exactly one email and one SMS at the fake providers.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};
use serde_json::json;
use tokio::process::{Child, Command};

use app::db::Engine;

use crate::fakes::mobizon::{self, FakeMobizon};
use crate::fakes::resend::{self, FakeResend};
use crate::helpers::{with_each_engine, TestDatabase};

/// A server process started from the built binary.
struct ServerProcess {
    child: Child,
    address: SocketAddr,
}

impl ServerProcess {
    /// Starts `server serve` on a free port against `database_url` and the fakes, and
    /// waits until it answers `/readyz`.
    async fn start(database_url: &str, resend: &FakeResend, mobizon: &FakeMobizon) -> Self {
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
            .env("RUST_LOG", std::env::var("TEST_LOG").map(|_| "info").unwrap_or("error"))
            .stdout(Stdio::null())
            .stderr(if std::env::var("TEST_LOG").is_ok() { Stdio::inherit() } else { Stdio::null() })
            .kill_on_drop(true)
            .spawn()
            .expect("starting the server binary");
        let server = Self { child, address };
        server.wait_until_ready().await;
        server
    }

    async fn wait_until_ready(&self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(response) = client.get(format!("http://{}/readyz", self.address)).send().await {
                if response.status().is_success() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server did not become ready");
    }

    /// Kills the process with SIGKILL: no shutdown, no goodbye.
    async fn kill(mut self) {
        self.child.start_kill().expect("sending SIGKILL");
        self.child.wait().await.expect("reaping the server");
    }
}

fn free_address() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("an address")
}

/// Posts `count` leads with distinct emails and phones, `in_flight` at a time, spread over
/// `servers`; panics unless every one is accepted.
async fn post_leads(servers: &[SocketAddr], count: usize) {
    let client = reqwest::Client::new();
    let results: Vec<u16> = stream::iter(0..count)
        .map(|n| {
            let client = client.clone();
            let address = servers[n % servers.len()];
            async move {
                let body = json!({ "name": format!("Лид {n}"), "email": format!("lead{n}@example.com"),
                                   "phone": format!("+7701{n:07}") });
                let response = client.post(format!("http://{address}/api/landing/proftest")).json(&body).send().await;
                response.map(|response| response.status().as_u16()).unwrap_or(0)
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    assert!(results.iter().all(|status| *status == 200), "every lead is accepted");
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
    post_leads(&[first.address, second.address], 1000).await;
    wait_for_deliveries(&resend, &mobizon, 1000, Duration::from_secs(120)).await;
    first.kill().await;
    second.kill().await;
    assert_each_recipient_once(&resend, &mobizon, 1000);
}
