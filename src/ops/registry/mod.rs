//! Registry containers: the push registry for the team's builds, and one pull-through cache per
//! upstream, each with a named volume so its data outlives the container.

mod api;

pub use api::{ManifestInfo, RegistryApi};

use crate::ops::docker::{self, ContainerOutcome, ContainerSpec};
use crate::ops::upstream::{self, Upstream};
use crate::ops::{Action, Error, Mode, Result};
use bollard::Docker;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Label naming a registry container's role: `push` or `cache`.
pub const ROLE_LABEL: &str = "dev.brrt.registry.role";
/// Label naming the push registry a cache belongs with (its group).
pub const GROUP_LABEL: &str = "dev.brrt.registry.group";
/// Label naming the upstream a cache serves.
pub const UPSTREAM_LABEL: &str = "dev.brrt.registry.upstream";

const DATA_DIR: &str = "/var/lib/registry";

/// The push registry, as the config describes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushRegistrySpec {
    pub name: String,
    /// Host port, bound on `host_ip`.
    pub port: u16,
    #[serde(default = "default_image")]
    pub image: String,
    pub network: Option<String>,
    #[serde(default = "default_host_ip")]
    pub host_ip: String,
}

/// One pull-through cache.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheSpec {
    /// The push registry's name: caches are named and grouped after it.
    pub registry: String,
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
    /// Serve what the cache holds without contacting the upstream. A registry in proxy mode
    /// will not start when it cannot reach its upstream (distribution#1435), so a laptop that
    /// boots offline would lose its caches; in offline mode the same volume is served as a plain
    /// registry.
    #[serde(default)]
    pub offline: bool,
}

fn default_image() -> String {
    "registry:2".into()
}

fn default_host_ip() -> String {
    "127.0.0.1".into()
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
        upstream::cache_name(&self.registry, &self.upstream)
    }
}

/// The volume that keeps a registry's data.
pub fn volume_name(container: &str) -> String {
    format!("{container}-data")
}

/// What ensuring a registry did.
#[derive(Debug, Clone, Serialize)]
pub struct RegistryOutcome {
    pub name: String,
    pub action: Action,
    pub id: String,
    pub volume: String,
    pub volume_action: Action,
}

fn outcome(c: ContainerOutcome, volume: String, volume_action: Action) -> RegistryOutcome {
    RegistryOutcome {
        name: c.name,
        action: c.action,
        id: c.id,
        volume,
        volume_action,
    }
}

/// Ensures a registry container and the named volume it keeps its data in. A container that is
/// already current has its volume mounted, so the common no-op costs one inspect.
async fn ensure_with_volume(
    d: &Docker,
    container: &ContainerSpec,
    volume: String,
    mode: Mode,
) -> Result<RegistryOutcome> {
    if let Some(state) = docker::current_container(d, container).await? {
        return Ok(RegistryOutcome {
            name: container.name.clone(),
            action: Action::Unchanged,
            id: state.id,
            volume,
            volume_action: Action::Unchanged,
        });
    }
    let volume_action = docker::ensure_volume(d, &volume, mode).await?;
    let c = docker::ensure_container(d, container, mode).await?;
    Ok(outcome(c, volume, volume_action))
}

/// Ensures the push registry: `registry:2` on `host_ip:port`, its data in a named volume.
pub async fn ensure_push(
    d: &Docker,
    spec: &PushRegistrySpec,
    mode: Mode,
) -> Result<RegistryOutcome> {
    let volume = volume_name(&spec.name);
    let container = ContainerSpec {
        name: spec.name.clone(),
        image: spec.image.clone(),
        ports: vec![format!("{}:{}:5000", spec.host_ip, spec.port)],
        mounts: vec![format!("{volume}:{DATA_DIR}")],
        network: spec.network.clone(),
        restart: Some("always".into()),
        env: BTreeMap::from([("REGISTRY_STORAGE_DELETE_ENABLED".into(), "true".into())]),
        labels: BTreeMap::from([
            (ROLE_LABEL.into(), "push".into()),
            (GROUP_LABEL.into(), spec.name.clone()),
        ]),
        ..Default::default()
    };
    ensure_with_volume(d, &container, volume, mode).await
}

/// Ensures one pull-through cache. Credentials come from `BRRT_<UPSTREAM>_USERNAME` and
/// `BRRT_<UPSTREAM>_PASSWORD` and reach only this container. Offline, it serves its volume
/// without proxying (switching re-creates the container; the volume stays).
pub async fn ensure_cache(d: &Docker, spec: &CacheSpec, mode: Mode) -> Result<RegistryOutcome> {
    let up = spec.resolve_upstream()?;
    let name = spec.name();
    let volume = volume_name(&name);
    let mut env = BTreeMap::new();
    if !spec.offline {
        env.insert("REGISTRY_PROXY_REMOTEURL".to_string(), up.remote.clone());
        let (user_var, pass_var) = upstream::credential_vars(&up.host);
        if let (Ok(user), Ok(pass)) = (std::env::var(&user_var), std::env::var(&pass_var)) {
            env.insert("REGISTRY_PROXY_USERNAME".into(), user);
            env.insert("REGISTRY_PROXY_PASSWORD".into(), pass);
        }
        if let Some(ttl) = &spec.ttl {
            env.insert("REGISTRY_PROXY_TTL".into(), ttl.clone());
        }
    }
    let port = spec.port.map(|p| p.to_string()).unwrap_or_default();
    let container = ContainerSpec {
        name: name.clone(),
        image: spec.image.clone(),
        ports: vec![format!("127.0.0.1:{port}:5000")],
        mounts: vec![format!("{volume}:{DATA_DIR}")],
        network: spec.network.clone(),
        restart: Some("always".into()),
        env,
        labels: BTreeMap::from([
            (ROLE_LABEL.into(), "cache".into()),
            (GROUP_LABEL.into(), spec.registry.clone()),
            (UPSTREAM_LABEL.into(), up.host.clone()),
        ]),
        ..Default::default()
    };
    ensure_with_volume(d, &container, volume, mode).await
}

