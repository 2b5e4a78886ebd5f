//! brrt.toml, checked against a typed schema before any flow acts on it.
//!
//! A config is read whole and checked whole: unknown keys (with a "did you mean"), wrong types,
//! names Docker would refuse, upstreams that are not registry hosts, and two upstreams whose
//! caches would share a container. Only a config that passes every check reaches a script, with
//! every default filled in, so a flow never starts changing things from a config it would
//! later reject. An empty file is an error, never "all defaults": it is what an editor leaves
//! for a moment while it saves in place.
//!
//! The `[team]` table is the team's own: it is passed to scripts unchecked.

mod lookup;
mod raw;
mod wording;

pub use lookup::lookup;

use crate::ops::upstream;
use crate::ops::warm::ImageRef;
use crate::ops::ConfigError;
use raw::{At, RawConfig};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

/// The upstreams cached when the config names none.
pub const DEFAULT_UPSTREAMS: [&str; 5] = [
    "docker.io",
    "gcr.io",
    "quay.io",
    "ghcr.io",
    "registry.k8s.io",
];

/// A checked config, defaults filled in. This is the map scripts get from `config::brrt`.
#[derive(Debug, Clone, Serialize)]
pub struct BrrtConfig {
    /// The file it was read from, as the user named it.
    pub path: String,
    /// The same file as an absolute path, when the reader knows it (`config::brrt` does): the
    /// nodes' mirrors name it, so that another config sharing a cache can read what it wants.
    pub file: String,
    pub cluster: ClusterConfig,
    pub registry: RegistryConfig,
    pub cache: CacheConfig,
    /// The team's own keys, unchecked.
    pub team: serde_json::Map<String, serde_json::Value>,
    /// Things that are allowed but worth saying (a registry reachable from the network).
    #[serde(skip)]
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClusterConfig {
    pub name: String,
    /// The Docker network of the nodes and the registries: `kind` unless set. Flows take it
    /// from the nodes when they exist (see `ops::kind::cluster_network`).
    pub network: String,
    /// Where `network` was set (`brrt.toml:3`), or `None` when it is the default.
    pub network_at: Option<String>,
    /// The kubeconfig context of the cluster's API server: `kind-<name>` unless set.
    pub context: String,
    /// Whether dev-up creates the cluster (with the kind CLI) when it does not exist.
    pub create: bool,
    /// Worker nodes of a cluster dev-up creates, beside its control plane.
    pub workers: u32,
    /// The node image of a cluster dev-up creates; kind's default when unset.
    pub node_image: Option<String>,
    /// Registry hosts whose hosts.toml in the nodes brrt may replace though it did not write
    /// it, keeping the original beside it and putting it back when done with the host.
    pub take_over_mirrors: Vec<String>,
}

/// The most workers a created cluster may have: each is a container running containerd and
/// kubelet, on a laptop.
const MAX_WORKERS: i64 = 20;

#[derive(Debug, Clone, Serialize)]
pub struct RegistryConfig {
    pub name: String,
    pub port: u16,
    pub image: String,
    /// Always an IP literal (`localhost` is written as `127.0.0.1`).
    pub host_ip: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CacheConfig {
    /// What the caches are named after: `<name>-<upstream>` (`brrt-cache-docker-io`). Every
    /// config on an engine that names the same set shares its caches, one per upstream.
    pub name: String,
    pub enabled: bool,
    pub offline: bool,
    pub upstreams: Vec<String>,
    pub image: String,
    pub ttl: Option<String>,
    pub remotes: BTreeMap<String, String>,
    /// Images `cache warm` pulls into the caches, as written.
    pub warm: Vec<String>,
    /// Manifests, folders of them and image lists `cache warm` reads, relative to the project
    /// folder (written relative to the config's folder).
    pub warm_files: Vec<String>,
    /// dev-up warms `warm` and `warm_files` once the caches are up.
    pub warm_on_up: bool,
    /// `[cache.shared]`: upstreams served by a team cache, host → endpoint. No local cache
    /// runs for them. (Scripts see it as `team_caches`: `shared` is a word Rhai reserves.)
    pub team_caches: BTreeMap<String, String>,
}

/// Every problem found in one config, in the order they appear in the file.
#[derive(Debug)]
pub struct InvalidConfig(pub Vec<ConfigError>);

impl fmt::Display for InvalidConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n\n")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for InvalidConfig {}

/// Checks the text of a brrt config. `path` is the file's name as errors should show it.
pub fn parse(path: &str, text: &str) -> Result<BrrtConfig, InvalidConfig> {
    if text.trim().is_empty() {
        return Err(InvalidConfig(vec![ConfigError::whole(
            path,
            "the config is empty. brrt never applies defaults from an empty file (an editor \
             saving in place leaves one for a moment); write at least one setting, e.g. \
             [cluster] name = \"brrt-dev\"",
        )]));
    }
    let raw: RawConfig = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        InvalidConfig(vec![ConfigError::at(
            path,
            text,
            span.start,
            explain(text, span.start, e.message()),
        )])
    })?;
    Checker {
        path,
        text,
        problems: Vec::new(),
        warnings: Vec::new(),
    }
    .check(raw)
}

