//! The client's address: the peer's, or, when the peer is a trusted proxy, the one the proxies
//! recorded in `X-Forwarded-For`.
//!
//! Anonymous callers are rate-limited by this address, so it must not be one the client
//! chooses: `X-Forwarded-For` is read only when the TCP peer is in `GRIDGOV_TRUSTED_PROXIES`,
//! and then from the right, skipping the trusted proxies, so that the first untrusted hop is
//! the client (entries further left were written by the client itself and prove nothing).

use axum::http::HeaderMap;
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

/// One `X-Forwarded-For` hop: an address, possibly with a port (`1.2.3.4:5678`,
/// `[2001:db8::1]:443`).
fn hop(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    s.parse::<IpAddr>()
        .ok()
        .or_else(|| s.parse::<SocketAddr>().ok().map(|a| a.ip()))
}

/// The client address of a request from `peer` with `headers`.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    let mut client = peer;
    for h in hops.iter().rev() {
        let Some(ip) = hop(h) else {
            // A hop no proxy of ours wrote: stop at the last one we can vouch for.
            break;
        };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failed test may panic
mod tests {
    use super::*;
    use crate::config::parse_proxy;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", v.parse().expect("header value"));
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("address")
    }

    #[test]
    fn forwarded_for_is_ignored_from_an_untrusted_peer() {
        let trusted = [parse_proxy("10.0.0.0/8").expect("range")];
        assert_eq!(
            client_ip(ip("203.0.113.9"), &headers(&["1.1.1.1"]), &trusted),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn the_first_untrusted_hop_from_the_right_is_the_client() {
        let trusted = [
            parse_proxy("10.0.0.0/8").expect("range"),
            parse_proxy("192.0.2.1").expect("address"),
        ];
        // The client forged 6.6.6.6; the edge proxy appended the real address.
        let h = headers(&["6.6.6.6, 198.51.100.7", "192.0.2.1"]);
        assert_eq!(client_ip(ip("10.1.2.3"), &h, &trusted), ip("198.51.100.7"));
        assert_eq!(
            client_ip(ip("10.1.2.3"), &headers(&["[2001:db8::5]:443"]), &trusted),
            ip("2001:db8::5")
        );
        assert_eq!(
            client_ip(ip("10.1.2.3"), &headers(&[]), &trusted),
            ip("10.1.2.3"),
            "no header: the proxy itself"
        );
        assert_eq!(
            client_ip(ip("10.1.2.3"), &headers(&["garbage, 10.9.9.9"]), &trusted),
            ip("10.9.9.9"),
            "an unparsable hop stops the walk at the last address a proxy vouched for"
        );
    }

    #[test]
    fn bad_proxy_entries_are_refused() {
        assert!(parse_proxy("10.0.0.0/33").is_err());
        assert!(parse_proxy("proxy.local").is_err());
    }
}
