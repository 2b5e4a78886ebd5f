//! Looking into registries: the caches of a set, their volumes, what each holds and its size.

use super::api::RegistryApi;
use super::cache_container::SET_LABEL;
use super::container::{volume_name, DATA_DIR, GROUP_LABEL, ROLE_LABEL, UPSTREAM_LABEL};
use crate::ops::docker::{self, VolumeInfo};
use crate::ops::loopback::loopback_url;
use crate::ops::{Error, Result};
use bollard::Docker;
use serde::Serialize;

/// A registry container found on the engine.
#[derive(Debug, Clone, Serialize)]
pub struct RegistryInfo {
    pub name: String,
    pub role: String,
    pub upstream: String,
    pub running: bool,
    pub volume: String,
    /// The networks it is on, sorted.
    pub networks: Vec<String>,
}

/// The caches named after `name`, `<name>-<upstream>`: the set of caches `name` (cache.name,
/// shared by every config that names it), or, from before caches were shared, the caches of
/// the config whose push registry is `name`. A cache a killed switch left aside
/// (`<name>-brrt-old`) is not one of them: the next dev-up finishes that switch.
pub async fn caches(d: &Docker, name: &str) -> Result<Vec<RegistryInfo>> {
    let labels = [format!("{ROLE_LABEL}=cache")];
    let named = |c: &docker::ContainerState, label: &str| {
        c.labels.get(label).map(String::as_str) == Some(name)
    };
    Ok(docker::list_containers(d, &labels)
        .await?
        .into_iter()
        .filter(|c| named(c, SET_LABEL) || named(c, GROUP_LABEL))
        .filter(|c| !c.name.ends_with(docker::ASIDE))
        .map(|c| {
            let mut networks = c.networks;
            networks.sort();
            RegistryInfo {
                upstream: c.labels.get(UPSTREAM_LABEL).cloned().unwrap_or_default(),
                role: "cache".into(),
                running: c.running,
                volume: volume_name(&c.name),
                name: c.name,
                networks,
            }
        })
        .collect())
}

/// The volumes brrt made for the registries named after `name`: the push registry `name` and
/// the caches of its config from before caches were shared, or the set of caches `name`,
/// whether or not their containers still exist. Only labelled volumes are listed, so a volume
/// someone else made with a look-alike name is never among them.
pub async fn volumes(d: &Docker, name: &str) -> Result<Vec<VolumeInfo>> {
    let mut found = Vec::new();
    for label in [GROUP_LABEL, SET_LABEL] {
        let labels = [docker::MANAGED_LABEL.to_string(), format!("{label}={name}")];
        found.extend(docker::list_volumes(d, &labels).await?);
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found.dedup_by(|a, b| a.name == b.name);
    Ok(found)
}

/// The HTTP API of a registry: an `http(s)://` URL as it is, or a registry container by name,
/// through its loopback port.
pub async fn api_for(d: &Docker, name: &str) -> Result<RegistryApi> {
    if name.starts_with("http://") || name.starts_with("https://") {
        return Ok(RegistryApi::new(name));
    }
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
    Ok(RegistryApi::new(loopback_url(addr)))
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
