//! The `hosts.toml` files brrt writes (its marker line, then TOML the toml crate writes, so
//! quoting is always right), and what the first line and the tables of one say.

use super::MANAGED_MARKER;
use serde::Serialize;
use std::collections::BTreeMap;

/// A `hosts.toml` as containerd reads it: the upstream's own server, and the hosts to try first.
#[derive(Serialize)]
struct HostsToml<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    server: Option<&'a str>,
    /// containerd ignores a file with no `[host]` table, so there is always one.
    host: BTreeMap<&'a str, HostEntry<'a>>,
}

#[derive(Serialize)]
struct HostEntry<'a> {
    capabilities: [&'static str; 2],
    /// The URL's path is the root of the registry API there (containerd adds `/v2` otherwise).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    override_path: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    header: BTreeMap<&'static str, &'a str>,
}

/// The file's text: brrt's marker line, then the TOML that serde and the toml crate write, so
/// quoting is always right.
fn render(comment: &str, server: Option<&str>, host: &str, entry: HostEntry<'_>) -> String {
    let file = HostsToml {
        server,
        host: BTreeMap::from([(host, entry)]),
    };
    let toml = toml::to_string(&file).expect("hosts.toml is plain strings and tables");
    format!("{MANAGED_MARKER} {comment}\n{toml}")
}

/// Renders the `hosts.toml` that sends pulls for `upstream` to `mirror_url` first. `server` is
/// where containerd falls back when the mirror cannot serve (the real registry), if any.
pub fn mirror_hosts(upstream: &str, mirror_url: &str, server: Option<&str>) -> String {
    mirror_hosts_from(upstream, mirror_url, server, None)
}

/// [`mirror_hosts`], saying in its first line which config wired it (an absolute path): another
/// run that shares the registry it names can read what that config wants (see
/// [`wired_from`]). A path that is not one plain line is left out.
pub fn mirror_hosts_from(
    upstream: &str,
    mirror_url: &str,
    server: Option<&str>,
    config: Option<&str>,
) -> String {
    let entry = HostEntry {
        capabilities: ["pull", "resolve"],
        override_path: false,
        header: BTreeMap::new(),
    };
    let config = config
        .filter(|c| c.starts_with('/') && !c.contains(char::is_control) && !c.contains(EDIT_END))
        .unwrap_or("brrt.toml");
    render(
        &format!("for {upstream}: edit {config}{EDIT_END}"),
        server,
        mirror_url,
        entry,
    )
}

/// How the first line of a mirror brrt wrote ends, after the config it names.
const EDIT_END: &str = ", not this file.";

/// The config that wired a hosts.toml brrt wrote, as its first line names it (an absolute
/// path); `None` for a file brrt did not write, or one that names no path.
pub fn wired_from(text: &str) -> Option<String> {
    let first = text.lines().next()?.strip_prefix(MANAGED_MARKER)?;
    let (_, rest) = first.split_once(": edit ")?;
    let path = rest.strip_suffix(EDIT_END)?;
    path.starts_with('/').then(|| path.to_string())
}

/// The hosts a hosts.toml sends pulls to first (its `[host."…"]` tables), as written.
pub fn mirror_urls(text: &str) -> Vec<String> {
    toml::from_str::<toml::Table>(text)
        .ok()
        .and_then(|t| t.get("host").and_then(toml::Value::as_table).cloned())
        .map(|hosts| hosts.keys().cloned().collect())
        .unwrap_or_default()
}

