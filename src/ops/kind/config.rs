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

use super::CERTS_DIR;
use crate::ops::{Error, Result};
use serde::{Deserialize, Serialize};
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

// --- kind's v1alpha4 types, as kind reads them ------------------------------------------

/// `kind: Cluster`, `apiVersion: kind.x-k8s.io/v1alpha4`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KindConfig {
    pub kind: String,
    pub api_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub nodes: Vec<KindNode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub networking: Option<KindNetworking>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub containerd_config_patches: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KindNode {
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_mounts: Vec<KindMount>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_port_mappings: Vec<KindPortMapping>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KindMount {
    pub host_path: String,
    pub container_path: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub read_only: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub selinux_relabel: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub propagation: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KindPortMapping {
    pub container_port: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KindNetworking {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_family: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_server_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_server_port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_subnet: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_subnet: Option<String>,
    #[serde(
        default,
        rename = "disableDefaultCNI",
        skip_serializing_if = "Option::is_none"
    )]
    pub disable_default_cni: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube_proxy_mode: Option<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

// --- which containerd a node image runs ----------------------------------------------------

/// The first kindest/node patch release of each Kubernetes minor that kind v0.27 built (with
/// containerd 2.x); earlier patches of that minor were built by older kinds with containerd 1.x.
/// Minors after 1.32 exist only from kind v0.27 on; minors before 1.29 only before it.
const FIRST_CONTAINERD2_PATCH: [(u32, u32); 4] = [(29, 14), (30, 10), (31, 6), (32, 2)];

/// Whether a node image runs containerd 1.x (kind before v0.27): `Some(true)` or `Some(false)`
/// for a `…/node:v1.X.Y` tag, `None` when the tag says nothing.
pub fn image_runs_containerd_1(image: &str) -> Option<bool> {
    let image = image.split('@').next().unwrap_or(image);
    let (repo, tag) = image.rsplit_once(':')?;
    if repo.rsplit('/').next() != Some("node") {
        return None;
    }
    let mut parts = tag.strip_prefix('v')?.split('.');
    let (major, minor, patch) = (
        parts.next()?.parse::<u32>().ok()?,
        parts.next()?.parse::<u32>().ok()?,
        parts
            .next()?
            .split(['-', '+'])
            .next()?
            .parse::<u32>()
            .ok()?,
    );
    if major != 1 {
        return None;
    }
    Some(
        match FIRST_CONTAINERD2_PATCH.iter().find(|(m, _)| *m == minor) {
            Some((_, first)) => patch < *first,
            None => minor < 29,
        },
    )
}

/// Whether a kind CLI of this version (`0.27.0`, `v0.26.1`) defaults to a containerd 1.x image.
fn kind_defaults_to_containerd_1(version: &str) -> Option<bool> {
    let version = version.trim().trim_start_matches('v');
    let mut parts = version.split(['.', '-']);
    let major: u32 = parts.next()?.parse().ok()?;
    let minor: u32 = parts.next()?.parse().ok()?;
    Some(major == 0 && minor < 27)
}

/// The patch that points containerd 1.x's CRI plugin at [`CERTS_DIR`].
fn certs_dir_patch() -> String {
    let mut registry = toml::Table::new();
    registry.insert("config_path".into(), CERTS_DIR.into());
    let mut cri = toml::Table::new();
    cri.insert("registry".into(), registry.into());
    let mut plugins = toml::Table::new();
    plugins.insert("io.containerd.grpc.v1.cri".into(), cri.into());
    let mut root = toml::Table::new();
    root.insert("plugins".into(), plugins.into());
    toml::to_string(&root).expect("a table serializes")
}

/// The CRI plugin tables, in every layout containerd has used.
const CRI_TABLES: [&str; 3] = [
    "io.containerd.cri.v1.images",
    "io.containerd.grpc.v1.cri",
    "cri",
];

/// A user's containerd patch: valid TOML, no deprecated `registry.mirrors`, and no
/// `config_path` other than [`CERTS_DIR`].
fn check_patch(index: usize, patch: &str) -> Result<()> {
    let table: toml::Table = patch.parse().map_err(|e| {
        Error::InvalidSpec(format!(
            "kind::config: containerd_config_patches[{index}] is not valid TOML: {e}"
        ))
    })?;
    for cri in CRI_TABLES {
        let Some(registry) = table
            .get("plugins")
            .and_then(|p| p.get(cri))
            .and_then(|c| c.get("registry"))
        else {
            continue;
        };
        if let Some(mirrors) = registry.get("mirrors").and_then(toml::Value::as_table) {
            let hosts: Vec<&str> = mirrors.keys().map(String::as_str).collect();
            return Err(Error::InvalidSpec(format!(
                "kind::config: containerd_config_patches[{index}] sets the deprecated \
                 plugins.\"{cri}\".registry.mirrors ({}), but the nodes' containerd has \
                 config_path = \"{CERTS_DIR}\" (kind's node images set it since v0.27, and brrt \
                 adds it for older ones). With both, containerd does not load its CRI plugin \
                 (\"mirrors cannot be set when config_path is provided\") and the cluster never \
                 comes up. Remove the mirrors table: brrt writes every mirror as a hosts.toml \
                 under {CERTS_DIR}",
                hosts.join(", ")
            )));
        }
        if let Some(path) = registry.get("config_path").and_then(toml::Value::as_str) {
            if path != CERTS_DIR {
                return Err(Error::InvalidSpec(format!(
                    "kind::config: containerd_config_patches[{index}] sets config_path = \
                     \"{path}\", but brrt writes the mirrors under {CERTS_DIR}; remove that line"
                )));
            }
        }
    }
    Ok(())
}

fn one_of(what: &str, value: &str, allowed: &[&str]) -> Result<String> {
    allowed
        .iter()
        .find(|a| a.eq_ignore_ascii_case(value))
        .map(|a| a.to_string())
        .ok_or_else(|| {
            Error::InvalidSpec(format!(
                "kind::config: {what} `{value}` is not one of {}",
                allowed.join(", ")
            ))
        })
}

/// kind's rule for a cluster name.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidSpec(format!(
            "`{name}` is not a kind cluster name; use lowercase letters, digits, `-` and `.`"
        )))
    }
}

