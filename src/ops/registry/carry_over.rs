//! Caches from before they were shared: each config had its own, `<registry.name>-<upstream>`
//! (`kind-registry-docker-io`), grouped by a label with its push registry. dev-up carries each
//! into the cache of its upstream that every cluster shares (`brrt-cache-docker-io`), with
//! migrate's machinery: the old storage is copied into the shared cache's volume through the
//! engine's archive API, and the old container and volume go only once that volume, served
//! offline, holds every tag, manifest and blob the old one held.

use super::cache_spec::CacheSpec;
use super::container::{volume_name, DATA_DIR, GROUP_LABEL, ROLE_LABEL, UPSTREAM_LABEL};
use super::migrate::{
    check_cache_volume, check_role, copy_storage, create_idle, verify_storage, CopyOutcome, Served,
    StorageSource,
};
use crate::ops::docker::{self, MANAGED_LABEL};
use crate::ops::{upstream, Action, Mode, Result};
use bollard::Docker;
use serde::Serialize;
use std::collections::BTreeMap;

/// Role label of the container made on an old cache's volume, to read it, when the old cache
/// container is gone (it had been switched off).
const READER_ROLE: &str = "carry-over-source";

/// One config's own cache from before caches were shared: its container, its volume, or both.
#[derive(Debug, Clone, Serialize)]
pub struct PerConfigCache {
    pub upstream: String,
    /// `<registry>-<upstream>`, when the container is still there.
    pub container: Option<String>,
    pub running: bool,
    /// Its volume, `<registry>-<upstream>-data`, when it is still there.
    pub volume: Option<String>,
}

/// The caches brrt made, before they were shared, for the config whose push registry is
/// `registry`: the containers and volumes it labelled as that registry's caches. Two listings,
/// whatever their number.
pub async fn per_config_caches(d: &Docker, registry: &str) -> Result<Vec<PerConfigCache>> {
    let labels = [
        format!("{ROLE_LABEL}=cache"),
        format!("{GROUP_LABEL}={registry}"),
    ];
    let mut volume_labels = vec![MANAGED_LABEL.to_string()];
    volume_labels.extend(labels.iter().cloned());
    // Both at once: a no-op dev-up asks them on every run.
    let (containers, volumes) = tokio::try_join!(
        docker::list_containers(d, &labels),
        docker::list_volumes(d, &volume_labels)
    )?;
    let mut found: BTreeMap<String, PerConfigCache> = BTreeMap::new();
    for c in containers {
        if !c.labels.contains_key(MANAGED_LABEL) || c.name.ends_with(docker::ASIDE) {
            continue;
        }
        let Some(up) = c.labels.get(UPSTREAM_LABEL) else {
            continue;
        };
        let entry = found.entry(up.clone()).or_insert_with(|| empty(up));
        entry.running = c.running;
        entry.container = Some(c.name);
    }
    for v in volumes {
        let Some(up) = v.labels.get(UPSTREAM_LABEL) else {
            continue;
        };
        found.entry(up.clone()).or_insert_with(|| empty(up)).volume = Some(v.name);
    }
    Ok(found.into_values().collect())
}

fn empty(upstream: &str) -> PerConfigCache {
    PerConfigCache {
        upstream: upstream.into(),
        container: None,
        running: false,
        volume: None,
    }
}

/// What carrying a per-config cache over did.
#[derive(Debug, Clone, Serialize)]
pub struct CarriedOver {
    /// The old cache, `<registry>-<upstream>`.
    pub from: String,
    /// The shared cache's volume it went into.
    pub volume: String,
    /// `updated` when carried over (`would` under --dry-run), `unchanged` when there was
    /// nothing to carry.
    pub action: Action,
    pub copied: Option<CopyOutcome>,
    /// What the shared cache's volume, served offline, was checked to hold.
    pub served: Option<Served>,
    /// The old container and volume, removed once the check passed.
    pub removed: Vec<String>,
}