/// What the deserializer said, in a user's words, with the key named.
fn explain(text: &str, offset: usize, message: &str) -> String {
    if let Some((field, known)) = wording::unknown_field(message) {
        let table = wording::table_above(&text[..offset.min(text.len())]);
        let place = match (&table, known.iter().any(|k| k == "cluster")) {
            (_, true) | (None, _) => "at the top level".to_string(),
            (Some(t), false) => format!("in [{t}]"),
        };
        let hint = match crate::suggest::closest(&field, known.iter().map(String::as_str)) {
            Some(k) => format!("; did you mean `{k}`?"),
            None => format!("; known keys: {}", known.join(", ")),
        };
        return format!(
            "unknown key `{field}` {place}{hint} (keys of your own flows go under [team])"
        );
    }
    let plain = wording::plain_types(message);
    match wording::key_at(text, offset) {
        Some(key) => format!("{key}: {plain}"),
        None => plain,
    }
}

struct Checker<'a> {
    path: &'a str,
    text: &'a str,
    problems: Vec<(usize, ConfigError)>,
    warnings: Vec<String>,
}

impl Checker<'_> {
    fn problem(&mut self, offset: usize, message: String) {
        let error = ConfigError::at(self.path, self.text, offset, message);
        self.problems.push((offset, error));
    }

    /// A problem with a URL that holds a user or password: the line is shown with them
    /// blanked, so the error never echoes a secret.
    fn credentials_problem(&mut self, offset: usize, url: &str, message: String) {
        let mut error = ConfigError::at(self.path, self.text, offset, message);
        let (plain, _) = upstream::without_credentials(url);
        let (scheme, _) = url.split_once("://").unwrap_or(("", ""));
        let shown = plain.replacen("://", "://***@", 1);
        error.snippet = error
            .snippet
            .map(|line| line.replace(url, if scheme.is_empty() { &plain } else { &shown }));
        self.problems.push((offset, error));
    }

    /// The error for a URL in `key` that holds a user or password: where the credentials go
    /// instead. The password is never repeated.
    fn refuse_credentials(&mut self, url: &At<String>, key: &str, host: &str) {
        let (plain, _) = upstream::without_credentials(url.get_ref());
        let (user_var, pass_var) = upstream::credential_vars(host);
        self.credentials_problem(
            url.span().start,
            url.get_ref(),
            format!(
                "{key}: the URL for `{host}` holds a user or password, and brrt.toml is no place \
                 for secrets (it is shared, and kept in git): write {plain:?} and set \
                 {user_var} and {pass_var} in the environment instead"
            ),
        );
    }

    /// The value of a string key, or `default`; problems with it are noted, not fatal, so that
    /// one run reports every problem.
    fn string(
        &mut self,
        value: Option<At<String>>,
        key: &str,
        default: &str,
        valid: fn(&str) -> Result<(), String>,
    ) -> String {
        let Some(value) = value else {
            return default.to_string();
        };
        if let Err(why) = valid(value.get_ref()) {
            self.problem(value.span().start, format!("{key}: {why}"));
        }
        value.into_inner()
    }

    fn check(mut self, raw: RawConfig) -> Result<BrrtConfig, InvalidConfig> {
        let cluster = self.cluster(raw.cluster.unwrap_or_default());

        let registry = raw.registry.unwrap_or_default();
        let port = match registry.port {
            None => 5001,
            Some(p) => u16::try_from(*p.get_ref())
                .ok()
                .filter(|p| *p > 0)
                .unwrap_or_else(|| {
                    self.problem(
                        p.span().start,
                        format!(
                            "registry.port: {} is not a port number; use one from 1 to 65535",
                            p.get_ref()
                        ),
                    );
                    0
                }),
        };
        let host_ip = match registry.host_ip {
            None => "127.0.0.1".to_string(),
            Some(ip) => self.host_ip(ip),
        };
        let registry = RegistryConfig {
            name: self.string(registry.name, "registry.name", "kind-registry", docker_name),
            port,
            image: self.string(
                registry.image,
                "registry.image",
                crate::ops::registry::DEFAULT_IMAGE,
                image_name,
            ),
            host_ip,
        };

        let cache = raw.cache.unwrap_or_default();
        let set = self.string(
            cache.name,
            "cache.name",
            upstream::DEFAULT_CACHE_SET,
            docker_name,
        );
        let remotes = self.remotes(cache.remotes.unwrap_or_default());
        let shared = self.shared(cache.shared.unwrap_or_default(), &remotes);
        let upstreams = match cache.upstreams {
            Some(list) => self.upstreams(list, &set, &remotes, &shared),
            None => DEFAULT_UPSTREAMS.map(String::from).to_vec(),
        };
        let image = self.string(cache.image, "cache.image", &registry.image, image_name);
        let ttl = cache.ttl.map(|t| {
            if let Err(why) = duration(t.get_ref()) {
                self.problem(t.span().start, format!("cache.ttl: {why}"));
            }
            t.into_inner()
        });
        let warm = cache
            .warm
            .unwrap_or_default()
            .into_iter()
            .map(|r| {
                if let Err(why) = ImageRef::parse(r.get_ref()) {
                    self.problem(
                        r.span().start,
                        format!(
                            "cache.warm: `{}` is not an image reference: {why}",
                            r.get_ref()
                        ),
                    );
                }
                r.into_inner()
            })
            .collect();
        let warm_files = self.warm_files(cache.warm_files.unwrap_or_default());
        let cache = CacheConfig {
            name: set,
            enabled: cache.enabled.unwrap_or(true),
            offline: cache.offline.unwrap_or(false),
            upstreams,
            image,
            ttl,
            remotes,
            warm,
            warm_files,
            warm_on_up: cache.warm_on_up.unwrap_or(false),
            team_caches: shared,
        };

        let team = match raw.team {
            Some(t) => serde_json::to_value(t)
                .ok()
                .and_then(|v| v.as_object().cloned())
                .unwrap_or_default(),
            None => serde_json::Map::new(),
        };

        if !self.problems.is_empty() {
            self.problems.sort_by_key(|(offset, _)| *offset);
            return Err(InvalidConfig(
                self.problems.into_iter().map(|(_, e)| e).collect(),
            ));
        }
        Ok(BrrtConfig {
            path: self.path.to_string(),
            file: String::new(),
            cluster,
            registry,
            cache,
            team,
            warnings: self.warnings,
        })
    }

    /// `[cluster]`: the kind cluster, its network, the context of its API server, and whether
    /// (and how) dev-up creates it.
    fn cluster(&mut self, raw: raw::RawCluster) -> ClusterConfig {
        let name = self.string(raw.name, "cluster.name", "brrt-dev", cluster_name);
        let network_at = raw.network.as_ref().map(|n| {
            let (line, _) = crate::ops::error::line_col(self.text, n.span().start);
            format!("{}:{line}", self.path)
        });
        let network = self.string(raw.network, "cluster.network", "kind", docker_name);
        let context = self.string(
            raw.context,
            "cluster.context",
            &crate::ops::k8s::kind_context(&name),
            context_name,
        );
        let create = raw.create.map(At::into_inner);
        let workers = match raw.workers {
            None => 0,
            Some(w) => {
                let n = *w.get_ref();
                if (0..=MAX_WORKERS).contains(&n) {
                    u32::try_from(n).unwrap_or(0)
                } else {
                    self.problem(
                        w.span().start,
                        format!(
                            "cluster.workers: {n} is not a number of worker nodes; use 0 (the \
                             control plane only) to {MAX_WORKERS}"
                        ),
                    );
                    0
                }
            }
        };
        let node_image = raw.node_image.map(|image| {
            if image_name(image.get_ref()).is_err() {
                let why = format!(
                    "`{}` is not an image reference, e.g. \"kindest/node:v1.33.1\"",
                    image.get_ref()
                );
                self.problem(image.span().start, format!("cluster.node_image: {why}"));
            }
            image.into_inner()
        });
        let take_over_mirrors = raw
            .take_over_mirrors
            .unwrap_or_default()
            .into_iter()
            .map(|host| {
                if let Err(why) = upstream::check_host(host.get_ref()) {
                    self.problem(
                        host.span().start,
                        format!("cluster.take_over_mirrors: {why}"),
                    );
                }
                host.into_inner()
            })
            .collect();
        if create != Some(true) && (workers > 0 || node_image.is_some()) {
            self.warnings.push(format!(
                "{}: cluster.workers and cluster.node_image are used only to create the cluster; \
                 set cluster.create = true for dev-up to create it",
                self.path
            ));
        }
        ClusterConfig {
            name,
            network,
            network_at,
            context,
            create: create.unwrap_or(false),
            workers,
            node_image,
            take_over_mirrors,
        }
    }

    /// An IP literal; `localhost` means 127.0.0.1. Anything beyond loopback is allowed, with a
    /// warning, because the registry then answers the whole network.
    fn host_ip(&mut self, ip: At<String>) -> String {
        let text = ip.get_ref().trim();
        let parsed = if text.eq_ignore_ascii_case("localhost") {
            Ok(IpAddr::from([127, 0, 0, 1]))
        } else {
            text.parse::<IpAddr>()
        };
        match parsed {
            Ok(addr) => {
                if !addr.is_loopback() {
                    self.warnings.push(format!(
                        "{}: registry.host_ip = \"{addr}\" makes the push registry reachable from \
                         the network, not only from this machine",
                        self.path
                    ));
                }
                addr.to_string()
            }
            Err(_) => {
                self.problem(
                    ip.span().start,
                    format!(
                        "registry.host_ip: `{text}` is not an IP address; use one such as \
                         \"127.0.0.1\" (this machine only, the default) or \"0.0.0.0\" (every \
                         network)"
                    ),
                );
                String::new()
            }
        }
    }

    fn remotes(&mut self, raw: BTreeMap<At<String>, At<String>>) -> BTreeMap<String, String> {
        let mut remotes = BTreeMap::new();
        for (host, url) in raw {
            if let Err(why) = upstream::check_host(host.get_ref()) {
                self.problem(host.span().start, format!("cache.remotes: {why}"));
            }
            let u = url.get_ref();
            if upstream::without_credentials(u).1 {
                self.refuse_credentials(&url, "cache.remotes", host.get_ref());
            } else if !(u.starts_with("http://") || u.starts_with("https://"))
                || u.contains(char::is_whitespace)
            {
                self.problem(
                    url.span().start,
                    format!(
                        "cache.remotes: the remote for `{}` must be an http:// or https:// URL, not `{u}`",
                        host.get_ref()
                    ),
                );
            }
            remotes.insert(host.into_inner(), url.into_inner());
        }
        remotes
    }

    /// Paths to read images from, written relative to the config's folder: returned relative
    /// to the project folder, as scripts resolve paths.
    fn warm_files(&mut self, raw: Vec<At<String>>) -> Vec<String> {
        let base = std::path::Path::new(self.path)
            .parent()
            .unwrap_or(std::path::Path::new(""));
        raw.into_iter()
            .filter_map(|f| {
                if f.get_ref().trim().is_empty() {
                    self.problem(f.span().start, "cache.warm_files: a path is empty".into());
                    return None;
                }
                let path = std::path::Path::new(f.get_ref());
                let full = if path.is_absolute() {
                    path.to_path_buf()
                } else {
                    base.join(path)
                };
                Some(full.to_string_lossy().into_owned())
            })
            .collect()
    }

    /// Team caches: a registry host each, and the endpoint nodes pull it from.
    fn shared(
        &mut self,
        raw: BTreeMap<At<String>, At<String>>,
        remotes: &BTreeMap<String, String>,
    ) -> BTreeMap<String, String> {
        let mut shared = BTreeMap::new();
        for (host, url) in raw {
            if let Err(why) = upstream::check_host(host.get_ref()) {
                self.problem(host.span().start, format!("cache.shared: {why}"));
            }
            if upstream::without_credentials(url.get_ref()).1 {
                self.refuse_credentials(&url, "cache.shared", host.get_ref());
            } else if let Err(why) = endpoint(url.get_ref()) {
                self.problem(
                    url.span().start,
                    format!(
                        "cache.shared: the team cache for `{}` {why}",
                        host.get_ref()
                    ),
                );
            }
            if remotes.contains_key(host.get_ref()) {
                self.warnings.push(format!(
                    "{}: `{}` is in both [cache.remotes] and [cache.shared]; nodes pull it from \
                     the team cache, so its remote is not used",
                    self.path,
                    host.get_ref()
                ));
            }
            shared.insert(
                host.into_inner(),
                url.into_inner().trim_end_matches('/').to_string(),
            );
        }
        shared
    }

    /// Each upstream is a registry host that brrt knows or that has a remote, listed once, and
    /// whose cache container name (in the set `set`, cache.name) no other upstream shares.
    fn upstreams(
        &mut self,
        list: Vec<At<String>>,
        set: &str,
        remotes: &BTreeMap<String, String>,
        shared: &BTreeMap<String, String>,
    ) -> Vec<String> {
        let mut by_cache: BTreeMap<String, String> = BTreeMap::new();
        let mut hosts = Vec::new();
        for host in list {
            let at = host.span().start;
            let name = host.into_inner();
            if let Err(why) = upstream::check_host(&name) {
                self.problem(at, format!("cache.upstreams: {why}"));
                continue;
            }
            let cache = upstream::cache_name(set, &name);
            match by_cache.get(&cache) {
                Some(first) if *first == name => {
                    self.problem(at, format!("cache.upstreams: `{name}` is listed twice"));
                    continue;
                }
                Some(first) => {
                    self.problem(
                        at,
                        format!(
                            "cache.upstreams: `{first}` and `{name}` would share one cache \
                             (container {cache} and its volume), so one would serve the other's \
                             images; keep only one of them"
                        ),
                    );
                    continue;
                }
                None => {}
            }
            by_cache.insert(cache, name.clone());
            // A team cache serves it: no local cache needs its remote.
            if shared.contains_key(&name) {
                hosts.push(name);
                continue;
            }
            if let Err(e) = upstream::resolve(&name, remotes) {
                self.problem(at, format!("cache.upstreams: {e}"));
                continue;
            }
            hosts.push(name);
        }
        hosts
    }
}

