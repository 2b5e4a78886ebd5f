//! The check of a whole config: every key of the raw file, with its defaults filled in, its
//! names and hosts checked, and every problem collected with where it is, so one run names them
//! all.

use super::checked::{
    BrrtConfig, CacheConfig, ClusterConfig, InvalidConfig, RegistryConfig, DEFAULT_UPSTREAMS,
    MAX_WORKERS,
};
use super::raw::{self, At, RawConfig};
use super::values::{cluster_name, context_name, docker_name, duration, endpoint, image_name};
use crate::ops::upstream;
use crate::ops::warm::ImageRef;
use crate::ops::ConfigError;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Checks a parsed config whole; `path` and `text` name where each problem is.
pub(super) fn check(path: &str, text: &str, raw: RawConfig) -> Result<BrrtConfig, InvalidConfig> {
    Checker {
        path,
        text,
        problems: Vec::new(),
        warnings: Vec::new(),
    }
    .check(raw)
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
