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
//!
//! - this file: the checked config's types, and [`parse`]
//! - [`raw`]: the file as written, each value with its place
//! - [`check`]: the whole config checked, defaults filled in, every problem collected
//! - [`values`]: single values checked as what reads them would (names, URLs, durations)
//! - [`wording`]: the deserializer's messages in a user's words
//! - [`lookup`]: one value by its dotted key, for `brrt config KEY`

mod check;
mod lookup;
mod raw;
mod values;
mod wording;

pub use lookup::lookup;
pub use values::docker_name;

use crate::ops::ConfigError;
use raw::RawConfig;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

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
    check::check(path, text, raw)
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

#[cfg(test)]
mod tests;
