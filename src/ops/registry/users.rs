//! Which kind clusters use each registry container, read from the clusters' own nodes: the
//! hosts.toml files brrt wrote there (they start with its marker line) name the registries the
//! nodes pull from. A cache shared by every cluster on the engine goes by this, kept on the
//! engine rather than in a file of brrt's that could say otherwise.

use crate::ops::containerd::{self, MANAGED_MARKER};
use crate::ops::docker;
use crate::ops::kind::{CLUSTER_LABEL, NODE_ROLES, ROLE_LABEL};
use crate::ops::Result;
use bollard::Docker;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// One kind cluster whose nodes brrt wired to a registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterUse {
    pub cluster: String,
    /// The config that wired it, as the nodes' files name it (an absolute path); `None` for
    /// files an older brrt wrote.
    pub config: Option<String>,
    /// The networks its nodes are on, sorted.
    pub networks: Vec<String>,
    /// Its nodes that pull from the registry, sorted.
    pub nodes: Vec<String>,
}

/// For every registry container that brrt's files in some node send pulls to
/// (`http://<container>:5000`), the clusters whose nodes do, by cluster name. Every node of
/// every kind cluster on the engine is read (stopped ones too: a stopped cluster still counts
/// on its caches), one archive read each.
pub async fn users(d: &Docker) -> Result<BTreeMap<String, Vec<ClusterUse>>> {
    users_on(d, None).await
}

/// [`users`], reading only the nodes on one of `networks` (when given): a node on none of a
/// registry's networks cannot pull from it.
async fn users_on(
    d: &Docker,
    networks: Option<&[String]>,
) -> Result<BTreeMap<String, Vec<ClusterUse>>> {
    let nodes = docker::list_containers(d, &[CLUSTER_LABEL.to_string()]).await?;
    let mut found: BTreeMap<String, BTreeMap<String, ClusterUse>> = BTreeMap::new();
    for node in nodes {
        if networks.is_some_and(|nets| !node.networks.iter().any(|n| nets.contains(n))) {
            continue;
        }
        let role = node.labels.get(ROLE_LABEL).map(String::as_str);
        if !role.is_some_and(|r| NODE_ROLES.contains(&r)) {
            continue;
        }
        let Some(cluster) = node.labels.get(CLUSTER_LABEL).cloned() else {
            continue;
        };
        let files = match containerd::read_mirrors(d, &node.name).await {
            Ok(files) => files,
            // A node removed while it was read uses nothing any more.
            Err(e) => {
                tracing::debug!("the mirrors of node {} could not be read: {e}", node.name);
                continue;
            }
        };
        for text in files.values().filter(|t| t.starts_with(MANAGED_MARKER)) {
            for registry in registries_named(text) {
                let uses = found
                    .entry(registry)
                    .or_default()
                    .entry(cluster.clone())
                    .or_insert_with(|| ClusterUse {
                        cluster: cluster.clone(),
                        config: None,
                        networks: Vec::new(),
                        nodes: Vec::new(),
                    });
                if uses.config.is_none() {
                    uses.config = containerd::wired_from(text);
                }
                let networks: BTreeSet<String> = uses
                    .networks
                    .iter()
                    .chain(&node.networks)
                    .cloned()
                    .collect();
                uses.networks = networks.into_iter().collect();
                if !uses.nodes.contains(&node.name) {
                    uses.nodes.push(node.name.clone());
                    uses.nodes.sort();
                }
            }
        }
    }
    Ok(found
        .into_iter()
        .map(|(registry, clusters)| (registry, clusters.into_values().collect()))
        .collect())
}

/// The clusters that use the registry container `name`. Only the nodes that share a network
/// with it are read (a node on none of its networks cannot pull from it), so this stays cheap
/// however many clusters other networks hold.
pub async fn users_of(d: &Docker, name: &str) -> Result<Vec<ClusterUse>> {
    let Some(registry) = docker::inspect_container(d, name).await? else {
        return Ok(Vec::new());
    };
    Ok(users_on(d, Some(&registry.networks))
        .await?
        .remove(name)
        .unwrap_or_default())
}

/// The registry containers a mirror brrt wrote sends pulls to: `http://<name>:5000` hosts.
fn registries_named(text: &str) -> Vec<String> {
    containerd::mirror_urls(text)
        .iter()
        .filter_map(|url| {
            let name = url.strip_prefix("http://")?.strip_suffix(":5000")?;
            (!name.is_empty() && !name.contains(['/', ':'])).then(|| name.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mirror_names_the_registry_containers_it_pulls_from() {
        let cache = containerd::mirror_hosts(
            "docker.io",
            "http://brrt-cache-docker-io:5000",
            Some("https://registry-1.docker.io"),
        );
        assert_eq!(registries_named(&cache), ["brrt-cache-docker-io"]);
        let team = containerd::shared_hosts("docker.io", "https://cache.team:5000", None, None);
        assert!(registries_named(&team).is_empty());
    }
}
