//! Brute-force protection of the sign-in: a growing delay after failures, per client
//! address and per login, and a cap on password checks — how many run at once and how
//! many start a second.
//!
//! A refused attempt costs nothing: it is answered before any database query or hash. The
//! rate cap is what holds a flood from ever new addresses and logins (which no per-key
//! delay catches) to a small share of one core, so lead intake keeps its latency; during
//! such a flood people signing in may be asked to retry after a second, while everyone
//! already signed in keeps working.
//! The counts live in the process; with several processes each keeps its own, which
//! multiplies an attacker's allowance by the number of processes and no more.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::{Semaphore, SemaphorePermit};

/// Failures from one address before the delay starts (an office behind one address
/// mistypes too).
const FREE_FAILURES_PER_ADDR: u32 = 10;
/// Failures for one login before the delay starts.
const FREE_FAILURES_PER_LOGIN: u32 = 5;
/// The longest delay, and how long after the last failure the count is forgotten.
const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
/// Above this many remembered keys, the forgotten ones are dropped.
const PRUNE_ABOVE: usize = 10_000;
/// How long a password check waits for its turn before the attempt is refused.
const HASH_QUEUE_WAIT: Duration = Duration::from_secs(10);
/// Password checks started a second at most, and at once: an Argon2 check takes about
/// 20 ms of a core here, so a flood costs at most a sixth of one.
const CHECKS_PER_SECOND: u32 = 8;
const CHECKS_BURST: u32 = 16;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Addr(IpAddr),
    Login(String),
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

impl Failures {
    /// When the next attempt is allowed: at once while fewer than `free` failed, then
    /// 1 s after the last failure, doubling with each one up to [`MAX_DELAY`].
    fn allowed_at(&self, free: u32) -> Instant {
        if self.count < free {
            return self.last;
        }
        let delay = Duration::from_secs(1u64 << (self.count - free).min(20)).min(MAX_DELAY);
        self.last + delay
    }
}

/// The sign-in's failure counts and password-check permits; one per process.
#[derive(Debug)]
pub struct SignInGuard {
    failures: Mutex<HashMap<Key, Failures>>,
    checks: Semaphore,
    check_rate: DefaultDirectRateLimiter,
}

impl SignInGuard {
    /// At most `concurrent_checks` password hashes at once (Argon2 takes about 19 MiB
    /// and a core's worth of time each).
    pub fn new(concurrent_checks: usize) -> Self {
        let rate = NonZeroU32::new(CHECKS_PER_SECOND).expect("a positive rate");
        let burst = NonZeroU32::new(CHECKS_BURST).expect("a positive burst");
        Self {
            failures: Mutex::default(),
            checks: Semaphore::new(concurrent_checks.max(1)),
            check_rate: RateLimiter::direct(Quota::per_second(rate).allow_burst(burst)),
        }
    }

    /// How long `addr` or `login` must still wait before trying again, if at all.
    pub fn wait(&self, addr: IpAddr, login: &str) -> Option<Duration> {
        self.wait_at(addr, login, Instant::now())
    }

    fn wait_at(&self, addr: IpAddr, login: &str, now: Instant) -> Option<Duration> {
        let failures = self.failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let allowed = [(Key::Addr(addr), FREE_FAILURES_PER_ADDR), (login_key(login), FREE_FAILURES_PER_LOGIN)]
            .into_iter()
            .filter_map(|(key, free)| failures.get(&key).map(|f| f.allowed_at(free)))
            .max()?;
        (allowed > now).then(|| allowed - now)
    }

    /// Counts a wrong login or password.
    pub fn failed(&self, addr: IpAddr, login: &str) {
        self.failed_at(addr, login, Instant::now());
    }

    fn failed_at(&self, addr: IpAddr, login: &str, now: Instant) {
        let mut failures = self.failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if failures.len() > PRUNE_ABOVE {
            failures.retain(|_, f| now.duration_since(f.last) < MAX_DELAY);
        }
        for key in [Key::Addr(addr), login_key(login)] {
            let entry = failures.entry(key).or_insert(Failures { count: 0, last: now });
            if now.duration_since(entry.last) >= MAX_DELAY {
                entry.count = 0;
            }
            entry.count += 1;
            entry.last = now;
        }
    }

    /// A correct password: the login's and the address's failures are forgotten.
    pub fn succeeded(&self, addr: IpAddr, login: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        failures.remove(&Key::Addr(addr));
        failures.remove(&login_key(login));
    }

    /// A turn to check a password; `Err` with how long to wait when checks are starting
    /// faster than [`CHECKS_PER_SECOND`] or the queue did not move for
    /// [`HASH_QUEUE_WAIT`] (a flood is going on).
    pub async fn password_check(&self) -> Result<SemaphorePermit<'_>, Duration> {
        if let Err(not_until) = self.check_rate.check() {
            return Err(not_until.wait_time_from(DefaultClock::default().now()));
        }
        match tokio::time::timeout(HASH_QUEUE_WAIT, self.checks.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(HASH_QUEUE_WAIT),
        }
    }
}

/// Logins are compared as people type them: trimmed, any case, at most 100 characters.
fn login_key(login: &str) -> Key {
    Key::Login(login.trim().chars().take(100).flat_map(char::to_lowercase).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_starts_after_the_free_failures_and_doubles() {
        let guard = SignInGuard::new(1);
        let addr: IpAddr = "198.51.100.1".parse().unwrap();
        let start = Instant::now();
        for n in 0..FREE_FAILURES_PER_LOGIN {
            assert_eq!(guard.wait_at(addr, "admin", start), None, "failure {n} is free");
            guard.failed_at(addr, "admin", start);
        }
        assert_eq!(guard.wait_at(addr, "admin", start), Some(Duration::from_secs(1)));
        assert_eq!(guard.wait_at(addr, " ADMIN ", start), Some(Duration::from_secs(1)), "the same login");
        guard.failed_at(addr, "admin", start);
        assert_eq!(guard.wait_at(addr, "admin", start), Some(Duration::from_secs(2)));
        let other: IpAddr = "198.51.100.2".parse().unwrap();
        assert_eq!(guard.wait_at(other, "admin", start), Some(Duration::from_secs(2)), "per login, from anywhere");
        assert_eq!(guard.wait_at(other, "someone-else", start), None);
        for _ in 0..30 {
            guard.failed_at(addr, "admin", start);
        }
        assert_eq!(guard.wait_at(addr, "admin", start), Some(MAX_DELAY), "capped");
        assert_eq!(guard.wait_at(addr, "admin", start + MAX_DELAY), None);
    }

    #[tokio::test]
    async fn password_checks_start_at_a_capped_rate() {
        let guard = SignInGuard::new(4);
        for _ in 0..CHECKS_BURST {
            assert!(guard.password_check().await.is_ok());
        }
        let wait = guard.password_check().await.unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1), "{wait:?}");
    }

    #[test]
    fn one_address_trying_many_logins_is_slowed_too_and_success_forgets() {
        let guard = SignInGuard::new(1);
        let addr: IpAddr = "198.51.100.3".parse().unwrap();
        let start = Instant::now();
        for n in 0..FREE_FAILURES_PER_ADDR {
            guard.failed_at(addr, &format!("login-{n}"), start);
        }
        assert_eq!(guard.wait_at(addr, "fresh-login", start), Some(Duration::from_secs(1)));
        guard.succeeded(addr, "fresh-login");
        assert_eq!(guard.wait_at(addr, "fresh-login", start), None);
    }
}
