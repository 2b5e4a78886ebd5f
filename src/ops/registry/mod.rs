//! Registry containers: the push registry for the team's builds, and one pull-through cache per
//! upstream, each with a labelled named volume so its data outlives the container.
//!
//! - [`push`]: the push registry
//! - [`cache`]: the caches, and serving offline when an upstream is unreachable
//! - [`contents`]: what the registries hold, and how big they are
//! - [`api`]: the registry HTTP API
//! - [`migrate`]: from a single proxy registry brrt did not create to brrt's caches
//! - [`version`]: which distribution a registry runs (2.x or 3.x), where they differ

pub mod activity;
pub mod api;
mod cache;
mod contents;
pub mod manifest;
pub mod migrate;
mod push;
pub mod stats;
pub mod storage;
pub mod version;

pub use api::{BlobReadError, ManifestInfo, RegistryApi, USER_AGENT};
pub use cache::{CacheSpec, MODE_LABEL};
pub use contents::{api_for, caches, contents, size, volumes, RegistryInfo, TagEntry};
pub use push::{ensure_push, PushRegistrySpec};
pub use version::{distribution, Distribution};

use crate::ops::docker::{self, ContainerSpec, Ready};
use crate::ops::{Action, Error, Mode, Result};
use bollard::Docker;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

pub use cache::ensure_cache;

/// Label naming a registry container's role: `push` or `cache`.
pub const ROLE_LABEL: &str = "dev.brrt.registry.role";
/// Label naming the push registry a cache belongs with (its group).
pub const GROUP_LABEL: &str = "dev.brrt.registry.group";
/// Label naming the upstream a cache serves.
pub const UPSTREAM_LABEL: &str = "dev.brrt.registry.upstream";

const DATA_DIR: &str = "/var/lib/registry";

/// A registry is up when its API answers.
const REGISTRY_READY: Ready = Ready::Http {
    container_port: "5000/tcp",
    path: "/v2/",
    within: Duration::from_secs(15),
};

/// The registry image brrt runs when the config names none: distribution v3, whose proxy fetches
/// a cold blob from its upstream once (2.8 fetches it twice) and honours `proxy.ttl`.
/// `registry:2` (distribution 2.8) stays supported.
pub const DEFAULT_IMAGE: &str = "registry:3";

fn default_image() -> String {
    DEFAULT_IMAGE.into()
}

/// The labels of a registry's container and volume.
fn labels(role: &str, group: &str, upstream: Option<&str>) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::from([
        (ROLE_LABEL.to_string(), role.to_string()),
        (GROUP_LABEL.to_string(), group.to_string()),
    ]);
    if let Some(up) = upstream {
        labels.insert(UPSTREAM_LABEL.into(), up.into());
    }
    labels
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
    /// `push`; or for a cache `proxy`, `offline`, or `offline (upstream unreachable)`.
    pub mode: String,
    /// The cache serves offline because its upstream did not answer; worth checking again.
    pub upstream_unreachable: bool,
}

/// Ensures a registry container and the named volume it keeps its data in. A container that is
/// already current has its volume mounted, so the common no-op costs one inspect. A volume
/// made here for a container that then does not start is removed again: a failed run leaves
/// nothing behind.
async fn ensure_registry(
    d: &Docker,
    container: &ContainerSpec,
    volume: &str,
    volume_labels: &BTreeMap<String, String>,
    mode: Mode,
    ready: &Ready,
) -> Result<RegistryOutcome> {
    let outcome = |action, id: String, volume_action| RegistryOutcome {
        name: container.name.clone(),
        action,
        id,
        volume: volume.to_string(),
        volume_action,
        mode: String::new(),
        upstream_unreachable: false,
    };
    if let Some(state) = docker::current_container(d, container).await? {
        return Ok(outcome(Action::Unchanged, state.id, Action::Unchanged));
    }
    if !mode.dry_run {
        // Before the first change: a missing image is found out while nothing is touched.
        docker::ensure_image(d, &container.image).await?;
    }
    let volume_action = docker::ensure_volume(d, volume, volume_labels, mode).await?;
    match docker::ensure_container_ready(d, container, mode, ready).await {
        Ok(c) => Ok(outcome(c.action, c.id, volume_action)),
        Err(e) => {
            if volume_action == Action::Created && !mode.dry_run {
                let _ = docker::remove_volume(d, volume, mode).await;
            }
            Err(e)
        }
    }
}

/// Checks, before a flow changes anything, that every registry it is about to ensure can be
/// made: each image is here (pulled if not; under `--dry-run` only looked up) and the push
/// registry's host port is free or already its own. The first problem is returned, and nothing
/// has changed.
pub async fn preflight(
    d: &Docker,
    push: &PushRegistrySpec,
    caches: &[CacheSpec],
    mode: Mode,
) -> Result<()> {
    let mut images: Vec<&str> = caches.iter().map(|c| c.image.as_str()).collect();
    images.push(&push.image);
    images.sort_unstable();
    images.dedup();
    for image in images {
        if mode.dry_run {
            if !docker::image_exists(d, image).await? {
                tracing::info!("would pull image {image}");
            }
        } else {
            docker::ensure_image(d, image).await?;
        }
    }
    let own = docker::inspect_container(d, &push.name)
        .await?
        .is_some_and(|c| {
            c.ports
                .values()
                .any(|hp| hp.rsplit(':').next() == Some(push.port.to_string().as_str()))
        });
    if own {
        return Ok(());
    }
    if let Some(holder) = docker::port_holder(d, &push.host_ip, push.port, &push.name).await? {
        return Err(Error::PortInUse {
            ip: push.host_ip.clone(),
            port: push.port,
            holder,
        });
    }
    Ok(())
}

/// What removing a registry did to its container and its volume.
#[derive(Debug, Clone, Serialize)]
pub struct RemoveOutcome {
    pub name: String,
    pub action: Action,
    pub volume: String,
    pub volume_action: Action,
}

/// Removes a registry container, and its volume unless `keep_volume`. Only a volume brrt
/// created is ever deleted.
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
        docker::remove_managed_volume(d, &volume, mode).await?
    };
    Ok(RemoveOutcome {
        name: name.into(),
        action,
        volume,
        volume_action,
    })
}

/// Empties a cache: removes its container and volume, then starts it again, empty. A volume
/// brrt did not create is refused before anything is removed.
pub async fn clear(d: &Docker, spec: &CacheSpec, mode: Mode) -> Result<RegistryOutcome> {
    let volume = volume_name(&spec.name());
    if docker::inspect_volume(d, &volume)
        .await?
        .is_some_and(|v| !v.is_managed())
    {
        return Err(Error::Other(format!(
            "{} was not emptied: its volume {volume} was not created by brrt (it lacks the {} \
             label), so brrt does not delete it; remove it by hand if it is yours to lose \
             (`docker volume rm {volume}`)",
            spec.name(),
            docker::MANAGED_LABEL
        )));
    }
    remove(d, &spec.name(), false, mode).await?;
    ensure_cache(d, spec, mode).await
}
