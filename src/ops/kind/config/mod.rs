//! A kind cluster config (`kind: Cluster`, `apiVersion: kind.x-k8s.io/v1alpha4`), rendered
//! from typed values through the YAML serializer, never by pasting strings together.
//!
//! brrt wires mirrors as `hosts.toml` under `/etc/containerd/certs.d`, which containerd reads
//! only when its CRI registry `config_path` points there. kind's node images set that
//! themselves since kind v0.27 (containerd 2.x); older images (containerd 1.x) need a
//! `containerdConfigPatches` entry for it, and get one. A user patch that sets the deprecated
//! `registry.mirrors` is refused: with `config_path` set as well, containerd does not load its
//! CRI plugin ("mirrors cannot be set when config_path is provided") and the cluster never
//! comes up.
//!
//! - this file: [`build`] and [`render`]
//! - [`spec`]: what a script asks for ([`ClusterSpec`])
//! - [`v1alpha4`]: kind's own types, and each part of a spec checked into them
//! - [`containerd_patches`]: the certs.d patch old node images need, and users' patches checked

mod containerd_patches;
mod spec;
mod v1alpha4;

pub use containerd_patches::image_runs_containerd_1;
pub use spec::{ClusterSpec, NodeSpec};
pub use v1alpha4::{check_name, KindConfig, KindNode};

use containerd_patches::{certs_dir_patch, check_patch, needs_certs_dir_patch};
use v1alpha4::{mount, networking, one_of, port_mapping};

use crate::ops::{Error, Result};

/// Turns a spec into kind's config, checked: roles, one control plane at least, ports,
/// mounts, networking values kind accepts, and the containerd patches.
pub fn build(spec: &ClusterSpec) -> Result<KindConfig> {
    if let Some(name) = &spec.name {
        check_name(name)?;
    }
    let wanted: Vec<NodeSpec> = match &spec.nodes {
        Some(nodes) => nodes.clone(),
        None => {
            let mut nodes = vec![NodeSpec {
                role: "control-plane".into(),
                extra_port_mappings: spec.extra_port_mappings.clone(),
                ..Default::default()
            }];
            nodes.extend((0..spec.workers).map(|_| NodeSpec {
                role: "worker".into(),
                ..Default::default()
            }));
            nodes
        }
    };
    if spec.nodes.is_some() && (spec.workers > 0 || !spec.extra_port_mappings.is_empty()) {
        return Err(Error::InvalidSpec(
            "kind::config: give either `nodes`, or `workers` and `extra_port_mappings`, not both"
                .into(),
        ));
    }
    let mut nodes = Vec::new();
    for n in &wanted {
        let role = one_of("role", &n.role, &["control-plane", "worker"])?;
        let mut extra_mounts = n
            .extra_mounts
            .iter()
            .map(mount)
            .collect::<Result<Vec<_>>>()?;
        for m in &spec.extra_mounts {
            extra_mounts.push(mount(m)?);
        }
        nodes.push(KindNode {
            role,
            image: n.image.clone().or_else(|| spec.node_image.clone()),
            labels: n.labels.clone(),
            extra_mounts,
            extra_port_mappings: n
                .extra_port_mappings
                .iter()
                .map(port_mapping)
                .collect::<Result<_>>()?,
        });
    }
    if !nodes.iter().any(|n| n.role == "control-plane") {
        return Err(Error::InvalidSpec(
            "kind::config: a cluster needs a control-plane node".into(),
        ));
    }
    let mut host_ports = std::collections::BTreeSet::new();
    for p in nodes.iter().flat_map(|n| &n.extra_port_mappings) {
        if let Some(port) = p.host_port {
            let key = (port, p.protocol.clone().unwrap_or_else(|| "TCP".into()));
            if !host_ports.insert(key) {
                return Err(Error::InvalidSpec(format!(
                    "kind::config: host port {port} is mapped twice"
                )));
            }
        }
    }

    for (i, patch) in spec.containerd_config_patches.iter().enumerate() {
        check_patch(i, patch)?;
    }
    let mut patches = Vec::new();
    if needs_certs_dir_patch(&nodes, spec.kind_version.as_deref()) {
        patches.push(certs_dir_patch());
    }
    patches.extend(spec.containerd_config_patches.iter().cloned());

    Ok(KindConfig {
        kind: "Cluster".into(),
        api_version: "kind.x-k8s.io/v1alpha4".into(),
        name: spec.name.clone(),
        nodes,
        networking: spec.networking.as_ref().map(networking).transpose()?,
        containerd_config_patches: patches,
    })
}
/// The config as YAML, for `kind create cluster --config`.
pub fn render(spec: &ClusterSpec) -> Result<String> {
    let config = build(spec)?;
    yaml_serde::to_string(&config).map_err(|e| Error::Other(format!("kind config: {e}")))
}

#[cfg(test)]
mod tests;
