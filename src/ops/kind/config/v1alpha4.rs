//! kind's own config types (`kind: Cluster`, `apiVersion: kind.x-k8s.io/v1alpha4`) with kind's
//! field names, and each part of a spec checked into them as kind would accept it.

use super::spec::{MountSpec, NetworkingSpec, PortMappingSpec};
use crate::ops::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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

pub(super) fn one_of(what: &str, value: &str, allowed: &[&str]) -> Result<String> {
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

pub(super) fn port_mapping(p: &PortMappingSpec) -> Result<KindPortMapping> {
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

pub(super) fn mount(m: &MountSpec) -> Result<KindMount> {
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

pub(super) fn networking(n: &NetworkingSpec) -> Result<KindNetworking> {
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