fn port_mapping(p: &PortMappingSpec) -> Result<KindPortMapping> {
    if p.container_port == 0 {
        return Err(Error::InvalidSpec(
            "kind::config: a port mapping needs container_port (1-65535)".into(),
        ));
    }
    Ok(KindPortMapping {
        container_port: p.container_port,
        host_port: p.host_port,
        listen_address: p.listen_address.clone(),
        protocol: p
            .protocol
            .as_deref()
            .map(|v| one_of("protocol", v, &["TCP", "UDP", "SCTP"]))
            .transpose()?,
    })
}

fn mount(m: &MountSpec) -> Result<KindMount> {
    for (what, path) in [
        ("host_path", &m.host_path),
        ("container_path", &m.container_path),
    ] {
        if !path.starts_with('/') {
            return Err(Error::InvalidSpec(format!(
                "kind::config: a mount's {what} must be an absolute path, not `{path}`"
            )));
        }
    }
    Ok(KindMount {
        host_path: m.host_path.clone(),
        container_path: m.container_path.clone(),
        read_only: m.read_only,
        selinux_relabel: m.selinux_relabel,
        propagation: m
            .propagation
            .as_deref()
            .map(|v| {
                one_of(
                    "propagation",
                    v,
                    &["None", "HostToContainer", "Bidirectional"],
                )
            })
            .transpose()?,
    })
}

fn networking(n: &NetworkingSpec) -> Result<KindNetworking> {
    Ok(KindNetworking {
        ip_family: n
            .ip_family
            .as_deref()
            .map(|v| one_of("ip_family", v, &["ipv4", "ipv6", "dual"]))
            .transpose()?,
        api_server_address: n.api_server_address.clone(),
        api_server_port: n.api_server_port,
        pod_subnet: n.pod_subnet.clone(),
        service_subnet: n.service_subnet.clone(),
        disable_default_cni: n.disable_default_cni,
        kube_proxy_mode: n
            .kube_proxy_mode
            .as_deref()
            .map(|v| {
                one_of(
                    "kube_proxy_mode",
                    v,
                    &["iptables", "ipvs", "nftables", "none"],
                )
            })
            .transpose()?,
    })
}

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

/// Whether any node runs containerd 1.x, judged by its image's tag or, for nodes left to
/// kind's default image, by the kind CLI's version. When neither says, kind is taken to be
/// v0.27 or later (containerd 2.x, `config_path` set in the image); doctor names a node whose
/// containerd ignores certs.d.
fn needs_certs_dir_patch(nodes: &[KindNode], kind_version: Option<&str>) -> bool {
    nodes.iter().any(|n| {
        let by_image = n.image.as_deref().and_then(image_runs_containerd_1);
        by_image
            .or_else(|| kind_version.and_then(kind_defaults_to_containerd_1))
            .unwrap_or(false)
    })
}

