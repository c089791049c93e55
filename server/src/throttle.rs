//! Slowing password guessing per client address, across connections.
//!
//! The k-th failed login from one address is answered min(100 ms × 2^(k−1), 2 s) after it was
//! read (`PROTOCOL.md`, "Failed logins"). Counting per connection would let a guesser reconnect
//! to start again at 100 ms, so failures are counted per address: an IPv4 address, an IPv6
//! /64 (one subscriber's network), and each loopback address on its own. The logins of one
//! address run one at a time — a login waits while another from its address is pending — so
//! parallel connections gain nothing, and an address can hold at most one Argon2id run: a flood
//! from one address never delays the logins of another. Only a minute without a failure
//! forgets the count: a success does not, or a holder of one account could guess another's
//! password at full speed by logging in to its own between guesses.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// A minute without a failure forgets an address's failures.
const FORGET_AFTER: Duration = Duration::from_secs(60);
/// Sweep forgotten addresses once the table holds this many.
const SWEEP_AT: usize = 4096;

/// The failures of one address.
#[derive(Debug, Default)]
struct Failures {
    count: u32,
    last: Option<Instant>,
}

/// Failed logins per address; shared by every connection.
#[derive(Default)]
pub struct LoginThrottle {
    addresses: Mutex<HashMap<IpAddr, Arc<tokio::sync::Mutex<Failures>>>>,
}

/// How long after it was read the `failures`-th failure in a row is answered: 100 ms,
/// doubling, at most 2 s, so guessing is slow but a typo is not punished much.
pub fn failure_delay(failures: u32) -> Duration {
    Duration::from_millis(
        100u64
            .saturating_mul(1 << failures.saturating_sub(1).min(5))
            .min(2_000),
    )
}

/// The unit failures are counted in: the address itself, except that an IPv6 address counts
/// as its /64 (loopback excepted) and an IPv4-mapped IPv6 address as the IPv4 one.
pub fn address_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return IpAddr::V4(v4);
            }
            if v6.is_loopback() {
                return address;
            }
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
    }
}

impl LoginThrottle {
    /// Runs one login check for a client at `peer` whose request was read at `read_at`:
    /// waits for any pending login of the same address, then, if `check` fails (`None`),
    /// answers only after the failure's delay.
    pub async fn attempt<T>(
        &self,
        peer: IpAddr,
        read_at: Instant,
        check: impl Future<Output = Option<T>>,
    ) -> Option<T> {
        let slot = self.slot(address_key(peer));
        let mut failures = slot.lock().await;
        // Waiting for another login of this address counts as reading it now, so parallel
        // connections are answered no sooner than one connection trying in turn.
        let started = read_at.max(Instant::now());
        if failures.last.is_some_and(|at| at.elapsed() >= FORGET_AFTER) {
            *failures = Failures::default();
        }
        let outcome = check.await;
        if outcome.is_none() {
            failures.count = failures.count.saturating_add(1);
            failures.last = Some(Instant::now());
            tokio::time::sleep_until(started + failure_delay(failures.count)).await;
        }
        outcome
    }

    /// The failure counter of an address, created if needed.
    fn slot(&self, key: IpAddr) -> Arc<tokio::sync::Mutex<Failures>> {
        let mut addresses = self
            .addresses
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if addresses.len() >= SWEEP_AT {
            // Keep the addresses that are logging in now or failed within the minute.
            addresses.retain(|_, slot| {
                Arc::strong_count(slot) > 1
                    || slot.try_lock().map_or(true, |f| {
                        f.last.is_some_and(|at| at.elapsed() < FORGET_AFTER)
                    })
            });
        }
        addresses.entry(key).or_default().clone()
    }

    /// How many addresses are remembered (for tests of the sweep).
    pub fn remembered(&self) -> usize {
        self.addresses.lock().map(|a| a.len()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn delays_grow_and_cap() {
        assert_eq!(failure_delay(1), Duration::from_millis(100));
        assert_eq!(failure_delay(2), Duration::from_millis(200));
        assert_eq!(failure_delay(5), Duration::from_millis(1_600));
        assert_eq!(failure_delay(6), Duration::from_millis(2_000));
        assert_eq!(failure_delay(30), Duration::from_millis(2_000));
    }

    #[test]
    fn addresses_count_by_v4_v6_slash_64_and_loopback() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        let mapped = IpAddr::V6(Ipv4Addr::new(10, 0, 0, 1).to_ipv6_mapped());
        assert_eq!(address_key(mapped), IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
        assert_ne!(
            address_key("127.0.0.1".parse().unwrap()),
            address_key("127.0.0.2".parse().unwrap())
        );
        assert_eq!(
            address_key(IpAddr::V6(Ipv6Addr::LOCALHOST)),
            IpAddr::V6(Ipv6Addr::LOCALHOST)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn failures_slow_the_address_until_a_minute_passes_without_one() {
        let throttle = LoginThrottle::default();
        let peer: IpAddr = "192.0.2.7".parse().unwrap();
        for expected in [100, 200, 400] {
            let start = Instant::now();
            let result: Option<()> = throttle.attempt(peer, start, async { None }).await;
            assert!(result.is_none());
            assert_eq!(start.elapsed(), Duration::from_millis(expected));
        }
        // Another address is not delayed by these failures.
        let other: IpAddr = "192.0.2.8".parse().unwrap();
        let start = Instant::now();
        let _: Option<()> = throttle.attempt(other, start, async { None }).await;
        assert_eq!(start.elapsed(), Duration::from_millis(100));
        // A success answers at once and forgives nothing: the next failure waits 800 ms.
        let start = Instant::now();
        assert_eq!(
            throttle.attempt(peer, start, async { Some(1) }).await,
            Some(1)
        );
        assert_eq!(start.elapsed(), Duration::ZERO);
        let start = Instant::now();
        let _: Option<()> = throttle.attempt(peer, start, async { None }).await;
        assert_eq!(start.elapsed(), Duration::from_millis(800));
        // A minute without a failure forgets them.
        let _: Option<()> = throttle.attempt(peer, Instant::now(), async { None }).await;
        tokio::time::advance(FORGET_AFTER).await;
        let start = Instant::now();
        let _: Option<()> = throttle.attempt(peer, start, async { None }).await;
        assert_eq!(start.elapsed(), Duration::from_millis(100));
    }

    #[tokio::test(start_paused = true)]
    async fn parallel_attempts_of_one_address_wait_for_each_other() {
        let throttle = Arc::new(LoginThrottle::default());
        let peer: IpAddr = "198.51.100.1".parse().unwrap();
        let start = Instant::now();
        let tasks: Vec<_> = (0..3)
            .map(|_| {
                let throttle = throttle.clone();
                tokio::spawn(async move {
                    let _: Option<()> = throttle.attempt(peer, start, async { None }).await;
                    start.elapsed()
                })
            })
            .collect();
        let mut done = Vec::new();
        for task in tasks {
            done.push(task.await.unwrap());
        }
        done.sort();
        // One connection trying three times in turn: 100, 100 + 200, 300 + 400 ms.
        assert_eq!(
            done,
            vec![
                Duration::from_millis(100),
                Duration::from_millis(300),
                Duration::from_millis(700)
            ]
        );
    }
}
