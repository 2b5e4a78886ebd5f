//! What `brrt init` finds out on this machine before it writes brrt.toml: the kind clusters
//! and their networks, the current kubectl context, a push registry name and port nobody else
//! holds, and what on the engine dev-up would stop at (an old proxy, mirror files brrt did not
//! write).

use super::brrt_toml::{Findings, DEFAULT_PORT, DEFAULT_REGISTRY};
use super::image_refs;
use crate::ops::{docker, kind, registry, Result};
use bollard::Docker;
use std::path::Path;

/// What brrt.toml is filled with.
pub(super) async fn find(dir: &Path, d: Option<&Docker>) -> Result<Findings> {
    let clusters = match d {
        Some(d) => Some(kind::clusters(d).await?),
        None => None,
    };
    // The network each cluster is on, from its nodes; and where a new one would go.
    let default = kind::Configured {
        network: kind::KIND_DEFAULT_NETWORK,
        at: None,
    };
    let mut networks = std::collections::BTreeMap::new();
    if let Some(d) = d {
        for name in clusters.iter().flatten() {
            networks.insert(name.clone(), kind::network(d, name, default).await?);
        }
    }
    let env = std::env::var(kind::KIND_NETWORK_VAR).ok();
    networks.insert(
        String::new(),
        kind::cluster_network("", &[], default, env.as_deref()),
    );
    let registry_name = registry_name(d).await?;
    let (port, port_note) = free_port(d, &registry_name.0).await?;
    let scan = image_refs::scan(dir);
    Ok(Findings {
        clusters,
        networks,
        kube_context: crate::ops::k8s::current_context_if_any(),
        repo_name: dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        registry: registry_name.0,
        registry_note: registry_name.1,
        port,
        port_note,
        refs: scan.images,
        unread: scan.unread,
    })
}

/// `kind-registry`, unless a registry of that name exists that brrt did not create and that
/// holds pushed images (it is no proxy): brrt must leave that one alone, so its own is named
/// `brrt-registry`. An old proxy of that name is taken over by `brrt run migrate`.
async fn registry_name(d: Option<&Docker>) -> Result<(String, Option<String>)> {
    let Some(d) = d else {
        return Ok((DEFAULT_REGISTRY.to_string(), None));
    };
    match docker::inspect_container(d, DEFAULT_REGISTRY).await? {
        Some(c) if !c.labels.contains_key(docker::MANAGED_LABEL) && !registry::is_proxy(&c.env) => {
            Ok((
                "brrt-registry".to_string(),
                Some(format!(
                "{DEFAULT_REGISTRY} exists, was not made by brrt, and is no pull-through cache \
                 (it may hold pushed images), so brrt's push registry gets a name of its own"
            )),
            ))
        }
        _ => Ok((DEFAULT_REGISTRY.to_string(), None)),
    }
}

/// 5001, or the next port nobody holds. A port held by the registry brrt is about to take over
/// (its own push registry, or an old proxy `migrate` replaces) counts as free.
async fn free_port(d: Option<&Docker>, registry: &str) -> Result<(u16, Option<String>)> {
    let owner = match d {
        Some(d) => docker::inspect_container(d, registry).await?,
        None => None,
    };
    let mut first_holder = None;
    for port in DEFAULT_PORT..DEFAULT_PORT + 100 {
        let own = owner.as_ref().is_some_and(|c| c.publishes(port));
        if own {
            let note = (!owner
                .as_ref()
                .is_some_and(|c| c.labels.contains_key(docker::MANAGED_LABEL)))
            .then(|| {
                format!(
                    "{port} is held by {registry}, which `brrt run migrate` replaces with brrt's \
                     push registry"
                )
            });
            return Ok((port, note));
        }
        let holder = match d {
            Some(d) => docker::port_holder(d, "127.0.0.1", port, registry).await?,
            None => std::net::TcpListener::bind(("127.0.0.1", port))
                .err()
                .map(|_| "another process".to_string()),
        };
        match holder {
            None => {
                let note = first_holder.map(|h: String| {
                    format!("{DEFAULT_PORT} is taken by {h}, so the next free port")
                });
                return Ok((port, note));
            }
            Some(h) => {
                first_holder.get_or_insert(h);
            }
        }
    }
    Ok((
        DEFAULT_PORT,
        Some(format!(
            "ports {DEFAULT_PORT}-{} are all taken: pick a free one",
            DEFAULT_PORT + 99
        )),
    ))
}

/// One note per hosts.toml in the cluster's nodes that brrt did not write: dev-up stops at it
/// unless brrt may take it over (`take_over`), and the note says what to do.
pub(super) async fn foreign_mirror_notes(
    d: &Docker,
    cluster: &str,
    take_over: &[String],
) -> Result<Vec<String>> {
    let mut notes = Vec::new();
    for node in kind::nodes(d, cluster).await? {
        if !node.running {
            continue;
        }
        // A node that cannot be read (one being deleted, a paused one) costs init only a note:
        // dev-up reads it again before it writes anything.
        let found = match crate::ops::containerd::foreign_mirrors(d, &node.name).await {
            Ok(found) => found,
            Err(e) => {
                notes.push(format!(
                    "could not read the mirror files of node {} ({e}); dev-up checks them before it writes any",
                    node.name
                ));
                continue;
            }
        };
        for f in found {
            let taken = take_over.contains(&f.host);
            let remote = f
                .remote()
                .map(|to| {
                    format!(
                        "; to cache what it serves, [cache.remotes] {:?} = {to:?}",
                        f.host
                    )
                })
                .unwrap_or_default();
            notes.push(if taken {
                format!(
                    "{} was not written by brrt; cluster.take_over_mirrors names {}, so dev-up \
                     replaces it and keeps it as hosts.toml.brrt-original (dev-down puts it back)",
                    f.describe(),
                    f.host
                )
            } else {
                format!(
                    "{} was not written by brrt, so dev-up stops before changing anything while \
                     brrt would write a mirror for {}: add {:?} to [cluster] take_over_mirrors \
                     to let brrt replace it while it runs (the original is kept beside it and put \
                     back){remote}",
                    f.describe(),
                    f.host,
                    f.host
                )
            });
        }
    }
    Ok(notes)
}

/// Says what `migrate` does about an old proxy at the registry's name.
pub(super) async fn legacy_registry_note(d: Option<&Docker>, name: &str) -> Result<Option<String>> {
    let Some(d) = d else { return Ok(None) };
    Ok(match docker::inspect_container(d, name).await? {
        Some(c) if !c.labels.contains_key(docker::MANAGED_LABEL) && registry::is_proxy(&c.env) => {
            Some(format!(
                "{name} is a pull-through cache brrt did not create: `brrt run migrate` moves \
                 what it cached into brrt's cache and replaces it (`brrt run migrate \
                 --dry-run` shows the plan); dev-up alone would stop at it"
            ))
        }
        _ => None,
    })
}
