//! Rendered configs read back as kind reads them: field names, nodes, and the containerd patches.

use super::spec::{MountSpec, NetworkingSpec, PortMappingSpec};
use super::*;
use crate::ops::kind::CERTS_DIR;
use std::collections::BTreeMap;

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
                patch["plugins"]["io.containerd.grpc.v1.cri"]["registry"]["config_path"].as_str(),
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
