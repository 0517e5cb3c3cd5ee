//! Fake providers that speak the documented wire formats (`docs/providers.md`, Resend, Mobizon), on free
//! ports, with switches for the failures the real ones have: outages, timeouts, rate
//! limits and rejections. They count what they accepted by idempotency key and recipient.

pub mod amocrm;
pub mod conversions;
pub mod facebook;
pub mod mobizon;
pub mod resend;
pub mod tcp_proxy;
pub mod telegram;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;

/// Serves `router` on a free local port until the test ends.
async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binding a fake provider");
    let address = listener.local_addr().expect("a bound address");
    tokio::spawn(async move { axum::serve(listener, router).await.expect("the fake provider serves") });
    address
}

/// How a fake answers for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// As documented.
    #[default]
    Normal,
    /// HTTP 500 without doing anything.
    Outage,
    /// Holds the request longer than any client timeout in the tests, then does nothing.
    Hang,
    /// The provider's rate-limit answer.
    RateLimited,
    /// Accepts the message, then holds the answer past the client's timeout: the sender
    /// cannot know it went out.
    AcceptThenHang,
    /// Refuses every message as invalid (a permanent error).
    Reject,
    /// The API key was revoked: every call is refused as the provider refuses a bad key.
    KeyRevoked,
}

/// A message a fake accepted.
pub trait Received: Clone {
    /// The address or number it went to.
    fn recipient(&self) -> &str;
}

/// What a fake keeps: how to answer, and what it accepted. `E` is the provider's own state.
pub struct Ledger<M, E> {
    pub mode: Mode,
    /// Added after a message is accepted, before the answer.
    pub latency: Duration,
    pub accepted: Vec<M>,
    pub requests: usize,
    pub extra: E,
}

/// The ledger as handlers share it.
pub type Shared<M, E> = Arc<Mutex<Ledger<M, E>>>;

/// Counts a request; returns how to answer it.
pub fn begin_request<M, E>(ledger: &Shared<M, E>) -> (Mode, Duration) {
    let mut ledger = ledger.lock().unwrap();
    ledger.requests += 1;
    (ledger.mode, ledger.latency)
}

/// A running fake provider.
#[derive(Clone)]
pub struct Fake<M, E> {
    pub address: SocketAddr,
    ledger: Shared<M, E>,
}

impl<M: Received + Send + 'static, E: Default + Send + 'static> Fake<M, E> {
    /// Serves the router `routes` builds over a fresh ledger, on a free port.
    async fn start_with(routes: impl FnOnce(Shared<M, E>) -> Router) -> Self {
        let ledger: Shared<M, E> = Arc::new(Mutex::new(Ledger {
            mode: Mode::Normal,
            latency: Duration::ZERO,
            accepted: Vec::new(),
            requests: 0,
            extra: E::default(),
        }));
        Self { address: serve(routes(ledger.clone())).await, ledger }
    }

    /// The base URL to configure as the provider's API URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Delays every answer after accepting, so that messages are in flight for a while.
    pub fn set_latency(&self, latency: Duration) {
        self.ledger.lock().unwrap().latency = latency;
    }

    /// Switches how the fake answers from now on.
    pub fn set_mode(&self, mode: Mode) {
        self.ledger.lock().unwrap().mode = mode;
    }

    /// Every message accepted.
    pub fn accepted(&self) -> Vec<M> {
        self.ledger.lock().unwrap().accepted.clone()
    }

    /// Requests received, whatever their answer.
    pub fn requests(&self) -> usize {
        self.ledger.lock().unwrap().requests
    }

    /// How many accepted messages went to each recipient.
    pub fn count_by_recipient(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for message in self.accepted() {
            *counts.entry(message.recipient().to_owned()).or_default() += 1;
        }
        counts
    }
}
