//! This machine's own addresses: which hosts name it, and the URL that reaches a port a
//! container publishes on one.

use std::net::IpAddr;

/// Whether `host` (a host name or IP, with or without `:port`, an IPv6 address bare or in
/// brackets) names this machine: `localhost`, `127.0.0.1` (any of 127/8), `::1`, `[::1]:5001`.
pub fn is_loopback_host(host: &str) -> bool {
    let bare = bare_host(host);
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The host part of `host[:port]`: brackets and port dropped; an IPv6 address without
/// brackets is taken whole.
fn bare_host(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split_once(']').map_or(rest, |(ip, _)| ip);
    }
    if host.parse::<IpAddr>().is_ok() {
        return host;
    }
    host.rsplit_once(':').map_or(host, |(h, _)| h)
}

/// `http://IP:PORT` that reaches a port published as `IP:PORT` (as Docker reports it, an IPv6
/// address without brackets) from this machine: an unspecified IP (empty, `0.0.0.0`, `::`)
/// means every address, so loopback; an IPv6 address is put in brackets.
pub fn loopback_url(published: &str) -> String {
    let (ip, port) = published.rsplit_once(':').unwrap_or(("", published));
    let ip = ip.trim_start_matches('[').trim_end_matches(']');
    match ip {
        "" | "0.0.0.0" | "::" => format!("http://127.0.0.1:{port}"),
        v6 if v6.contains(':') => format!("http://[{v6}]:{port}"),
        v4 => format!("http://{v4}:{port}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_machines_names_are_loopback() {
        for host in [
            "localhost",
            "LOCALHOST:5001",
            "127.0.0.1",
            "127.0.0.1:5001",
            "127.1.2.3",
            "::1",
            "[::1]",
            "[::1]:5001",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "docker.io",
            "ghcr.io:443",
            "10.0.0.1",
            "0.0.0.0",
            "::",
            "[2001:db8::1]:5000",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn published_addresses_are_reached_through_loopback() {
        assert_eq!(loopback_url("0.0.0.0:4000"), "http://127.0.0.1:4000");
        assert_eq!(loopback_url(":4000"), "http://127.0.0.1:4000");
        assert_eq!(loopback_url(":::4000"), "http://127.0.0.1:4000");
        assert_eq!(loopback_url("4000"), "http://127.0.0.1:4000");
        assert_eq!(loopback_url("127.0.0.1:5001"), "http://127.0.0.1:5001");
        assert_eq!(loopback_url("::1:5001"), "http://[::1]:5001");
        assert_eq!(loopback_url("[::1]:5001"), "http://[::1]:5001");
        assert_eq!(loopback_url("192.168.1.5:5001"), "http://192.168.1.5:5001");
    }
}
