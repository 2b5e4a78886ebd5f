//! What every registry container brrt runs has, push registry and cache alike: its labels, its
//! data directory and volume, the image it runs by default, when it is up, and how one is
//! ensured with its volume. `push`, `cache`, `contents`, `carry_over` and `migrate` all build
//! on it, so it sits below them and below `registry/mod.rs`, and imports none of them.

use crate::ops::docker::{self, ContainerSpec, Ready};
use crate::ops::{Action, Mode, Result};
use bollard::Docker;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// Label naming a registry container's role: `push` or `cache`.
pub const ROLE_LABEL: &str = "dev.brrt.registry.role";
/// Label naming the push registry a container belongs with (its group): the push registry's
/// own, and the caches of one config from before caches were shared.
pub const GROUP_LABEL: &str = "dev.brrt.registry.group";
/// Label naming the upstream a cache serves.
pub const UPSTREAM_LABEL: &str = "dev.brrt.registry.upstream";

pub(crate) const DATA_DIR: &str = "/var/lib/registry";

/// A registry is up when its API answers.
pub(crate) const REGISTRY_READY: Ready = Ready::Http {
    container_port: "5000/tcp",
    path: "/v2/",
    within: Duration::from_secs(15),
};

/// The registry image brrt runs when the config names none: distribution v3, whose proxy fetches
/// a cold blob from its upstream once (2.8 fetches it twice) and honours `proxy.ttl`.
/// `registry:2` (distribution 2.8) stays supported.
pub const DEFAULT_IMAGE: &str = "registry:3";

pub(crate) fn default_image() -> String {
    DEFAULT_IMAGE.into()
}

/// The labels of a registry's container and volume.
pub(crate) fn labels(
    role: &str,
    group: Option<&str>,
    upstream: Option<&str>,
) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::from([(ROLE_LABEL.to_string(), role.to_string())]);
    if let Some(group) = group {
        labels.insert(GROUP_LABEL.into(), group.into());
    }
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
pub(crate) async fn ensure_registry(
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

/// Whether a container's environment makes it a pull-through cache.
pub fn is_proxy(env: &[String]) -> bool {
    env.iter()
        .any(|e| e.starts_with("REGISTRY_PROXY_REMOTEURL="))
}
