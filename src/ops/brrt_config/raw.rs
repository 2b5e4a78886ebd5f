//! brrt.toml as written: every key optional, every value with its place in the file. Nothing
//! here is checked beyond its type; [`super::check`] turns it into a [`super::BrrtConfig`].

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

/// A value and where it stands in the file.
pub(super) type At<T> = Spanned<T>;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub cluster: Option<RawCluster>,
    pub registry: Option<RawRegistry>,
    pub cache: Option<RawCache>,
    /// The team's own keys, passed to scripts unchecked.
    pub team: Option<toml::Table>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCluster {
    pub name: Option<At<String>>,
    pub network: Option<At<String>>,
    pub context: Option<At<String>>,
    pub create: Option<At<bool>>,
    pub workers: Option<At<i64>>,
    pub node_image: Option<At<String>>,
    pub take_over_mirrors: Option<Vec<At<String>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRegistry {
    pub name: Option<At<String>>,
    pub port: Option<At<i64>>,
    pub image: Option<At<String>>,
    pub host_ip: Option<At<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCache {
    pub name: Option<At<String>>,
    pub enabled: Option<bool>,
    pub offline: Option<bool>,
    pub upstreams: Option<Vec<At<String>>>,
    pub image: Option<At<String>>,
    pub ttl: Option<At<String>>,
    pub remotes: Option<BTreeMap<At<String>, At<String>>>,
    pub warm: Option<Vec<At<String>>>,
    pub warm_files: Option<Vec<At<String>>>,
    pub warm_on_up: Option<bool>,
    pub shared: Option<BTreeMap<At<String>, At<String>>>,
}
