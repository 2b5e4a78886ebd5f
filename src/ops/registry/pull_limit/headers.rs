//! What an upstream's answer says, read: the rate-limit headers (`100;w=21600`), the
//! `WWW-Authenticate` challenge, and which token service may be given a user's credentials.

use std::collections::BTreeMap;

/// `100;w=21600` → (100, Some(21600)).
pub(super) fn parse_quota(value: &str) -> Option<(u64, Option<u64>)> {
    let mut parts = value.split(';');
    let n = parts.next()?.trim().parse().ok()?;
    let w = parts
        .filter_map(|p| p.trim().strip_prefix("w="))
        .find_map(|w| w.trim().parse().ok());
    Some((n, w))
}

/// The scheme and parameters of a `WWW-Authenticate` challenge:
/// `Bearer realm="…",service="…"` → ("bearer", {realm, service}).
pub(super) fn parse_challenge(header: &str) -> (String, BTreeMap<String, String>) {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    let mut params = BTreeMap::new();
    let mut rest = rest.trim();
    while let Some(eq) = rest.find('=') {
        let key = rest[..eq]
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        rest = rest[eq + 1..].trim_start();
        let value;
        if let Some(quoted) = rest.strip_prefix('"') {
            let mut out = String::new();
            let mut end = quoted.len();
            let mut chars = quoted.char_indices();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            out.push(n);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => out.push(c),
                }
            }
            value = out;
            rest = quoted[end..].trim_start().trim_start_matches(',');
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            value = rest[..end].trim().to_string();
            rest = rest[end..].trim_start_matches(',');
        }
        params.insert(key, value);
        rest = rest.trim_start();
    }
    (scheme.to_ascii_lowercase(), params)
}

/// Whether credentials meant for `remote` may go to the token service at `realm`: the same
/// host, or (for names) the same registrable domain, as `auth.docker.io` is for
/// `registry-1.docker.io`. Never to another IP address or to `localhost`.
pub(super) fn realm_may_have_credentials(remote: &reqwest::Url, realm: &reqwest::Url) -> bool {
    let (Some(a), Some(b)) = (remote.host_str(), realm.host_str()) else {
        return false;
    };
    let (a, b) = (a.to_ascii_lowercase(), b.to_ascii_lowercase());
    if a == b {
        return true;
    }
    let literal =
        |h: &str| h == "localhost" || h.parse::<std::net::IpAddr>().is_ok() || h.starts_with('[');
    if literal(&a) || literal(&b) {
        return false;
    }
    let domain = |h: &str| {
        let labels: Vec<&str> = h.rsplit('.').take(2).collect();
        (labels.len() == 2).then(|| format!("{}.{}", labels[1], labels[0]))
    };
    domain(&a).is_some() && domain(&a) == domain(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas_and_windows_read_as_docker_hub_writes_them() {
        assert_eq!(parse_quota("100;w=21600"), Some((100, Some(21600))));
        assert_eq!(parse_quota("76"), Some((76, None)));
        assert_eq!(parse_quota("x;w=1"), None);
    }

    #[test]
    fn challenges_are_read_with_their_quoted_commas() {
        let (scheme, p) = parse_challenge(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a/b:pull,push""#,
        );
        assert_eq!(scheme, "bearer");
        assert_eq!(p["realm"], "https://auth.docker.io/token");
        assert_eq!(p["service"], "registry.docker.io");
        assert_eq!(p["scope"], "repository:a/b:pull,push");
        let (scheme, p) = parse_challenge(r#"Basic realm="Registry Realm""#);
        assert_eq!(
            (scheme.as_str(), p["realm"].as_str()),
            ("basic", "Registry Realm")
        );
    }

    #[test]
    fn credentials_go_to_the_remotes_own_token_service_only() {
        let url = |u: &str| reqwest::Url::parse(u).unwrap();
        let hub = url("https://registry-1.docker.io");
        assert!(realm_may_have_credentials(
            &hub,
            &url("https://auth.docker.io/token")
        ));
        assert!(!realm_may_have_credentials(
            &hub,
            &url("https://auth.example.com/token")
        ));
        let ip = url("http://192.0.2.1:5000");
        assert!(realm_may_have_credentials(
            &ip,
            &url("http://192.0.2.1:5000/token")
        ));
        assert!(!realm_may_have_credentials(
            &ip,
            &url("http://192.0.2.2/token")
        ));
    }
}
