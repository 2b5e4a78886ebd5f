//! Registry containers: the push registry for the team's builds, and one pull-through cache per
//! upstream, each with a labelled named volume so its data outlives the container.
//!
//! - [`container`]: what every registry container has (labels, volume, default image, readiness)
//! - [`push`]: the push registry
//! - [`preflight`]: what a flow checks before it changes anything
//! - [`cache`]: the caches, and serving offline when an upstream is unreachable;
//!   [`cache_spec`]: what one cache is asked to be, and the container that serves it
//! - [`cache_container`]: the labels and debug port a cache's container carries for others to read
//! - [`contents`]: what the registries hold, and how big they are
//! - [`api`]: the registry HTTP API
//! - [`users`]: which clusters use each registry, read from their nodes
//! - [`sharing`]: the settings of a cache every cluster shares, and who has a say in them
//! - [`migrate`]: from a single proxy registry brrt did not create to brrt's caches
//! - [`carry_over`]: from each config's own caches, from before they were shared
//! - [`version`]: which distribution a registry runs (2.x or 3.x), where they differ
//! - [`pull_limit`]: an upstream's pull limit (Docker Hub's), and pulls it refused a cache
//! - [`stats`]: how well a cache works, from its counters; [`warm_record`]: what `cache warm`
//!   fetched into it, so the counters read right
//! - [`activity`]: what a cache does, from its log; [`logfmt`]: that log's lines read

pub mod activity;
pub mod api;
mod cache;
mod cache_container;
mod cache_spec;
mod carry_over;
mod container;
mod contents;
pub mod logfmt;
pub mod manifest;
pub mod migrate;
mod preflight;
pub mod pull_limit;
mod push;
pub mod sharing;
pub mod stats;
pub mod storage;
pub mod users;
pub mod version;
pub mod warm_record;

pub use api::{BlobReadError, ManifestInfo, RegistryApi, USER_AGENT};
pub use cache::ensure_cache;
pub use cache_container::{MODE_LABEL, SET_LABEL};
pub use cache_spec::CacheSpec;
pub use carry_over::{carry_over, per_config_caches, CarriedOver, PerConfigCache};
pub use contents::{api_for, caches, contents, size, volumes, RegistryInfo, TagEntry};
pub use preflight::preflight;
pub use push::{ensure_push, PushRegistrySpec};
pub use users::{users, users_of, ClusterUse};
pub use version::{distribution, Distribution};

pub use container::{
    is_proxy, volume_name, RegistryOutcome, DEFAULT_IMAGE, GROUP_LABEL, ROLE_LABEL, UPSTREAM_LABEL,
};

use crate::ops::docker;
use crate::ops::{Action, Error, Mode, Result};
use bollard::Docker;
use serde::Serialize;

/// What removing a registry did to its container and its volume.
#[derive(Debug, Clone, Serialize)]
pub struct RemoveOutcome {
    pub name: String,
    pub action: Action,
    pub volume: String,
    pub volume_action: Action,
    /// Why the container at that name was left as it is (brrt did not create it), and what to
    /// do; `None` when it was brrt's or absent.
    pub left_alone: Option<String>,
}

/// Removes a registry container brrt created (with the container a killed switch left aside
/// beside it), and its volume unless `keep_volume`. A container brrt did not create is left
/// running, and `left_alone` says why and what to do; only a volume brrt created is deleted.
pub async fn remove(
    d: &Docker,
    name: &str,
    keep_volume: bool,
    mode: Mode,
) -> Result<RemoveOutcome> {
    let volume = volume_name(name);
    if let Some(c) = docker::inspect_container(d, name).await? {
        if !c.labels.contains_key(docker::MANAGED_LABEL) {
            let advice = if c.labels.contains_key(ROLE_LABEL) {
                "it carries brrt's registry labels, but brrt did not make it; remove it \
                 yourself if it is yours to lose"
            } else if is_proxy(&c.env) {
                "it is a pull-through cache made by hand: `brrt run migrate` takes it over, \
                 keeping what it cached"
            } else {
                "it may hold images pushed to it that exist nowhere else; give brrt's push \
                 registry another name (registry.name in brrt.toml)"
            };
            let state = if c.running { "running" } else { "stopped" };
            return Ok(RemoveOutcome {
                name: name.into(),
                action: Action::Unchanged,
                volume,
                volume_action: Action::Unchanged,
                left_alone: Some(format!(
                    "{name} was not created by brrt (it has no {} label), so it was left as it \
                     is ({state}), with its data: {advice}",
                    docker::MANAGED_LABEL
                )),
            });
        }
    }
    let aside = docker::aside_name(name);
    if docker::inspect_container(d, &aside)
        .await?
        .is_some_and(|c| c.labels.contains_key(docker::MANAGED_LABEL))
    {
        docker::remove_container(d, &aside, mode).await?;
    }
    let action = docker::remove_container(d, name, mode).await?;
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
        left_alone: None,
    })
}

