//! kind clusters and nodes, found the way kind finds them: by the Docker labels on the node
//! containers. No kind CLI is needed to read them; creating a cluster uses the CLI.

use crate::ops::docker;
use crate::ops::{Action, Error, Mode, Result};
use bollard::Docker;
use serde::Serialize;
use std::collections::BTreeSet;

/// The label kind puts on every node container, holding the cluster name.
pub const CLUSTER_LABEL: &str = "io.x-k8s.kind.cluster";
/// The label holding a node's role (`control-plane` or `worker`).
pub const ROLE_LABEL: &str = "io.x-k8s.kind.role";

/// Where containerd looks for per-registry `hosts.toml` files in a node.
pub const CERTS_DIR: &str = "/etc/containerd/certs.d";

/// One node of a kind cluster.
#[derive(Debug, Clone, Serialize)]
pub struct Node {
    pub name: String,
    pub role: String,
    pub id: String,
    pub running: bool,
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

/// The nodes of `cluster`, control plane first.
pub async fn nodes(d: &Docker, cluster: &str) -> Result<Vec<Node>> {
    let list = docker::list_containers(d, &[format!("{CLUSTER_LABEL}={cluster}")]).await?;
    let mut nodes: Vec<Node> = list
        .into_iter()
        .map(|c| Node {
            role: c.labels.get(ROLE_LABEL).cloned().unwrap_or_default(),
            name: c.name,
            id: c.id,
            running: c.running,
        })
        .collect();
    nodes.sort_by(|a, b| {
        (a.role != "control-plane", &a.name).cmp(&(b.role != "control-plane", &b.name))
    });
    Ok(nodes)
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

/// A kind cluster config whose nodes read registry mirrors from [`CERTS_DIR`], so that brrt can
/// change mirrors later without re-creating the cluster.
pub fn cluster_config(name: &str, workers: usize) -> String {
    let mut yaml = format!(
        "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nname: {name}\ncontainerdConfigPatches:\n- |-\n  \
         [plugins.\"io.containerd.grpc.v1.cri\".registry]\n    config_path = \"{CERTS_DIR}\"\nnodes:\n- role: control-plane\n"
    );
    for _ in 0..workers {
        yaml.push_str("- role: worker\n");
    }
    yaml
}

/// Creates the cluster with the kind CLI unless its nodes exist already.
pub async fn ensure_cluster(d: &Docker, name: &str, config: &str, mode: Mode) -> Result<Action> {
    if !nodes(d, name).await?.is_empty() {
        return Ok(Action::Unchanged);
    }
    if !mode.announce(Action::Created, &format!("kind cluster {name}")) {
        return Ok(Action::Created);
    }
    let dir = std::env::temp_dir().join(format!("brrt-kind-{name}-{}.yaml", std::process::id()));
    std::fs::write(&dir, config).map_err(|e| Error::Other(format!("write kind config: {e}")))?;
    let status = tokio::process::Command::new("kind")
        .args(["create", "cluster", "--name", name, "--config"])
        .arg(&dir)
        .status()
        .await;
    let _ = std::fs::remove_file(&dir);
    match status {
        Ok(s) if s.success() => Ok(Action::Created),
        Ok(s) => Err(Error::Other(format!("`kind create cluster --name {name}` failed ({s})"))),
        Err(e) => Err(Error::Other(format!(
            "cannot run the kind CLI ({e}); install it from https://kind.sigs.k8s.io/docs/user/quick-start/"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_config_points_containerd_at_certs_dir() {
        let yaml = cluster_config("dev", 1);
        let value: serde_json::Value = serde_yaml::from_str(&yaml).unwrap();
        assert_eq!(value["name"], "dev");
        assert_eq!(value["nodes"].as_array().unwrap().len(), 2);
        let patch = value["containerdConfigPatches"][0].as_str().unwrap();
        let patch: toml::Value = toml::from_str(patch).unwrap();
        assert_eq!(
            patch["plugins"]["io.containerd.grpc.v1.cri"]["registry"]["config_path"].as_str(),
            Some(CERTS_DIR)
        );
    }
}