/// A kind cluster name: lowercase letters, digits, `-` and `.`.
fn cluster_name(name: &str) -> Result<(), String> {
    let ok = name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.len() <= 50;
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a kind cluster name; use lowercase letters, digits, `-` and `.` (at \
             most 50), e.g. \"brrt-dev\""
        ))
    }
}

/// A kubeconfig context name: any text without spaces or control characters.
fn context_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Err(format!(
            "`{name}` is not a kubeconfig context name; use the name `kubectl config \
             get-contexts` lists, e.g. \"kind-brrt-dev\""
        ))
    } else {
        Ok(())
    }
}

/// A name Docker accepts for a container or a network, which also serves as a host name on
/// the network.
pub fn docker_name(name: &str) -> Result<(), String> {
    let ok = name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_')
        && name.len() <= 63;
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a name Docker accepts; use letters, digits, `-`, `_` and `.` (at \
             most 63, starting with a letter or digit), e.g. \"kind-registry\""
        ))
    }
}

fn image_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.contains(char::is_whitespace) {
        Err(format!(
            "`{name}` is not an image reference, e.g. \"registry:3\""
        ))
    } else {
        Ok(())
    }
}

/// A team cache's endpoint: an http:// or https:// URL with a host, and optionally the path of
/// its API (`https://cache.team.example/v2/dockerhub`); no query, fragment or credentials.
fn endpoint(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| format!("must be an http:// or https:// URL, not `{url}`"))?;
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() || url.contains(char::is_whitespace) {
        return Err(format!("must be a URL with a host, not `{url}`"));
    }
    if host.contains('@') {
        return Err(
            "must not hold credentials; they come from BRRT_<UPSTREAM>_USERNAME and _PASSWORD"
                .into(),
        );
    }
    if url.contains(['?', '#']) {
        return Err(format!(
            "must be a plain URL, without `?` or `#`, not `{url}`"
        ));
    }
    Ok(())
}