/// What letting go of a registry did.
#[derive(Debug, Clone, Serialize)]
pub struct ReleaseOutcome {
    pub name: String,
    /// `removed` (no cluster uses it any more), `unchanged` (another cluster uses it, or
    /// brrt did not create it), or `absent`.
    pub action: Action,
    pub volume: String,
    pub volume_action: Action,
    /// Why the container at that name was left as it is (brrt did not create it).
    pub left_alone: Option<String>,
    /// The other clusters it serves, for which it stays.
    pub serves: Vec<String>,
}

/// Lets go of a registry container that the kind cluster `cluster` no longer uses (dev-down;
/// a cache switched off): brrt's container is removed (with its volume unless `keep_volume`)
/// when no other cluster uses it, read from the nodes' mirrors (see [`users`]); while one
/// does, it stays as it is. It stays on the networks it is on, too: a container taken off a
/// network while it runs loses the connections it holds through it (a cache's, to its
/// upstream), which then hang rather than fail. A container brrt did not create is left
/// alone, and `left_alone` says why.
pub async fn release(
    d: &Docker,
    name: &str,
    cluster: &str,
    keep_volume: bool,
    mode: Mode,
) -> Result<ReleaseOutcome> {
    let ours = docker::inspect_container(d, name)
        .await?
        .is_some_and(|c| c.labels.contains_key(docker::MANAGED_LABEL));
    let serves: Vec<String> = if ours {
        users_of(d, name)
            .await?
            .into_iter()
            .filter(|u| u.cluster != cluster)
            .map(|u| u.cluster)
            .collect()
    } else {
        Vec::new()
    };
    if !serves.is_empty() {
        return Ok(ReleaseOutcome {
            name: name.to_string(),
            action: Action::Unchanged,
            volume: volume_name(name),
            volume_action: Action::Unchanged,
            left_alone: None,
            serves,
        });
    }
    let out = remove(d, name, keep_volume, mode).await?;
    Ok(ReleaseOutcome {
        name: out.name,
        action: out.action,
        volume: out.volume,
        volume_action: out.volume_action,
        left_alone: out.left_alone,
        serves,
    })
}

/// Empties a cache: removes its container and volume, then starts it again, empty, on every
/// network it was on (it serves the clusters there too). A container or volume brrt did not
/// create is refused before anything is removed, and so is a change of settings another
/// cluster's config does not want.
pub async fn clear(d: &Docker, spec: &CacheSpec, mode: Mode) -> Result<RegistryOutcome> {
    let name = spec.name();
    let volume = volume_name(&name);
    let current = docker::inspect_container(d, &name).await?;
    if current
        .as_ref()
        .is_some_and(|c| !c.labels.contains_key(docker::MANAGED_LABEL))
    {
        return Err(Error::NotOurs {
            what: "container".into(),
            name: name.clone(),
            advice: format!(
                "it was not emptied; brrt names its cache for {} so: give brrt's caches \
                 another name ([cache] name), or rename that container",
                spec.upstream
            ),
        });
    }
    if docker::inspect_volume(d, &volume)
        .await?
        .is_some_and(|v| !v.is_managed())
    {
        return Err(Error::NotOurs {
            what: "volume".into(),
            name: volume.clone(),
            advice: format!(
                "{name} was not emptied; remove the volume yourself (`docker volume rm \
                 {volume}`) if it is yours to lose"
            ),
        });
    }
    if let Some(c) = &current {
        // The cache every cluster shares comes back as their configs want it.
        sharing::check_settings(d, spec, c).await?;
    }
    remove(d, &name, false, mode).await?;
    let out = ensure_cache(d, spec, mode).await?;
    // It serves the clusters on every network it was on.
    for network in current.iter().flat_map(|c| &c.networks) {
        if spec.network.as_ref() != Some(network) && !mode.dry_run {
            docker::connect_network(d, network, &name, mode).await?;
        }
    }
    Ok(out)
}
