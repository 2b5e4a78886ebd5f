//! The check a flow makes before it changes anything: every name, volume, image and port the
//! registries need is brrt's, absent or free, so a flow that would be refused halfway never
//! starts.

use super::cache_spec::CacheSpec;
use super::container::{is_proxy, volume_name, REGISTRY_READY};
use super::push::PushRegistrySpec;
use super::sharing;
use crate::ops::docker;
use crate::ops::{Error, Mode, Result};
use bollard::Docker;
use std::collections::BTreeMap;

/// Checks, before a flow changes anything, that every registry it is about to ensure can be
/// made, and that brrt may use every name it needs: the containers at the push registry's and
/// the caches' names (and the names they go aside under while they are replaced) and their
/// volumes are brrt's or absent; each image is here (pulled if not; under `--dry-run` only
/// looked up); the push registry's host port is free or already its own. The first problem is
/// returned, and nothing has changed. `replacing`: the flow puts the container at the push
/// registry's name aside itself (migrate), so that one is not refused.
///
/// Once nothing is refused, a switch that a killed run left half done is finished (see
/// [`docker::finish_switch`]), saying which way; those are returned.
pub async fn preflight(
    d: &Docker,
    push: &PushRegistrySpec,
    caches: &[CacheSpec],
    replacing: bool,
    mode: Mode,
) -> Result<Vec<docker::FinishedSwitch>> {
    // One listing for the names the push registry's and each set of caches' begin with.
    let mut prefixes = vec![push.name.as_str()];
    for c in caches {
        if !prefixes.contains(&c.set.as_str()) {
            prefixes.push(&c.set);
        }
    }
    let containers = docker::containers_named(d, &prefixes).await?;
    let mut names = vec![push.name.clone()];
    names.extend(caches.iter().map(CacheSpec::name));
    for name in &names {
        if let Some(c) = containers.get(name) {
            let replaced = replacing && *name == push.name;
            if !c.labels.contains_key(docker::MANAGED_LABEL) && !replaced {
                return Err(not_ours(d, name, push).await);
            }
        }
        let aside = docker::aside_name(name);
        if containers
            .get(&aside)
            .is_some_and(|c| !c.labels.contains_key(docker::MANAGED_LABEL))
        {
            return Err(Error::NotOurs {
                what: "container".into(),
                name: aside,
                advice: format!(
                    "brrt renames {name} to that name while it replaces it; rename or remove \
                     that container, or give brrt's registries another name (registry.name)"
                ),
            });
        }
    }
    // A volume brrt's own container of that name mounts already (one from before brrt labelled
    // its volumes) is left as it is: nothing new is written into someone else's. When every
    // container is brrt's (the common no-op), no volume needs a look.
    let brrts = |name: &String| {
        containers
            .get(name)
            .is_some_and(|c| c.labels.contains_key(docker::MANAGED_LABEL))
    };
    let unowned: Vec<&String> = names.iter().filter(|n| !brrts(n)).collect();
    let volumes = if unowned.is_empty() {
        BTreeMap::new()
    } else {
        docker::volumes_named(d, &prefixes).await?
    };
    for name in unowned {
        let volume = volume_name(name);
        if volumes.get(&volume).is_some_and(|v| !v.is_managed()) {
            let which = if *name == push.name {
                "give brrt's push registry another name (registry.name)"
            } else {
                "give brrt's caches another name ([cache] name)"
            };
            return Err(Error::NotOurs {
                what: "volume".into(),
                name: volume,
                advice: format!(
                    "brrt keeps the data of {name} in a volume of that name and would write \
                     into it; {which}, or remove that volume yourself (`docker volume rm {})` \
                     if it is yours to lose",
                    volume_name(name)
                ),
            });
        }
    }
    // A cache every cluster shares changes only as the configs of all of them want it.
    for spec in caches {
        let Some(listed) = containers.get(&spec.name()) else {
            continue;
        };
        if sharing::agrees(spec, listed)? {
            continue;
        }
        if let Some(current) = docker::inspect_container(d, &listed.name).await? {
            sharing::check_settings(d, spec, &current).await?;
        }
    }
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
    if !containers
        .get(&push.name)
        .is_some_and(|c| c.publishes(push.port))
    {
        if let Some(holder) = docker::port_holder(d, &push.host_ip, push.port, &push.name).await? {
            return Err(Error::PortInUse {
                ip: push.host_ip.clone(),
                port: push.port,
                holder,
            });
        }
    }
    let mut finished = Vec::new();
    if !mode.dry_run {
        for name in &names {
            if containers.contains_key(&docker::aside_name(name)) {
                finished.extend(docker::finish_switch(d, name, &REGISTRY_READY).await?);
            }
        }
    }
    Ok(finished)
}

/// Why brrt will not use the registry name `name`, held by a container it did not create, and
/// what the user can do: `brrt run migrate` for a pull-through cache made by hand at the push
/// registry's name, another registry.name otherwise.
async fn not_ours(d: &Docker, name: &str, push: &PushRegistrySpec) -> Error {
    let proxy = docker::inspect_container(d, name)
        .await
        .ok()
        .flatten()
        .is_some_and(|c| is_proxy(&c.env));
    let advice = if name == push.name && proxy {
        "it is a pull-through cache made by hand: `brrt run migrate` moves what it cached into \
         brrt's cache and puts brrt's push registry in its place (`brrt run migrate --dry-run` \
         shows the plan)"
            .to_string()
    } else if name == push.name {
        "it may hold images pushed to it that exist nowhere else: give brrt's push registry \
         another name (registry.name in brrt.toml, and registry.port if it holds that port)"
            .to_string()
    } else {
        format!(
            "brrt names its caches <cache.name>-<upstream> (brrt-cache-docker-io, shared by \
             every cluster on the engine), and {name} is one of them: give brrt's caches \
             another name ([cache] name in brrt.toml), or rename that container"
        )
    };
    Error::NotOurs {
        what: "container".into(),
        name: name.into(),
        advice,
    }
}
