//! The upstream catalogue: well-known registries, their real endpoints, and how a cache for one
//! is named and credentialed.

use crate::ops::{Error, Result};
use serde::Serialize;
use std::collections::BTreeMap;

/// Registries brrt knows, with the endpoint a pull-through cache must proxy.
pub const KNOWN_UPSTREAMS: &[(&str, &str)] = &[
    ("docker.io", "https://registry-1.docker.io"),
    ("gcr.io", "https://gcr.io"),
    ("quay.io", "https://quay.io"),
    ("ghcr.io", "https://ghcr.io"),
    ("registry.k8s.io", "https://registry.k8s.io"),
    ("public.ecr.aws", "https://public.ecr.aws"),
    ("mcr.microsoft.com", "https://mcr.microsoft.com"),
];

/// An upstream registry a cache serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Upstream {
    /// The name images use: `docker.io` in `docker.io/library/redis`.
    pub host: String,
    /// What the cache proxies: the real endpoint, or an override (a corporate mirror).
    pub remote: String,
    /// The real endpoint, which nodes fall back to when the cache is off. `None` for upstreams
    /// outside the catalogue.
    pub server: Option<String>,
}

/// Finds an upstream, with an optional override of its remote from `cache.remotes`.
pub fn resolve(host: &str, remotes: &BTreeMap<String, String>) -> Result<Upstream> {
    let known = KNOWN_UPSTREAMS
        .iter()
        .find(|(h, _)| *h == host)
        .map(|(_, r)| r.to_string());
    let remote = remotes
        .get(host)
        .cloned()
        .or_else(|| known.clone())
        .ok_or_else(|| {
            let names: Vec<&str> = KNOWN_UPSTREAMS.iter().map(|(h, _)| *h).collect();
            Error::InvalidSpec(format!(
            "unknown upstream `{host}`: brrt knows {}; for another registry, give its remote in \
             [cache.remotes], e.g. \"{host}\" = \"https://{host}\"",
            names.join(", ")
        ))
        })?;
    if !(remote.starts_with("http://") || remote.starts_with("https://")) {
        return Err(Error::InvalidSpec(format!(
            "remote `{remote}` for upstream `{host}` must start with http:// or https://"
        )));
    }
    Ok(Upstream {
        host: host.to_string(),
        remote,
        server: known,
    })
}

/// The upstream a pull-through cache's remote URL stands for: the upstream `remotes` (the
/// config's `cache.remotes`) gives that remote, else the catalogue's
/// (`https://registry-1.docker.io` → `docker.io`). A trailing `/` and the scheme's case do not
/// matter; Docker Hub's other names are Docker Hub.
pub fn host_for_remote(remote: &str, remotes: &BTreeMap<String, String>) -> Option<String> {
    let norm = |url: &str| url.trim().trim_end_matches('/').to_ascii_lowercase();
    let wanted = norm(remote);
    if let Some((host, _)) = remotes.iter().find(|(_, r)| norm(r) == wanted) {
        return Some(host.clone());
    }
    if let Some((host, _)) = KNOWN_UPSTREAMS.iter().find(|(_, r)| norm(r) == wanted) {
        return Some(host.to_string());
    }
    let host = wanted
        .strip_prefix("https://")
        .or_else(|| wanted.strip_prefix("http://"))?;
    match host {
        "docker.io" | "index.docker.io" | "registry.hub.docker.com" => Some("docker.io".into()),
        other => KNOWN_UPSTREAMS
            .iter()
            .find(|(h, _)| *h == other)
            .map(|(h, _)| h.to_string()),
    }
}

/// Checks that `host` is a registry host as image references name it: DNS labels of lowercase
/// letters, digits and `-`, joined by dots, with an optional `:port` (`docker.io`,
/// `registry.k8s.io`, `localhost:5001`).
pub fn check_host(host: &str) -> std::result::Result<(), String> {
    let bad = |why: &str| {
        Err(format!(
            "`{host}` is not a registry host ({why}); write it as images name it, e.g. \"docker.io\" or \"registry.example.com:5000\""
        ))
    };
    let (name, port) = match host.rsplit_once(':') {
        Some((n, p)) => (n, Some(p)),
        None => (host, None),
    };
    if let Some(p) = port {
        if !p.parse::<u16>().is_ok_and(|p| p > 0) {
            return bad("the port is not a number from 1 to 65535");
        }
    }
    if name.is_empty() || name.len() > 253 {
        return bad("it is empty or too long");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
    {
        return bad("only lowercase letters, digits, `-` and `.` are allowed");
    }
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return bad("an empty or over-long part between dots");
        }
        if !label
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return bad("only lowercase letters, digits, `-` and `.` are allowed");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return bad("a part starts or ends with `-`");
        }
    }
    Ok(())
}

/// The set of caches every config on an engine shares unless it names another
/// (`cache.name`): one cache per upstream, `brrt-cache-docker-io`, serving every cluster.
pub const DEFAULT_CACHE_SET: &str = "brrt-cache";

