//! kind clusters and nodes, found the way kind finds them: by the Docker labels on the node
//! containers. No kind CLI is needed to read them. Creating, deleting and loading images go
//! through the kind CLI (`cli`), with a config rendered from typed values (`config`).
//!
//! - `containerd_registry`: how a node's containerd finds registry hosts.
//! - `config`: a kind `Cluster` config (kind.x-k8s.io/v1alpha4).
//! - `cli`: `kind delete/get/load …`, killed with the run.
//! - `create`: `kind create cluster`, which a stopped run never leaves half-made.
//! - `network`: the Docker network the cluster is on, from its nodes.
//! - `reach`: whether a node's containerd resolves and reaches a registry.

mod cli;
mod config;
mod containerd_registry;
mod create;
mod marker;
mod network;
mod reach;

pub use cli::{delete, exists, kubeconfig, load_image, version, KindCli};
pub use config::{build, image_runs_containerd_1, render, ClusterSpec, KindConfig};
pub use containerd_registry::{
    containerd_registry, registry_from_probe, split_probe, ContainerdRegistry, REGISTRY_PROBE,
};
pub use create::{create, creates_settled, unfinished};
pub use network::{
    cluster_network, ClusterNetwork, Configured, KIND_DEFAULT_NETWORK, KIND_NETWORK_VAR,
};
pub use reach::{reaches, Reach};

use crate::ops::docker;
use crate::ops::{Error, Result};
use bollard::Docker;
use serde::Serialize;
use std::collections::BTreeSet;

/// The label kind puts on every node container, holding the cluster name.
pub const CLUSTER_LABEL: &str = "io.x-k8s.kind.cluster";
/// The label holding a node's role (`control-plane` or `worker`).
pub const ROLE_LABEL: &str = "io.x-k8s.kind.role";
/// The roles of containers that are Kubernetes nodes. kind labels other containers of a
/// cluster too: an HA cluster (several control planes) has an `external-load-balancer`, which
/// runs envoy, not containerd, and is no node.
pub const NODE_ROLES: [&str; 2] = ["control-plane", "worker"];

/// Where containerd looks for per-registry `hosts.toml` files in a node.
pub const CERTS_DIR: &str = "/etc/containerd/certs.d";

/// One container of a kind cluster: a node, or another container kind made for the cluster.
#[derive(Debug, Clone, Serialize)]
pub struct Node {
    pub name: String,
    pub role: String,
    pub id: String,
    pub running: bool,
    /// The Docker networks it is on, sorted.
    pub networks: Vec<String>,
}

/// The names of every kind cluster on the engine.
pub async fn clusters(d: &Docker) -> Result<Vec<String>> {
    let nodes = docker::list_containers(d, &[CLUSTER_LABEL.to_string()]).await?;
    let names: BTreeSet<String> = nodes
        .into_iter()
        .filter_map(|c| c.labels.get(CLUSTER_LABEL).cloned())
        .collect();
    Ok(names.into_iter().collect())
}

/// The nodes of `cluster` (roles `control-plane` and `worker`), control planes first.
pub async fn nodes(d: &Docker, cluster: &str) -> Result<Vec<Node>> {
    let (nodes, _) = containers(d, cluster).await?;
    Ok(nodes)
}

/// The Docker network of `cluster`: its nodes' when it has nodes, else the one kind will put
/// them on (see [`cluster_network`]).
pub async fn network(
    d: &Docker,
    cluster: &str,
    configured: Configured<'_>,
) -> Result<ClusterNetwork> {
    let nodes = nodes(d, cluster).await?;
    let env = std::env::var(KIND_NETWORK_VAR).ok();
    Ok(cluster_network(cluster, &nodes, configured, env.as_deref()))
}

/// The containers kind labelled with `cluster` that are not nodes (an HA cluster's external
/// load balancer): nothing brrt writes goes there.
pub async fn not_nodes(d: &Docker, cluster: &str) -> Result<Vec<Node>> {
    let (_, others) = containers(d, cluster).await?;
    Ok(others)
}

/// Every container labelled with `cluster`, split into nodes and the rest, each sorted.
async fn containers(d: &Docker, cluster: &str) -> Result<(Vec<Node>, Vec<Node>)> {
    let list = docker::list_containers(d, &[format!("{CLUSTER_LABEL}={cluster}")]).await?;
    let (mut nodes, mut others): (Vec<Node>, Vec<Node>) = list
        .into_iter()
        .map(|c| {
            let mut networks = c.networks;
            networks.sort();
            Node {
                role: c.labels.get(ROLE_LABEL).cloned().unwrap_or_default(),
                name: c.name,
                id: c.id,
                running: c.running,
                networks,
            }
        })
        .partition(|n| NODE_ROLES.contains(&n.role.as_str()));
    nodes.sort_by(|a, b| {
        (a.role != "control-plane", &a.name).cmp(&(b.role != "control-plane", &b.name))
    });
    others.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((nodes, others))
}

/// The containerd version running in a node (`containerd --version`).
pub async fn containerd_version(d: &Docker, node: &str) -> Result<String> {
    let out = docker::exec(d, node, &["containerd".into(), "--version".into()]).await?;
    if out.code != 0 {
        return Err(Error::ExecFailed {
            container: node.into(),
            command: "containerd --version".into(),
            code: out.code,
            stderr: out.stderr.trim().into(),
        });
    }
    Ok(out.stdout.trim().to_string())
}

/// The containerd config of a node (`/etc/containerd/config.toml`).
pub async fn containerd_config(d: &Docker, node: &str) -> Result<String> {
    let files = docker::read_dir_files(d, node, "/etc/containerd/config.toml").await?;
    files
        .into_values()
        .next()
        .ok_or_else(|| Error::Other(format!("{node} has no /etc/containerd/config.toml")))
}
