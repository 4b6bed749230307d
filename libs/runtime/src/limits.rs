//! Request limits: a department client's quota (`auth.client_quotas`) and the
//! public routes' limit per client address (`http.public_requests_per_minute`).
//!
//! Each is "N requests a minute", counted by the generic cell rate algorithm
//! (GCRA): a key may spend its whole minute at once, then one request every
//! `60 s / N`. One number per key (when its next request is due), so a
//! limiter costs a hash-map lookup under a mutex. Limits are per process: with
//! several instances behind a load balancer a client gets at most N per
//! instance (the chart sizes quotas for that).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::problem::Problem;
use crate::settings::Settings;

/// The limits of one process, as the guard applies them.
#[derive(Debug)]
pub struct Limits {
    counted: RateLimiter,
    public_per_minute: u32,
    trusted_proxies: Vec<IpAddr>,
    client_per_minute: u32,
    client_quotas: HashMap<String, u32>,
}

impl Limits {
    /// `http.public_requests_per_minute`, `http.trusted_proxies`,
    /// `auth.client_requests_per_minute` and `auth.client_quotas`.
    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            counted: RateLimiter::default(),
            public_per_minute: settings.http.public_requests_per_minute,
            trusted_proxies: settings.http.trusted_proxies.clone(),
            client_per_minute: settings.auth.client_requests_per_minute,
            client_quotas: settings.auth.client_quotas.clone(),
        }
    }

    /// No limits, and no proxy trusted: for an app under test that is not
    /// about limits.
    pub fn none() -> Self {
        Self {
            counted: RateLimiter::default(),
            public_per_minute: 0,
            trusted_proxies: Vec::new(),
            client_per_minute: 0,
            client_quotas: HashMap::new(),
        }
    }

    /// The address a request came from (see [`client_address`]).
    pub fn address_of(&self, peer: Option<IpAddr>, forwarded_for: Option<&str>) -> Option<IpAddr> {
        client_address(peer, forwarded_for, &self.trusted_proxies)
    }

    /// Counts a request to a public route from `address`.
    pub fn check_address(&self, address: Option<IpAddr>) -> Result<(), Problem> {
        // No address (not over TCP) counts as one client.
        let address = address.unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
        self.counted
            .check(
                &format!("address:{}", network_of(address)),
                self.public_per_minute,
            )
            .map_err(|wait| {
                // The address is personal data: the log says only that it happened.
                tracing::warn!("public requests limited for a client address");
                Problem::too_many_requests("too many requests from your address", wait)
            })
    }

    /// Counts a request of a department client against its quota.
    pub fn check_client(&self, client_id: &str) -> Result<(), Problem> {
        let quota = self
            .client_quotas
            .get(client_id)
            .copied()
            .unwrap_or(self.client_per_minute);
        self.counted
            .check(&format!("client:{client_id}"), quota)
            .map_err(|wait| {
                tracing::warn!(client = client_id, quota, "client over its quota");
                Problem::too_many_requests(
                    format!("client `{client_id}` may make {quota} requests a minute"),
                    wait,
                )
            })
    }
}

/// An IPv6 address's /64 (one household or device gets a whole /64), or an
/// IPv4 address.
fn network_of(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => {
            let mut segments = v6.segments();
            segments[4..].fill(0);
            IpAddr::V6(segments.into())
        }
    }
}

/// Keys this many or more trigger a sweep of the idle ones.
const SWEEP_AT: usize = 10_000;

/// "N a minute" per key.
#[derive(Debug, Default)]
pub struct RateLimiter {
    /// Per key: its theoretical arrival time (when it is back to a full minute).
    due: Mutex<HashMap<String, Instant>>,
}

impl RateLimiter {
    /// Counts a request of `key`, allowed `per_minute` a minute: `Ok` if it
    /// may go ahead, else how long until it may (for `Retry-After`).
    /// `per_minute` 0 means no limit.
    pub fn check(&self, key: &str, per_minute: u32) -> Result<(), Duration> {
        self.check_at(key, per_minute, Instant::now())
    }

    fn check_at(&self, key: &str, per_minute: u32, now: Instant) -> Result<(), Duration> {
        if per_minute == 0 {
            return Ok(());
        }
        let window = Duration::from_secs(60);
        let interval = window / per_minute;
        let mut due = self.due.lock().unwrap_or_else(|e| e.into_inner());
        if due.len() >= SWEEP_AT {
            due.retain(|_, at| *at > now);
        }
        let at = due.get(key).copied().filter(|at| *at > now).unwrap_or(now);
        let next = at + interval;
        if next - now > window {
            return Err(next - now - window);
        }
        due.insert(key.to_owned(), next);
        Ok(())
    }
}

/// The address a request came from: the peer, or — when the peer is one of
/// `trusted` proxies (the web front end, an ingress) — the last address in
/// `X-Forwarded-For` that the proxies did not add themselves.
pub fn client_address(
    peer: Option<IpAddr>,
    forwarded_for: Option<&str>,
    trusted: &[IpAddr],
) -> Option<IpAddr> {
    let peer = peer?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let Some(header) = forwarded_for else {
        return Some(peer);
    };
    // Rightmost first: entries a client wrote itself come leftmost.
    for hop in header.rsplit(',') {
        match hop.trim().parse::<IpAddr>() {
            Ok(address) if trusted.contains(&address) => continue,
            Ok(address) => return Some(address),
            Err(_) => return Some(peer),
        }
    }
    Some(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_spends_its_minute_then_waits_its_interval() {
        let limiter = RateLimiter::default();
        let start = Instant::now();
        for _ in 0..60 {
            assert!(limiter.check_at("hmpo", 60, start).is_ok());
        }
        let wait = limiter.check_at("hmpo", 60, start).unwrap_err();
        assert_eq!(wait, Duration::from_secs(1));
        // Another key is counted apart.
        assert!(limiter.check_at("dwp", 60, start).is_ok());
        // A second on, one more is allowed, and only one.
        let later = start + Duration::from_secs(1);
        assert!(limiter.check_at("hmpo", 60, later).is_ok());
        assert!(limiter.check_at("hmpo", 60, later).is_err());
        // No limit.
        for _ in 0..1000 {
            assert!(limiter.check_at("free", 0, start).is_ok());
        }
    }

    #[test]
    fn a_forwarded_address_counts_only_from_a_trusted_proxy() {
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        let outsider: IpAddr = "203.0.113.9".parse().unwrap();
        let trusted = [loopback];
        // Behind the web front end: the applicant's address.
        assert_eq!(
            client_address(Some(loopback), Some("198.51.100.7"), &trusted),
            "198.51.100.7".parse().ok()
        );
        // A spoofed leftmost entry is not believed.
        assert_eq!(
            client_address(Some(loopback), Some("10.9.9.9, 198.51.100.7"), &trusted),
            "198.51.100.7".parse().ok()
        );
        // Anyone else's header is ignored.
        assert_eq!(
            client_address(Some(outsider), Some("198.51.100.7"), &trusted),
            Some(outsider)
        );
        assert_eq!(
            client_address(Some(loopback), Some("junk"), &trusted),
            Some(loopback)
        );
    }
}