/// Carries the cache that the config of push registry `spec.registry` had for `spec.upstream`
/// before caches were shared into the shared cache `spec` names: copies its storage into the
/// shared cache's volume (merging into what is there), checks that volume against the old
/// storage offline, then removes the old container and its volume. Nothing brrt did not
/// create is touched (a container or volume at the old name without brrt's labels is not an
/// old cache of brrt's), and a volume at the shared name that brrt did not create is refused
/// before anything changes. A copy that fails leaves the old cache as it was (running again
/// if it ran); a check that fails leaves it stopped, with its data, and the next run carries
/// it over again.
pub async fn carry_over(d: &Docker, spec: &CacheSpec, mode: Mode) -> Result<CarriedOver> {
    let cache = spec.name();
    let volume = volume_name(&cache);
    let Some(group) = spec.registry.as_deref() else {
        return Ok(nothing(String::new(), volume));
    };
    let from = upstream::cache_name(group, &spec.upstream);
    // With cache.name = registry.name the old cache is the shared one: its volume stays.
    if from == cache {
        return Ok(nothing(from, volume));
    }
    let old = per_config_caches(d, group)
        .await?
        .into_iter()
        .find(|c| c.upstream == spec.upstream);
    let Some(old) = old else {
        return Ok(nothing(from, volume));
    };
    check_cache_volume(d, &volume).await?;
    let what = format!("{from}'s data into volume {volume}");
    if !mode.announce(
        Action::Updated,
        &format!("volume {volume} with what {from} holds (carried over, then {from} removed)"),
    ) {
        return Ok(CarriedOver {
            action: Action::Updated,
            ..nothing(from, volume)
        });
    }
    // The old storage is read from the old container, or from one made on its volume.
    let reader = format!("{from}-{READER_ROLE}");
    let source = match &old.container {
        Some(container) => StorageSource {
            container: container.clone(),
            path: DATA_DIR.into(),
            running: old.running,
        },
        None => {
            check_role(d, &reader, READER_ROLE).await?;
            docker::remove_keeping_volumes(d, &reader).await?;
            let old_volume = old.volume.clone().unwrap_or_default();
            docker::ensure_image(d, &spec.image).await?;
            create_idle(d, &reader, READER_ROLE, group, &old_volume, &spec.image).await?;
            StorageSource {
                container: reader.clone(),
                path: DATA_DIR.into(),
                running: false,
            }
        }
    };
    let copied = copy_storage(d, &source, spec, what).await;
    let checked = match copied {
        Ok(copied) => verify_storage(d, &source.container, DATA_DIR, spec)
            .await
            .map(|served| (copied, served)),
        Err(e) => Err(e),
    };
    let (copied, served) = match checked {
        Ok(done) => done,
        Err(e) => {
            if old.container.is_none() {
                let _ = docker::remove_keeping_volumes(d, &reader).await;
            }
            return Err(e);
        }
    };
    let mut removed = Vec::new();
    if let Some(container) = &old.container {
        docker::remove_keeping_volumes(d, container).await?;
        removed.push(container.clone());
    } else {
        docker::remove_keeping_volumes(d, &reader).await?;
    }
    if let Some(old_volume) = &old.volume {
        if docker::remove_managed_volume(d, old_volume, mode).await? == Action::Removed {
            removed.push(old_volume.clone());
        }
    }
    tracing::info!(
        "carried {from} over into {cache}: {} image(s), {} manifest(s), {} blob(s); removed {}",
        served.images,
        served.manifests,
        served.blobs,
        removed.join(", ")
    );
    Ok(CarriedOver {
        from,
        volume,
        action: Action::Updated,
        copied: Some(copied),
        served: Some(served),
        removed,
    })
}

fn nothing(from: String, volume: String) -> CarriedOver {
    CarriedOver {
        from,
        volume,
        action: Action::Unchanged,
        copied: None,
        served: None,
        removed: Vec::new(),
    }
}
