//! What a script asks for when it makes a kind cluster ([`ClusterSpec`]), as plain data in
//! snake_case: below both the checks into kind's own types and the rendering.

use serde::Deserialize;
use std::collections::BTreeMap;

/// What a script asks for, in snake_case. `workers`, `node_image`, `extra_port_mappings` and
/// `extra_mounts` are shorthands: without `nodes`, the cluster is one control plane (with the
/// port mappings) and `workers` workers, every node with the mounts and `node_image`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSpec {
    pub name: Option<String>,
    #[serde(default)]
    pub workers: u32,
    pub node_image: Option<String>,
    pub nodes: Option<Vec<NodeSpec>>,
    #[serde(default)]
    pub extra_port_mappings: Vec<PortMappingSpec>,
    #[serde(default)]
    pub extra_mounts: Vec<MountSpec>,
    pub networking: Option<NetworkingSpec>,
    #[serde(default)]
    pub containerd_config_patches: Vec<String>,
    /// The kind CLI's version (`kind::version()`), which picks the node image when none is
    /// named: it decides whether the `config_path` patch is needed.
    pub kind_version: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    pub role: String,
    pub image: Option<String>,
    #[serde(default)]
    pub extra_port_mappings: Vec<PortMappingSpec>,
    #[serde(default)]
    pub extra_mounts: Vec<MountSpec>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortMappingSpec {
    pub container_port: u16,
    pub host_port: Option<u16>,
    pub listen_address: Option<String>,
    pub protocol: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MountSpec {
    pub host_path: String,
    pub container_path: String,
    #[serde(default)]
    pub read_only: bool,
    #[serde(default)]
    pub selinux_relabel: bool,
    pub propagation: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkingSpec {
    pub ip_family: Option<String>,
    pub api_server_address: Option<String>,
    pub api_server_port: Option<u16>,
    pub pod_subnet: Option<String>,
    pub service_subnet: Option<String>,
    pub disable_default_cni: Option<bool>,
    pub kube_proxy_mode: Option<String>,
}
