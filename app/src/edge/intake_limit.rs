//! How fast one client address may submit leads (`INTAKE_RATE_PER_MINUTE`,
//! `INTAKE_RATE_BURST`), with `governor`'s keyed GCRA limiter.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// The key a client is limited by: its IPv4 address, or the /64 network of its IPv6
/// address (one subscriber gets a whole /64 and could otherwise rotate through it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum RateKey {
    V4(u32),
    V6Network(u64),
}

impl From<IpAddr> for RateKey {
    fn from(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V4(v4) => Self::V4(v4.into()),
            IpAddr::V6(v6) => Self::V6Network((u128::from(v6) >> 64) as u64),
        }
    }
}

/// The intake limit; `None` inside when it is switched off.
#[derive(Debug)]
pub struct IntakeLimit(Option<DefaultKeyedRateLimiter<RateKey>>);

impl IntakeLimit {
    /// `per_minute` submissions a minute sustained, up to `burst` at once; `per_minute`
    /// 0 switches the limit off.
    pub fn new(per_minute: u32, burst: u32) -> Self {
        let Some(rate) = NonZeroU32::new(per_minute) else { return Self(None) };
        let burst = NonZeroU32::new(burst).unwrap_or(rate);
        Self(Some(RateLimiter::keyed(Quota::per_minute(rate).allow_burst(burst))))
    }

    /// Takes one submission of `client`'s; `Err` with how long until the next is allowed.
    pub fn check(&self, client: IpAddr) -> Result<(), Duration> {
        let Some(limiter) = &self.0 else { return Ok(()) };
        limiter
            .check_key(&RateKey::from(client))
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// Forgets clients whose allowance is full again, so a flood of addresses does not
    /// keep memory; called once a minute.
    pub fn forget_idle(&self) {
        if let Some(limiter) = &self.0 {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_gets_its_burst_then_waits_and_others_are_unaffected() {
        let limit = IntakeLimit::new(60, 3);
        let (one, other) = ("198.51.100.1".parse().unwrap(), "198.51.100.2".parse().unwrap());
        for _ in 0..3 {
            assert_eq!(limit.check(one), Ok(()));
        }
        let wait = limit.check(one).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1), "{wait:?}");
        assert_eq!(limit.check(other), Ok(()));
    }

    #[test]
    fn one_ipv6_network_is_one_client_and_zero_switches_it_off() {
        let limit = IntakeLimit::new(60, 1);
        assert_eq!(limit.check("2001:db8:1:2::1".parse().unwrap()), Ok(()));
        assert!(limit.check("2001:db8:1:2:ffff::9".parse().unwrap()).is_err(), "same /64");
        assert_eq!(limit.check("2001:db8:1:3::1".parse().unwrap()), Ok(()));
        let off = IntakeLimit::new(0, 0);
        assert!((0..10_000).all(|_| off.check("198.51.100.1".parse().unwrap()).is_ok()));
    }
}
