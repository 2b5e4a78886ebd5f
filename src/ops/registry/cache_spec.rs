//! What one pull-through cache is asked to be, and the container that serves it: the spec a
//! flow passes, and the labels, ports and environment it turns into. `cache` ensures it,
//! `sharing` compares it with what other configs want, `carry_over`, `preflight` and `migrate`
//! name it: it sits below all of them, so none of them needs another to know a cache's shape.

use super::cache_container::{
    DEBUG_ADDR, DEBUG_PORT, LOGIN_LABEL, MODE_LABEL, MODE_PROXY, REMOTE_LABEL, SET_LABEL, TTL_LABEL,
};
use super::container::{default_image, labels, volume_name, DATA_DIR};
use crate::ops::docker::ContainerSpec;
use crate::ops::upstream::{self, Upstream};
use crate::ops::Result;
use serde::Deserialize;
use std::collections::BTreeMap;

/// One pull-through cache, shared by every cluster on the engine whose config names the same
/// set of caches.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheSpec {
    /// The set of caches it belongs to (`cache.name`), which names it `<set>-<upstream>`.
    #[serde(default = "default_set")]
    pub set: String,
    /// The push registry of the config that asks for it: that config's own cache from before
    /// caches were shared, `<registry>-<upstream>`, is what [`super::carry_over`] carries into
    /// this one.
    pub registry: Option<String>,
    /// The kind cluster it is ensured for: while another cluster uses the cache, a change of
    /// its settings that this cluster's config asks for is refused (see [`super::sharing`]).
    pub cluster: Option<String>,
    /// The upstream host, e.g. `docker.io`.
    pub upstream: String,
    /// Overrides the upstream's remote (a corporate mirror, a test stand-in).
    pub remote: Option<String>,
    #[serde(default = "default_image")]
    pub image: String,
    pub network: Option<String>,
    /// How long cached content is kept (distribution's `proxy.ttl`, e.g. `168h`).
    pub ttl: Option<String>,
    /// A fixed loopback port for inspection; by default the engine picks a free one.
    pub port: Option<u16>,
    /// Serve what the cache holds without ever contacting the upstream.
    #[serde(default)]
    pub offline: bool,
}

fn default_set() -> String {
    upstream::DEFAULT_CACHE_SET.into()
}

impl CacheSpec {
    pub fn resolve_upstream(&self) -> Result<Upstream> {
        let remotes = self
            .remote
            .iter()
            .map(|r| (self.upstream.clone(), r.clone()))
            .collect();
        upstream::resolve(&self.upstream, &remotes)
    }

    pub fn name(&self) -> String {
        upstream::cache_name(&self.set, &self.upstream)
    }

    /// The labels of the cache's volume (brrt's own mark is added where it is created).
    pub(super) fn volume_labels(&self, up: &Upstream) -> BTreeMap<String, String> {
        let mut labels = labels("cache", None, Some(&up.host));
        labels.insert(SET_LABEL.into(), self.set.clone());
        labels
    }

    /// The container serving this cache: a proxy of `up`, or (offline) a plain registry on the
    /// same volume. `mode` is the value of [`MODE_LABEL`].
    pub(super) fn container(&self, up: &Upstream, mode: &str) -> ContainerSpec {
        let name = self.name();
        let mut env = BTreeMap::new();
        let mut secret_env = BTreeMap::new();
        if mode == MODE_PROXY {
            env.insert("REGISTRY_PROXY_REMOTEURL".to_string(), up.remote.clone());
            if let Some((user, pass)) = upstream::credentials(&up.host) {
                secret_env.insert("REGISTRY_PROXY_USERNAME".into(), user);
                secret_env.insert("REGISTRY_PROXY_PASSWORD".into(), pass);
            }
            if let Some(ttl) = &self.ttl {
                env.insert("REGISTRY_PROXY_TTL".into(), ttl.clone());
            }
        }
        let port = self.port.map(|p| p.to_string()).unwrap_or_default();
        let mut ports = vec![format!("127.0.0.1:{port}:5000")];
        if mode == MODE_PROXY {
            // distribution's debug server, for the proxy counters `cache stats` reads. Only a
            // proxy has any; and every published port costs Docker 20.10 time when the
            // container is made or removed (~0.15 s), which a cache serving offline is spared.
            env.insert("REGISTRY_HTTP_DEBUG_ADDR".into(), DEBUG_ADDR.into());
            ports.push(format!(
                "127.0.0.1::{}",
                DEBUG_PORT.trim_end_matches("/tcp")
            ));
        }
        let mut labels = self.volume_labels(up);
        labels.insert(MODE_LABEL.into(), mode.into());
        labels.insert(REMOTE_LABEL.into(), up.remote.clone());
        if let Some(ttl) = &self.ttl {
            labels.insert(TTL_LABEL.into(), ttl.clone());
        }
        if !secret_env.is_empty() {
            labels.insert(LOGIN_LABEL.into(), "true".into());
        }
        ContainerSpec {
            name: name.clone(),
            image: self.image.clone(),
            ports,
            mounts: vec![format!("{}:{DATA_DIR}", volume_name(&name))],
            network: self.network.clone(),
            joins_networks: true,
            restart: Some("always".into()),
            env,
            secret_env,
            labels,
            ..Default::default()
        }
    }
}