/// A Go duration as distribution reads it: `168h`, `30m`, `1h30m`.
fn duration(text: &str) -> Result<(), String> {
    match crate::ops::timestamp::go_duration_nanos(text) {
        Some(_) => Ok(()),
        None if text.trim().is_empty() => {
            Err("the duration is empty; write it like \"168h\"".into())
        }
        None => Err(format!(
            "`{text}` is not a duration; write it like \"168h\" or \"1h30m\""
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> String {
        parse("team.toml", text).unwrap_err().to_string()
    }

    #[test]
    fn defaults_fill_what_is_not_written() {
        let c = parse("b.toml", "[cluster]\nname = \"dev\"\n").unwrap();
        assert_eq!(c.registry.port, 5001);
        assert_eq!(c.cache.upstreams, DEFAULT_UPSTREAMS.map(String::from));
        assert_eq!(c.cache.image, "registry:3");
        assert_eq!(c.registry.host_ip, "127.0.0.1");
    }

    #[test]
    fn empty_is_an_error_naming_the_file() {
        for text in ["", "  \n\t\n"] {
            let e = problems(text);
            assert!(e.starts_with("team.toml: the config is empty"), "{e}");
        }
    }

    #[test]
    fn typos_name_file_line_column_and_the_likely_key() {
        let e = problems("[cache]\nupstream = [\"docker.io\"]\n");
        assert!(
            e.starts_with(
                "team.toml:2:1: unknown key `upstream` in [cache]; did you mean `upstreams`?"
            ),
            "{e}"
        );
        let e = problems("[cahce]\nenabled = true\n");
        assert!(
            e.contains(
                "team.toml:1:2: unknown key `cahce` at the top level; did you mean `cache`?"
            ),
            "{e}"
        );
    }

    #[test]
    fn types_are_named_in_words() {
        let e = problems("[registry]\nport = \"5001\"\n");
        assert!(
            e.contains("team.toml:2:8: registry.port: expected an integer, found a string"),
            "{e}"
        );
        assert!(!e.contains("i64"), "{e}");
    }

    #[test]
    fn colliding_and_malformed_upstreams_are_refused() {
        let e = problems("[cache]\nupstreams = [\"docker.io\", \"docker-io\"]\n");
        assert!(
            e.contains("`docker.io` and `docker-io` would share one cache"),
            "{e}"
        );
        let e = problems("[cache]\nupstreams = [\"../../etc\"]\n");
        assert!(
            e.contains("team.toml:2:14: cache.upstreams: `../../etc` is not a registry host"),
            "{e}"
        );
    }

    #[test]
    fn host_ip_must_be_an_address() {
        assert_eq!(
            parse("b.toml", "[registry]\nhost_ip = \"localhost\"\n")
                .unwrap()
                .registry
                .host_ip,
            "127.0.0.1"
        );
        let e = problems("[registry]\nhost_ip = \"not-an-ip\"\n");
        assert!(
            e.contains("registry.host_ip: `not-an-ip` is not an IP address"),
            "{e}"
        );
        let wide = parse("b.toml", "[registry]\nhost_ip = \"0.0.0.0\"\n").unwrap();
        assert!(wide.warnings[0].contains("reachable from the network"));
    }

    #[test]
    fn team_keys_pass_through() {
        let c = parse("b.toml", "[team]\nowner = \"infra\"\n[team.extra]\nn = 3\n").unwrap();
        assert_eq!(c.team["owner"], "infra");
        assert_eq!(c.team["extra"]["n"], 3);
    }

    #[test]
    fn the_cluster_context_is_kinds_unless_set() {
        let c = parse("b.toml", "[cluster]\nname = \"dev\"\n").unwrap();
        assert_eq!(c.cluster.context, "kind-dev");
        assert!(!c.cluster.create);
        assert_eq!((c.cluster.workers, c.cluster.node_image), (0, None));
        let c = parse(
            "b.toml",
            "[cluster]\nname = \"dev\"\ncontext = \"team-dev\"\n",
        )
        .unwrap();
        assert_eq!(c.cluster.context, "team-dev");
    }

    #[test]
    fn creation_keys_are_checked() {
        let c = parse(
            "b.toml",
            "[cluster]\ncreate = true\nworkers = 2\nnode_image = \"kindest/node:v1.33.1\"\n",
        )
        .unwrap();
        assert!(c.cluster.create);
        assert_eq!(c.cluster.workers, 2);
        assert_eq!(
            c.cluster.node_image.as_deref(),
            Some("kindest/node:v1.33.1")
        );
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);

        let e = problems("[cluster]\nworkers = -1\n");
        assert!(
            e.contains("team.toml:2:11: cluster.workers: -1 is not a number of worker nodes"),
            "{e}"
        );
        let e = problems("[cluster]\ncreate = \"yes\"\n");
        assert!(
            e.contains("cluster.create: expected a boolean, found a string"),
            "{e}"
        );
        let e = problems("[cluster]\nnode_image = \"kindest/node v1\"\n");
        assert!(
            e.contains("cluster.node_image: `kindest/node v1` is not an image reference"),
            "{e}"
        );
        let e = problems("[cluster]\ncontext = \"\"\n");
        assert!(
            e.contains("cluster.context: `` is not a kubeconfig context name"),
            "{e}"
        );
        let e = problems("[cluster]\nworker = 2\n");
        assert!(
            e.contains("unknown key `worker` in [cluster]; did you mean `workers`?"),
            "{e}"
        );
    }

    #[test]
    fn creation_keys_without_create_are_warned_about() {
        let c = parse("b.toml", "[cluster]\nworkers = 2\n").unwrap();
        assert!(
            c.warnings[0].contains("set cluster.create = true"),
            "{:?}",
            c.warnings
        );
    }

    #[test]
    fn warm_lists_are_image_references() {
        let c = parse(
            "ci/brrt.toml",
            "[cache]\nwarm = [\"postgres:16\", \"ghcr.io/team/app@sha256:ec05c98f076bd19b0d85a2f9d022dde83224a7652750d69a157d388eb501df16\"]\nwarm_files = [\"k8s/\", \"/abs/images.txt\"]\nwarm_on_up = true\n",
        )
        .unwrap();
        assert_eq!(c.cache.warm.len(), 2);
        assert_eq!(c.cache.warm_files, ["ci/k8s/", "/abs/images.txt"]);
        assert!(c.cache.warm_on_up);
        let e = problems("[cache]\nwarm = [\"redis:7\", \"Postgres:16\"]\n");
        assert!(
            e.contains("team.toml:2:20: cache.warm: `Postgres:16` is not an image reference: repository names must be lowercase"),
            "{e}"
        );
        let e = problems("[cache]\nwarm_files = [\"\"]\n");
        assert!(e.contains("cache.warm_files: a path is empty"), "{e}");
    }

    #[test]
    fn shared_caches_are_hosts_with_urls() {
        let c = parse(
            "b.toml",
            "[cache.shared]\n\"docker.io\" = \"https://cache.team.example/v2/dockerhub/\"\n",
        )
        .unwrap();
        assert_eq!(
            c.cache.team_caches["docker.io"],
            "https://cache.team.example/v2/dockerhub"
        );
        let e = problems("[cache.shared]\n\"docker.io\" = \"cache.team.example\"\n");
        assert!(
            e.contains("team.toml:2:15: cache.shared: the team cache for `docker.io` must be an http:// or https:// URL"),
            "{e}"
        );
        let e = problems("[cache.shared]\n\"Docker.io\" = \"https://x\"\n");
        assert!(
            e.contains("cache.shared: `Docker.io` is not a registry host"),
            "{e}"
        );
        let e = problems("[cache.shared]\n\"docker.io\" = \"https://me:secret@x\"\n");
        assert!(
            e.contains("set BRRT_DOCKER_IO_USERNAME and BRRT_DOCKER_IO_PASSWORD"),
            "{e}"
        );
        assert!(e.contains("\"https://***@x\""), "{e}");
        assert!(!e.contains("me:secret") && !e.contains("secret@"), "{e}");
        let e =
            problems("[cache.remotes]\n\"quay.io\" = \"https://robot:hunter2@mirror.example\"\n");
        assert!(
            e.contains(
                "team.toml:2:13: cache.remotes: the URL for `quay.io` holds a user or password"
            ),
            "{e}"
        );
        assert!(
            e.contains("write \"https://mirror.example\" and set BRRT_QUAY_IO_USERNAME"),
            "{e}"
        );
        assert!(!e.contains("hunter2") && !e.contains("robot"), "{e}");
        let both = parse(
            "b.toml",
            "[cache.remotes]\n\"docker.io\" = \"https://m\"\n[cache.shared]\n\"docker.io\" = \"https://x\"\n",
        )
        .unwrap();
        assert!(both.warnings[0].contains("in both [cache.remotes] and [cache.shared]"));
    }

    #[test]
    fn durations_are_checked() {
        assert!(duration("168h").is_ok() && duration("1h30m").is_ok());
        assert!(duration("a week").is_err() && duration("10").is_err());
    }
}