/// A registry container found on the engine.
#[derive(Debug, Clone, Serialize)]
pub struct RegistryInfo {
    pub name: String,
    pub role: String,
    pub upstream: String,
    pub running: bool,
    pub volume: String,
}

/// The caches that belong with push registry `group`.
pub async fn caches(d: &Docker, group: &str) -> Result<Vec<RegistryInfo>> {
    let labels = [
        format!("{ROLE_LABEL}=cache"),
        format!("{GROUP_LABEL}={group}"),
    ];
    Ok(docker::list_containers(d, &labels)
        .await?
        .into_iter()
        .map(|c| RegistryInfo {
            upstream: c.labels.get(UPSTREAM_LABEL).cloned().unwrap_or_default(),
            role: "cache".into(),
            running: c.running,
            volume: volume_name(&c.name),
            name: c.name,
        })
        .collect())
}

/// What removing a registry did to its container and its volume.
#[derive(Debug, Clone, Serialize)]
pub struct RemoveOutcome {
    pub name: String,
    pub action: Action,
    pub volume: String,
    pub volume_action: Action,
}

/// Removes a registry container, and its volume unless `keep_volume`.
pub async fn remove(
    d: &Docker,
    name: &str,
    keep_volume: bool,
    mode: Mode,
) -> Result<RemoveOutcome> {
    let action = docker::remove_container(d, name, mode).await?;
    let volume = volume_name(name);
    let volume_action = if keep_volume {
        Action::Unchanged
    } else {
        docker::remove_volume(d, &volume, mode).await?
    };
    Ok(RemoveOutcome {
        name: name.into(),
        action,
        volume,
        volume_action,
    })
}

/// The HTTP API of a registry container, through its loopback port.
pub async fn api_for(d: &Docker, name: &str) -> Result<RegistryApi> {
    let state = docker::inspect_container(d, name)
        .await?
        .ok_or_else(|| Error::Other(format!("no registry container `{name}`; run dev-up first")))?;
    if !state.running {
        return Err(Error::Other(format!(
            "registry `{name}` is not running; run dev-up to start it"
        )));
    }
    let addr = state.ports.get("5000/tcp").ok_or_else(|| {
        Error::Other(format!(
            "registry `{name}` publishes no port for inspection; run dev-up to re-create it"
        ))
    })?;
    let (ip, port) = addr.rsplit_once(':').unwrap_or(("127.0.0.1", addr));
    let ip = if ip.is_empty() || ip == "0.0.0.0" {
        "127.0.0.1"
    } else {
        ip
    };
    Ok(RegistryApi::new(format!("http://{ip}:{port}")))
}

/// One tag held by a registry, with what it costs.
#[derive(Debug, Clone, Serialize)]
pub struct TagEntry {
    pub repo: String,
    pub tag: String,
    pub digest: String,
    pub kind: String,
    /// Bytes the image references (config and layers, or its child manifests).
    pub size: i64,
}

/// What a registry holds locally: repositories, tags, digests and sizes. It reads the storage
/// through the engine and resolves manifests by digest, so a cache never asks its upstream.
pub async fn contents(d: &Docker, name: &str) -> Result<Vec<TagEntry>> {
    let api = api_for(d, name).await?;
    let root = format!("{DATA_DIR}/docker/registry/v2/repositories");
    let files = docker::read_dir_files(d, name, &root).await?;
    let mut entries = Vec::new();
    for (path, link) in &files {
        let Some((repo, rest)) = path.split_once("/_manifests/tags/") else {
            continue;
        };
        let Some(tag) = rest.strip_suffix("/current/link") else {
            continue;
        };
        let digest = link.trim().to_string();
        let (kind, size) = match api.manifest(repo, &digest).await {
            Ok(m) => (m.kind, m.content_size),
            Err(_) => ("unknown".to_string(), -1),
        };
        entries.push(TagEntry {
            repo: repo.into(),
            tag: tag.into(),
            digest,
            kind,
            size,
        });
    }
    entries.sort_by(|a, b| (&a.repo, &a.tag).cmp(&(&b.repo, &b.tag)));
    Ok(entries)
}

/// Bytes in a registry's volume. Falls back to the sum of its contents when the volume's data
/// cannot be read from this host.
pub async fn size(d: &Docker, name: &str) -> Result<i64> {
    if let Some(bytes) = docker::volume_size(d, &volume_name(name)).await? {
        return Ok(i64::try_from(bytes).unwrap_or(i64::MAX));
    }
    Ok(contents(d, name).await?.iter().map(|e| e.size.max(0)).sum())
}

/// Empties a cache: removes its container and volume, then starts it again, empty.
pub async fn clear(d: &Docker, spec: &CacheSpec, mode: Mode) -> Result<RegistryOutcome> {
    remove(d, &spec.name(), false, mode).await?;
    ensure_cache(d, spec, mode).await
}