/// The config as YAML, for `kind create cluster --config`.
pub fn render(spec: &ClusterSpec) -> Result<String> {
    let config = build(spec)?;
    yaml_serde::to_string(&config).map_err(|e| Error::Other(format!("kind config: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What kind would read: the YAML parsed back into kind's own field names.
    fn rendered(spec: &ClusterSpec) -> yaml_serde::Value {
        yaml_serde::from_str(&render(spec).unwrap()).unwrap()
    }

    fn patch_of(config: &yaml_serde::Value, i: usize) -> toml::Table {
        config["containerdConfigPatches"][i]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    }

    #[test]
    fn one_node_is_a_control_plane_with_kinds_type_meta() {
        let config = rendered(&ClusterSpec {
            name: Some("dev".into()),
            node_image: Some("kindest/node:v1.33.1".into()),
            ..Default::default()
        });
        assert_eq!(config["kind"], "Cluster");
        assert_eq!(config["apiVersion"], "kind.x-k8s.io/v1alpha4");
        assert_eq!(config["name"], "dev");
        let nodes = config["nodes"].as_sequence().unwrap();
        assert_eq!(nodes.len(), 1);
        assert_eq!(nodes[0]["role"], "control-plane");
        assert_eq!(nodes[0]["image"], "kindest/node:v1.33.1");
        // A containerd 2.x image has config_path already: no patch, no empty keys.
        let map = config.as_mapping().unwrap();
        let keys: Vec<&str> = map.keys().filter_map(|k| k.as_str()).collect();
        assert_eq!(keys, ["kind", "apiVersion", "name", "nodes"]);
        assert_eq!(nodes[0].as_mapping().unwrap().len(), 2);
    }

    #[test]
    fn three_nodes_are_a_control_plane_and_two_workers_on_one_image() {
        let config = rendered(&ClusterSpec {
            workers: 2,
            node_image: Some("kindest/node:v1.32.2".into()),
            ..Default::default()
        });
        let nodes = config["nodes"].as_sequence().unwrap();
        let roles: Vec<&str> = nodes.iter().map(|n| n["role"].as_str().unwrap()).collect();
        assert_eq!(roles, ["control-plane", "worker", "worker"]);
        assert!(nodes.iter().all(|n| n["image"] == "kindest/node:v1.32.2"));
        assert!(config.get("name").is_none());
    }

    #[test]
    fn port_mappings_mounts_labels_and_networking_use_kinds_field_names() {
        let config = rendered(&ClusterSpec {
            nodes: Some(vec![
                NodeSpec {
                    role: "control-plane".into(),
                    extra_port_mappings: vec![
                        PortMappingSpec {
                            container_port: 30080,
                            host_port: Some(8080),
                            listen_address: Some("127.0.0.1".into()),
                            protocol: Some("tcp".into()),
                        },
                        PortMappingSpec {
                            container_port: 30053,
                            host_port: Some(8053),
                            protocol: Some("UDP".into()),
                            ..Default::default()
                        },
                    ],
                    labels: BTreeMap::from([("ingress-ready".into(), "true".into())]),
                    ..Default::default()
                },
                NodeSpec {
                    role: "worker".into(),
                    extra_mounts: vec![MountSpec {
                        host_path: "/srv/data".into(),
                        container_path: "/data".into(),
                        read_only: true,
                        propagation: Some("HostToContainer".into()),
                        ..Default::default()
                    }],
                    ..Default::default()
                },
            ]),
            networking: Some(NetworkingSpec {
                api_server_address: Some("127.0.0.1".into()),
                api_server_port: Some(6443),
                pod_subnet: Some("10.244.0.0/16".into()),
                disable_default_cni: Some(true),
                kube_proxy_mode: Some("nftables".into()),
                ip_family: Some("ipv4".into()),
                ..Default::default()
            }),
            kind_version: Some("0.29.0".into()),
            ..Default::default()
        });
        let cp = &config["nodes"][0];
        let web = &cp["extraPortMappings"][0];
        assert_eq!(web["containerPort"], 30080);
        assert_eq!(web["hostPort"], 8080);
        assert_eq!(web["listenAddress"], "127.0.0.1");
        assert_eq!(web["protocol"], "TCP");
        assert_eq!(cp["extraPortMappings"][1]["protocol"], "UDP");
        assert_eq!(cp["labels"]["ingress-ready"], "true");
        let m = &config["nodes"][1]["extraMounts"][0];
        assert_eq!(m["hostPath"], "/srv/data");
        assert_eq!(m["containerPath"], "/data");
        assert_eq!(m["readOnly"], true);
        assert_eq!(m["propagation"], "HostToContainer");
        assert!(m.get("selinuxRelabel").is_none());
        let net = &config["networking"];
        assert_eq!(net["apiServerAddress"], "127.0.0.1");
        assert_eq!(net["apiServerPort"], 6443);
        assert_eq!(net["podSubnet"], "10.244.0.0/16");
        assert_eq!(net["disableDefaultCNI"], true);
        assert_eq!(net["kubeProxyMode"], "nftables");
        assert_eq!(net["ipFamily"], "ipv4");
        // It reads back into kind's types whole.
        let back: KindConfig = yaml_serde::from_value(config.clone()).unwrap();
        assert_eq!(back.nodes.len(), 2);
    }

    #[test]
    fn an_old_node_image_gets_the_certs_dir_patch_and_a_new_one_does_not() {
        for (image, old) in [
            ("kindest/node:v1.31.4", true),
            ("kindest/node:v1.29.12@sha256:abc", true),
            ("kindest/node:v1.28.15", true),
            ("kindest/node:v1.31.6", false),
            ("kindest/node:v1.32.2", false),
            ("kindest/node:v1.34.0", false),
        ] {
            let config = rendered(&ClusterSpec {
                node_image: Some(image.into()),
                ..Default::default()
            });
            let patches = config.get("containerdConfigPatches");
            assert_eq!(patches.is_some(), old, "{image}");
            if old {
                let patch = patch_of(&config, 0);
                assert_eq!(
                    patch["plugins"]["io.containerd.grpc.v1.cri"]["registry"]["config_path"]
                        .as_str(),
                    Some(CERTS_DIR),
                    "{image}"
                );
            }
        }
    }

    #[test]
    fn without_an_image_the_kind_version_decides() {
        let with = |v: &str| {
            rendered(&ClusterSpec {
                kind_version: Some(v.into()),
                ..Default::default()
            })
            .get("containerdConfigPatches")
            .is_some()
        };
        assert!(with("v0.26.0"));
        assert!(!with("0.27.0"));
        assert!(rendered(&ClusterSpec::default())
            .get("containerdConfigPatches")
            .is_none());
    }

    #[test]
    fn user_patches_come_after_brrts() {
        let own = "[plugins.\"io.containerd.grpc.v1.cri\".containerd]\nsnapshotter = \"native\"\n";
        let config = rendered(&ClusterSpec {
            node_image: Some("kindest/node:v1.30.8".into()),
            containerd_config_patches: vec![own.into()],
            ..Default::default()
        });
        assert_eq!(config["containerdConfigPatches"][1], own);
        assert!(patch_of(&config, 0)["plugins"]["io.containerd.grpc.v1.cri"]
            .get("registry")
            .is_some());
    }

    #[test]
    fn a_mirrors_patch_is_refused_with_the_reason() {
        for cri in ["io.containerd.grpc.v1.cri", "io.containerd.cri.v1.images"] {
            let patch = format!(
                "[plugins.\"{cri}\".registry.mirrors.\"docker.io\"]\nendpoint = [\"http://kind-registry:5000\"]\n"
            );
            let e = build(&ClusterSpec {
                containerd_config_patches: vec![patch],
                ..Default::default()
            })
            .unwrap_err()
            .to_string();
            assert!(
                e.contains("containerd_config_patches[0] sets the deprecated"),
                "{e}"
            );
            assert!(e.contains("(docker.io)"), "{e}");
            assert!(
                e.contains("mirrors cannot be set when config_path is provided"),
                "{e}"
            );
        }
    }

    #[test]
    fn bad_values_are_named() {
        let cases: Vec<(ClusterSpec, &str)> = vec![
            (
                ClusterSpec {
                    name: Some("My_Cluster".into()),
                    ..Default::default()
                },
                "is not a kind cluster name",
            ),
            (
                ClusterSpec {
                    nodes: Some(vec![NodeSpec {
                        role: "worker".into(),
                        ..Default::default()
                    }]),
                    ..Default::default()
                },
                "needs a control-plane node",
            ),
            (
                ClusterSpec {
                    nodes: Some(vec![NodeSpec {
                        role: "master".into(),
                        ..Default::default()
                    }]),
                    ..Default::default()
                },
                "role `master` is not one of control-plane, worker",
            ),
            (
                ClusterSpec {
                    extra_mounts: vec![MountSpec {
                        host_path: "data".into(),
                        container_path: "/data".into(),
                        ..Default::default()
                    }],
                    ..Default::default()
                },
                "host_path must be an absolute path",
            ),
            (
                ClusterSpec {
                    extra_port_mappings: vec![
                        PortMappingSpec {
                            container_port: 80,
                            host_port: Some(8080),
                            ..Default::default()
                        },
                        PortMappingSpec {
                            container_port: 81,
                            host_port: Some(8080),
                            ..Default::default()
                        },
                    ],
                    ..Default::default()
                },
                "host port 8080 is mapped twice",
            ),
            (
                ClusterSpec {
                    containerd_config_patches: vec!["[plugins\n".into()],
                    ..Default::default()
                },
                "containerd_config_patches[0] is not valid TOML",
            ),
            (
                ClusterSpec {
                    networking: Some(NetworkingSpec {
                        kube_proxy_mode: Some("userspace".into()),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                "kube_proxy_mode `userspace` is not one of",
            ),
        ];
        for (spec, message) in cases {
            let e = build(&spec).unwrap_err().to_string();
            assert!(e.contains(message), "{e}");
        }
    }
}