/// The cache container for `host` in the set of caches named `set`:
/// `brrt-cache` + `docker.io` → `brrt-cache-docker-io`. (Before caches were shared, the set was
/// the push registry's name: `kind-registry-docker-io`.)
pub fn cache_name(set: &str, host: &str) -> String {
    let slug: String = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    format!("{set}-{slug}")
}

/// The environment variables holding credentials for `host`:
/// `docker.io` → (`BRRT_DOCKER_IO_USERNAME`, `BRRT_DOCKER_IO_PASSWORD`).
pub fn credential_vars(host: &str) -> (String, String) {
    let slug: String = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    (
        format!("BRRT_{slug}_USERNAME"),
        format!("BRRT_{slug}_PASSWORD"),
    )
}

/// Credentials a flow carried over for an upstream in this process (migrate, from the old
/// proxy it replaces), used where `BRRT_<UPSTREAM>_USERNAME/_PASSWORD` are not set. Never
/// written anywhere brrt keeps.
static CARRIED: std::sync::Mutex<BTreeMap<String, (String, String)>> =
    std::sync::Mutex::new(BTreeMap::new());

/// The user and password for `host`: from `BRRT_<UPSTREAM>_USERNAME` and `_PASSWORD`, else
/// those a flow carried over in this process.
pub fn credentials(host: &str) -> Option<(String, String)> {
    let (user_var, pass_var) = credential_vars(host);
    if let (Ok(user), Ok(pass)) = (std::env::var(&user_var), std::env::var(&pass_var)) {
        return Some((user, pass));
    }
    CARRIED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(host)
        .cloned()
}

/// Uses `user` and `password` for `host` for the rest of this process, unless its variables
/// are set.
pub fn carry_credentials(host: &str, user: String, password: String) {
    CARRIED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(host.to_string(), (user, password));
}

/// A URL without the user and password it may hold (`https://u:p@host/x` → `https://host/x`),
/// and whether it held any: what brrt may print or keep of it.
pub fn without_credentials(url: &str) -> (String, bool) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return (url.to_string(), false);
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => (format!("{scheme}://{}", &rest[at + 1..]), true),
        None => (url.to_string(), false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_overridden_upstreams() {
        let none = BTreeMap::new();
        assert_eq!(
            resolve("docker.io", &none).unwrap().remote,
            "https://registry-1.docker.io"
        );
        let over = BTreeMap::from([("docker.io".to_string(), "http://upstream:5000".to_string())]);
        let u = resolve("docker.io", &over).unwrap();
        assert_eq!(
            (u.remote.as_str(), u.server.as_deref()),
            ("http://upstream:5000", Some("https://registry-1.docker.io"))
        );
        let err = resolve("example.com", &none).unwrap_err().to_string();
        assert!(err.contains("docker.io, gcr.io, quay.io"), "{err}");
    }

    #[test]
    fn a_remote_maps_back_to_its_upstream() {
        let none = BTreeMap::new();
        for (remote, host) in [
            ("https://registry-1.docker.io", "docker.io"),
            ("https://registry-1.docker.io/", "docker.io"),
            ("https://index.docker.io", "docker.io"),
            ("https://quay.io", "quay.io"),
            ("https://registry.k8s.io", "registry.k8s.io"),
        ] {
            assert_eq!(
                host_for_remote(remote, &none).as_deref(),
                Some(host),
                "{remote}"
            );
        }
        assert_eq!(host_for_remote("https://mirror.example.com", &none), None);
        let over = BTreeMap::from([("docker.io".to_string(), "http://upstream:5000".to_string())]);
        assert_eq!(
            host_for_remote("http://upstream:5000/", &over).as_deref(),
            Some("docker.io")
        );
    }

    #[test]
    fn urls_lose_their_credentials() {
        assert_eq!(
            without_credentials("https://robot:s3cret@mirror.example.com/v2/hub"),
            ("https://mirror.example.com/v2/hub".to_string(), true)
        );
        assert_eq!(
            without_credentials("http://up:5000"),
            ("http://up:5000".to_string(), false)
        );
        assert_eq!(
            without_credentials("https://a:b@c@host"),
            ("https://host".to_string(), true)
        );
        assert_eq!(
            without_credentials("https://host/p@th"),
            ("https://host/p@th".to_string(), false)
        );
    }

    #[test]
    fn names_and_credentials() {
        assert_eq!(
            cache_name("kind-registry", "registry.k8s.io"),
            "kind-registry-registry-k8s-io"
        );
        assert_eq!(credential_vars("docker.io").1, "BRRT_DOCKER_IO_PASSWORD");
    }

    #[test]
    fn hosts_are_dns_names_with_an_optional_port() {
        for good in [
            "docker.io",
            "registry.k8s.io",
            "localhost:5001",
            "a-b.example",
        ] {
            assert!(check_host(good).is_ok(), "{good}");
        }
        for bad in [
            "../../etc",
            "Docker.io",
            "docker.io:0",
            "-x.io",
            "a..b",
            "",
            "a/b",
            "x:y",
        ] {
            assert!(check_host(bad).is_err(), "{bad}");
        }
    }
}
