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
    trusted_proxies: Vec<Network>,
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
    trusted: &[Network],
) -> Option<IpAddr> {
    let peer = peer?;
    let trusted_one = |address: &IpAddr| trusted.iter().any(|n| n.contains(address));
    if !trusted_one(&peer) {
        return Some(peer);
    }
    let Some(header) = forwarded_for else {
        return Some(peer);
    };
    // Rightmost first: entries a client wrote itself come leftmost.
    for hop in header.rsplit(',') {
        match hop.trim().parse::<IpAddr>() {
            Ok(address) if trusted_one(&address) => continue,
            Ok(address) => return Some(address),
            Err(_) => return Some(peer),
        }
    }
    Some(peer)
}

/// An address or a network (`10.0.0.0/8`, `fd00::/8`): a trusted proxy in a
/// cluster is any pod of the ingress controller or the web front end, whose
/// addresses come from the pod network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    address: IpAddr,
    prefix: u8,
}

impl Network {
    /// Whether `address` is in this network.
    pub fn contains(&self, address: &IpAddr) -> bool {
        match (self.address, address) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(*a) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(*a) & mask
            }
            _ => false,
        }
    }
}

impl std::str::FromStr for Network {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let address: IpAddr = address
            .trim()
            .parse()
            .map_err(|_| format!("`{text}` is not an address or a network like 10.0.0.0/8"))?;
        let most = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => most,
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= most)
                .ok_or_else(|| format!("`{text}`: the prefix length must be 0 to {most}"))?,
        };
        Ok(Self { address, prefix })
    }
}

impl<'de> serde::Deserialize<'de> for Network {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
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
        let trusted = ["127.0.0.1".parse().unwrap()];
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

    #[test]
    fn a_trusted_proxy_may_be_a_whole_network() {
        let pods: Network = "10.244.0.0/16".parse().unwrap();
        assert!(pods.contains(&"10.244.3.7".parse().unwrap()));
        assert!(!pods.contains(&"10.245.0.1".parse().unwrap()));
        assert!(!pods.contains(&"::1".parse().unwrap()));
        let one: Network = "::1".parse().unwrap();
        assert!(one.contains(&"::1".parse().unwrap()));
        assert!(!one.contains(&"::2".parse().unwrap()));
        let all: Network = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(&"203.0.113.9".parse().unwrap()));
        for bad in ["10.0.0.0/33", "ten", "10.0.0.0/x", "::/129"] {
            assert!(bad.parse::<Network>().is_err(), "{bad}");
        }
        // A request through an ingress pod, then the web front end's pod.
        let trusted = [pods];
        assert_eq!(
            client_address(
                Some("10.244.1.5".parse().unwrap()),
                Some("198.51.100.7, 10.244.0.9"),
                &trusted
            ),
            "198.51.100.7".parse().ok()
        );
    }
}
