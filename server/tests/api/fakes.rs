//! Fake providers that speak the documented wire formats (EXTERNAL-APIS §2–3), on free
//! ports, with switches for the failures the real ones have: outages, timeouts, rate
//! limits and rejections. They count what they accepted by idempotency key and recipient.

pub mod mobizon;
pub mod resend;

use std::net::SocketAddr;

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
}
