//! The client's address: the socket's peer, or — only when that peer is a trusted proxy —
//! the address the proxies recorded in `Forwarded` or `X-Forwarded-For`.

use std::net::{IpAddr, SocketAddr};

use http::HeaderMap;
use ipnet::IpNet;

/// The address a request came from, as the edge resolved it; an extension of every
/// request, read by the rate limits and the sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientAddr(pub IpAddr);

/// `TRUSTED_PROXIES`: the proxies whose forwarding headers are believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// These networks (a single address is a /32 or /128).
    pub fn new(networks: Vec<IpNet>) -> Self {
        Self(networks)
    }

    /// Reads `10.0.0.0/8` or `127.0.0.1`.
    pub fn parse_entry(text: &str) -> Option<IpNet> {
        text.parse::<IpNet>().ok().or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from))
    }

    fn trusts(&self, addr: IpAddr) -> bool {
        self.0.iter().any(|network| network.contains(&canonical(addr)))
    }

    /// The client of a request whose socket peer is `peer`.
    ///
    /// Without a trusted peer the headers are ignored (anyone can write them). Behind
    /// trusted proxies the chain is read from the right — each proxy appends the address
    /// it saw — and the first address that is not a trusted proxy is the client. An
    /// entry that does not parse ends the walk at the last address known good.
    pub fn client_of(&self, peer: SocketAddr, headers: &HeaderMap) -> ClientAddr {
        let mut client = canonical(peer.ip());
        if !self.trusts(client) {
            return ClientAddr(client);
        }
        for hop in forwarded_chain(headers).into_iter().rev() {
            let Some(addr) = hop else { break };
            client = addr;
            if !self.trusts(addr) {
                break;
            }
        }
        ClientAddr(client)
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`) as the IPv4 address they are.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        IpAddr::V4(_) => addr,
    }
}

/// The forwarding chain, oldest first: `Forwarded`'s `for=` values when the header is
/// there (RFC 7239), else `X-Forwarded-For`. `None` marks an entry that does not parse
/// (an obfuscated identifier, `unknown`, garbage).
fn forwarded_chain(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let values = |name: &str| -> Vec<String> {
        headers.get_all(name).iter().filter_map(|value| value.to_str().ok()).map(str::to_owned).collect()
    };
    let forwarded = values("forwarded");
    if !forwarded.is_empty() {
        return forwarded
            .iter()
            .flat_map(|value| value.split(','))
            .map(|element| {
                let node = element.split(';').find_map(|pair| {
                    let (key, value) = pair.trim().split_once('=')?;
                    key.trim().eq_ignore_ascii_case("for").then(|| value.trim().trim_matches('"'))
                });
                node.and_then(parse_node)
            })
            .collect();
    }
    values("x-forwarded-for").iter().flat_map(|value| value.split(',')).map(|entry| parse_node(entry.trim())).collect()
}

/// `1.2.3.4`, `1.2.3.4:80`, `[2001:db8::1]`, `[2001:db8::1]:443` or `2001:db8::1`.
fn parse_node(node: &str) -> Option<IpAddr> {
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split_once(']').and_then(|(addr, _)| addr.parse().ok()).map(canonical);
    }
    node.parse::<IpAddr>()
        .ok()
        .or_else(|| node.parse::<SocketAddr>().ok().map(|socket| socket.ip()))
        .or_else(|| node.rsplit_once(':').and_then(|(addr, _)| addr.parse().ok()))
        .map(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(list: &[&str]) -> TrustedProxies {
        TrustedProxies::new(list.iter().map(|entry| TrustedProxies::parse_entry(entry).unwrap()).collect())
    }

    fn client(trusted: &TrustedProxies, peer: &str, headers: &[(&str, &str)]) -> String {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(http::HeaderName::from_bytes(name.as_bytes()).unwrap(), value.parse().unwrap());
        }
        trusted.client_of(peer.parse().unwrap(), &map).0.to_string()
    }

    #[test]
    fn headers_from_an_untrusted_peer_are_ignored() {
        let none = TrustedProxies::default();
        assert_eq!(client(&none, "203.0.113.9:5000", &[("x-forwarded-for", "1.1.1.1")]), "203.0.113.9");
        let local = proxies(&["127.0.0.1"]);
        assert_eq!(client(&local, "203.0.113.9:5000", &[("forwarded", "for=1.1.1.1")]), "203.0.113.9");
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_address_is_the_client() {
        let trusted = proxies(&["127.0.0.1", "10.0.0.0/8"]);
        let peer = "127.0.0.1:40000";
        assert_eq!(client(&trusted, peer, &[("x-forwarded-for", "198.51.100.7")]), "198.51.100.7");
        // A client that writes its own header cannot choose its address.
        let forged = [("x-forwarded-for", "6.6.6.6, 198.51.100.7, 10.1.2.3")];
        assert_eq!(client(&trusted, peer, &forged), "198.51.100.7");
        let forwarded = [("forwarded", "for=6.6.6.6, for=\"[2001:db8::17]:4711\";proto=https")];
        assert_eq!(client(&trusted, peer, &forwarded), "2001:db8::17");
        assert_eq!(
            client(&trusted, "[::ffff:127.0.0.1]:1", &[("x-forwarded-for", "198.51.100.8:443")]),
            "198.51.100.8"
        );
        // Garbage stops the walk at the last good hop.
        assert_eq!(client(&trusted, peer, &[("x-forwarded-for", "6.6.6.6, nonsense, 10.0.0.5")]), "10.0.0.5");
        assert_eq!(client(&trusted, peer, &[]), "127.0.0.1");
    }
}
