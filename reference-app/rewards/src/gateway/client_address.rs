//! Who the client is, by address: the TCP peer, unless that peer is a proxy the operator trusts
//! (`--trusted-proxy CIDR`), in which case the forwarded chain is read from the right.
//!
//! Each proxy appends the address it received the request from to `X-Forwarded-For` (or `Forwarded`), so the chain's
//! right end was written by the proxy nearest to us, and everything to the left of the first address that no trusted
//! proxy wrote is whatever the client chose to send. So the chain is walked from the right while the hop it came from
//! is trusted, and the first untrusted address is the client. A peer that is not a trusted proxy is the client
//! whatever its headers say, so a spoofed header from anyone else changes nothing; and an entry that cannot be read
//! ends the walk at the trusted proxy that wrote it, which then counts as the client (sharing its bucket is safe,
//! a made-up address is not).

use std::net::IpAddr;
use std::str::FromStr;

use axum::http::HeaderMap;
use ipnet::IpNet;

/// Which header trusted proxies write the chain into.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2`.
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for=proxy1`.
    Forwarded,
}

/// The proxies whose forwarded headers are believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    networks: Vec<IpNet>,
    header: ForwardedHeader,
}

/// Parses `--trusted-proxy`: a CIDR range, or one address.
pub fn parse_trusted_proxy(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    IpNet::from_str(text)
        .or_else(|_| IpAddr::from_str(text).map(IpNet::from))
        .map(|network| network.trunc())
        .map_err(|_| format!("expected an address range such as 10.0.0.0/8 or 2001:db8::/32, got {text:?}"))
}

impl TrustedProxies {
    /// Trusts the proxies in `networks`, which write the chain into `header`.
    pub fn new(networks: Vec<IpNet>, header: ForwardedHeader) -> TrustedProxies {
        TrustedProxies { networks, header }
    }

    /// Whether any proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.networks.is_empty()
    }

    fn trusts(&self, address: IpAddr) -> bool {
        self.networks.iter().any(|network| network.contains(&address))
    }

    /// The client's address for a request that came from `peer` with `headers`.
    pub fn client_address(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.trusts(client) {
            return client;
        }
        let chain = forwarded_chain(headers, self.header);
        for entry in chain.iter().rev() {
            if !self.trusts(client) {
                break;
            }
            match entry {
                Some(address) => client = address.to_canonical(),
                None => break,
            }
        }
        client
    }
}

/// The chain's entries, left to right, across every line of the header; `None` for an entry that names no address.
fn forwarded_chain(headers: &HeaderMap, header: ForwardedHeader) -> Vec<Option<IpAddr>> {
    let name = match header {
        ForwardedHeader::XForwardedFor => "x-forwarded-for",
        ForwardedHeader::Forwarded => "forwarded",
    };
    let mut chain = Vec::new();
    for line in headers.get_all(name) {
        // A line that is not text cannot be trusted in any part.
        let Ok(line) = line.to_str() else {
            chain.push(None);
            continue;
        };
        for element in line.split(',') {
            chain.push(match header {
                ForwardedHeader::XForwardedFor => parse_node(element),
                ForwardedHeader::Forwarded => forwarded_for(element),
            });
        }
    }
    chain
}

/// The `for=` parameter of one `Forwarded` element.
fn forwarded_for(element: &str) -> Option<IpAddr> {
    element.split(';').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        name.trim().eq_ignore_ascii_case("for").then(|| parse_node(value.trim().trim_matches('"'))).flatten()
    })
}

/// An address, with or without a port: `192.0.2.1`, `192.0.2.1:80`, `2001:db8::1`, `[2001:db8::1]:80`.
fn parse_node(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    if let Ok(address) = IpAddr::from_str(text) {
        return Some(address);
    }
    if let Some(rest) = text.strip_prefix('[') {
        let (address, after) = rest.split_once(']')?;
        if !(after.is_empty() || after.strip_prefix(':').is_some_and(|port| port.parse::<u16>().is_ok())) {
            return None;
        }
        return IpAddr::from_str(address).ok().filter(IpAddr::is_ipv6);
    }
    let (address, port) = text.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    IpAddr::from_str(address).ok().filter(IpAddr::is_ipv4)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(name: &str, lines: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append(axum::http::HeaderName::from_str(name).unwrap(), HeaderValue::from_str(line).unwrap());
        }
        headers
    }

    fn address(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn proxies(ranges: &[&str], header: ForwardedHeader) -> TrustedProxies {
        TrustedProxies::new(ranges.iter().map(|range| parse_trusted_proxy(range).unwrap()).collect(), header)
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let trusted = proxies(&["10.0.0.0/8"], ForwardedHeader::XForwardedFor);
        let spoofed = headers("x-forwarded-for", &["203.0.113.9"]);
        assert_eq!(trusted.client_address(address("198.51.100.7"), &spoofed), address("198.51.100.7"));
        assert_eq!(TrustedProxies::default().client_address(address("10.1.2.3"), &spoofed), address("10.1.2.3"));
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_address_is_the_client() {
        let trusted = proxies(&["10.0.0.0/8", "192.168.1.1"], ForwardedHeader::XForwardedFor);
        // The client put a made-up address first; the proxies appended the real one and each other.
        let chain = headers("x-forwarded-for", &["6.6.6.6, 198.51.100.7", "192.168.1.1"]);
        assert_eq!(trusted.client_address(address("10.0.0.2"), &chain), address("198.51.100.7"));
        // Ports and brackets as some proxies write them.
        let chain = headers("x-forwarded-for", &["[2001:db8::7]:4711, 198.51.100.7:80"]);
        assert_eq!(trusted.client_address(address("10.0.0.2"), &chain), address("198.51.100.7"));
        // Every hop trusted: the left-most is the nearest thing to a client there is.
        let chain = headers("x-forwarded-for", &["10.9.9.9, 10.0.0.3"]);
        assert_eq!(trusted.client_address(address("10.0.0.2"), &chain), address("10.9.9.9"));
        // No header: the proxy itself.
        assert_eq!(trusted.client_address(address("10.0.0.2"), &HeaderMap::new()), address("10.0.0.2"));
    }

    #[test]
    fn an_unreadable_entry_stops_at_the_proxy_that_wrote_it() {
        let trusted = proxies(&["10.0.0.0/8"], ForwardedHeader::XForwardedFor);
        let chain = headers("x-forwarded-for", &["198.51.100.7, not-an-address"]);
        assert_eq!(trusted.client_address(address("10.0.0.2"), &chain), address("10.0.0.2"));
        let chain = headers("x-forwarded-for", &["198.51.100.7, unknown, 10.0.0.5"]);
        assert_eq!(trusted.client_address(address("10.0.0.2"), &chain), address("10.0.0.5"));
    }

    #[test]
    fn the_forwarded_header_is_read_when_configured_and_only_then() {
        let trusted = proxies(&["10.0.0.0/8"], ForwardedHeader::Forwarded);
        let chain = headers("forwarded", &["for=6.6.6.6, for=\"[2001:db8:cafe::17]:4711\";proto=https, for=10.0.0.9"]);
        assert_eq!(trusted.client_address(address("10.0.0.2"), &chain), address("2001:db8:cafe::17"));
        let hidden = headers("forwarded", &["for=198.51.100.7, for=_hidden"]);
        assert_eq!(trusted.client_address(address("10.0.0.2"), &hidden), address("10.0.0.2"));
        // A proxy that writes Forwarded does not vouch for an X-Forwarded-For the client sent.
        let spoofed = headers("x-forwarded-for", &["6.6.6.6"]);
        assert_eq!(trusted.client_address(address("10.0.0.2"), &spoofed), address("10.0.0.2"));
    }

    #[test]
    fn mapped_ipv4_addresses_match_ipv4_ranges() {
        let trusted = proxies(&["127.0.0.1/32"], ForwardedHeader::XForwardedFor);
        let chain = headers("x-forwarded-for", &["198.51.100.7"]);
        assert_eq!(trusted.client_address(address("::ffff:127.0.0.1"), &chain), address("198.51.100.7"));
    }

    #[test]
    fn trusted_proxy_ranges_parse() {
        assert_eq!(parse_trusted_proxy("10.1.2.3/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(parse_trusted_proxy("10.1.2.3").unwrap().to_string(), "10.1.2.3/32");
        assert_eq!(parse_trusted_proxy("2001:db8::/32").unwrap().to_string(), "2001:db8::/32");
        assert!(parse_trusted_proxy("10.0.0.0/33").is_err());
        assert!(parse_trusted_proxy("proxy.internal").is_err());
    }
}
