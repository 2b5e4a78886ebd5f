//! The checked config's types: what `parse` returns and every reader of brrt.toml holds. They
//! sit below `check` (which fills them) and `lookup` (which reads them), and below `mod.rs`,
//! which only declares the parts, re-exports these and parses.

use crate::ops::ConfigError;
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
pub(super) const MAX_WORKERS: i64 = 20;

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