/// Renders the `hosts.toml` that sends pulls for `upstream` straight to a team cache at
/// `endpoint` (`[cache.shared]`), falling back to `server`. An endpoint with a path
/// (`https://cache.team.example/v2/dockerhub`) is the root of the registry API there, which
/// containerd is told with `override_path = true` (it would add `/v2` itself otherwise).
/// `authorization`, when given, is sent with every request (a `Basic …` value).
pub fn shared_hosts(
    upstream: &str,
    endpoint: &str,
    server: Option<&str>,
    authorization: Option<&str>,
) -> String {
    let endpoint = endpoint.trim_end_matches('/');
    let path = endpoint
        .split_once("://")
        .map_or("", |(_, rest)| rest.split_once('/').map_or("", |(_, p)| p));
    let entry = HostEntry {
        capabilities: ["pull", "resolve"],
        override_path: !path.is_empty(),
        header: authorization
            .map(|auth| BTreeMap::from([("authorization", auth)]))
            .unwrap_or_default(),
    };
    render(
        &format!(
            "for {upstream}: the team cache in [cache.shared]; edit brrt.toml, not this file."
        ),
        server,
        endpoint,
        entry,
    )
}

/// `Basic <base64(user:password)>`, as HTTP basic authentication sends it.
pub fn basic_authorization(user: &str, password: &str) -> String {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_toml_is_valid_and_names_the_mirror() {
        let text = mirror_hosts(
            "docker.io",
            "http://kind-registry-docker-io:5000",
            Some("https://registry-1.docker.io"),
        );
        let parsed: toml::Value = toml::from_str(&text).unwrap();
        assert_eq!(
            parsed["server"].as_str(),
            Some("https://registry-1.docker.io")
        );
        let host = &parsed["host"]["http://kind-registry-docker-io:5000"];
        assert_eq!(host["capabilities"].as_array().unwrap().len(), 2);
        assert!(text.starts_with(MANAGED_MARKER));
    }

    #[test]
    fn a_mirror_names_the_config_that_wired_it() {
        let text = mirror_hosts_from(
            "docker.io",
            "http://brrt-cache-docker-io:5000",
            Some("https://registry-1.docker.io"),
            Some("/home/me/svc/brrt.toml"),
        );
        assert!(
            text.starts_with(
                "# Managed by brrt for docker.io: edit /home/me/svc/brrt.toml, not this file.\n"
            ),
            "{text}"
        );
        assert_eq!(wired_from(&text).as_deref(), Some("/home/me/svc/brrt.toml"));
        assert_eq!(mirror_urls(&text), ["http://brrt-cache-docker-io:5000"]);
        // No path, a relative one, or one that would break the comment line: none is named.
        for config in [None, Some("brrt.toml"), Some("/a\nserver = \"x\"")] {
            let text = mirror_hosts_from("docker.io", "http://c:5000", None, config);
            assert!(text.contains("edit brrt.toml, not this file."), "{text}");
            assert_eq!(wired_from(&text), None);
            assert!(toml::from_str::<toml::Table>(&text).is_ok(), "{text}");
        }
        assert_eq!(wired_from("server = \"https://x\"\n"), None);
    }

    #[test]
    fn a_team_cache_with_a_path_overrides_it() {
        let text = shared_hosts(
            "docker.io",
            "https://cache.team.example/v2/dockerhub",
            Some("https://registry-1.docker.io"),
            None,
        );
        let parsed: toml::Value = toml::from_str(&text).unwrap();
        let host = &parsed["host"]["https://cache.team.example/v2/dockerhub"];
        assert_eq!(host["override_path"].as_bool(), Some(true));
        assert_eq!(
            parsed["server"].as_str(),
            Some("https://registry-1.docker.io")
        );
        let plain = shared_hosts("docker.io", "http://teamcache:5000", None, None);
        assert!(!plain.contains("override_path"), "{plain}");
        let auth = shared_hosts("docker.io", "http://t:5000", None, Some("Basic dTpw"));
        let parsed: toml::Value = toml::from_str(&auth).unwrap();
        assert_eq!(
            parsed["host"]["http://t:5000"]["header"]["authorization"].as_str(),
            Some("Basic dTpw")
        );
    }

    #[test]
    fn basic_authorization_is_base64() {
        assert_eq!(basic_authorization("u", "p"), "Basic dTpw");
        assert_eq!(
            basic_authorization("Aladdin", "open sesame"),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        assert_eq!(basic_authorization("ab", "c"), "Basic YWI6Yw==");
    }
}
