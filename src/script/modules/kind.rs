//! `kind::` — clusters and nodes, found by kind's Docker labels; kind configs; and the cluster
//! lifecycle through the kind CLI.

use crate::ops::kind as ops;
use crate::script::api_doc::ModuleBuilder;
use crate::script::context::ScriptContext;
use crate::script::convert::{
    from_dynamic, runtime_error, script_error, to_dynamic, with_docker, RhaiResult,
};
use rhai::{Dynamic, Map};
use std::sync::Arc;

pub fn register(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
    clusters(m, ctx);
    network(m, ctx);
    containerd(m, ctx);
    register_cli(m, ctx);
}

/// The clusters on the engine, and their nodes.
fn clusters(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
    let c = ctx.clone();
    m.func(
        "clusters",
        &[],
        "Array",
        "Names of the kind clusters on the engine (no kind CLI needed).",
        move || -> RhaiResult<Dynamic> {
            to_dynamic(&with_docker(
                &c,
                |d| async move { ops::clusters(&d).await },
            )?)
        },
    );
    let c = ctx.clone();
    m.func(
        "nodes",
        &["cluster: String"],
        "Array",
        "The nodes of a cluster (roles control-plane and worker), control planes first: \
         #{name, role, id, running, networks} each. Other containers kind labels with the \
         cluster (an HA cluster's external-load-balancer) are not nodes; see kind::not_nodes.",
        move |cluster: &str| -> RhaiResult<Dynamic> {
            let cluster = cluster.to_string();
            to_dynamic(&with_docker(&c, |d| async move {
                ops::nodes(&d, &cluster).await
            })?)
        },
    );
    let c = ctx.clone();
    m.func(
        "not_nodes",
        &["cluster: String"],
        "Array",
        "The containers kind labels with the cluster that are not Kubernetes nodes (an HA \
         cluster's external-load-balancer, which runs envoy): #{name, role, id, running, \
         networks} each. Nothing brrt writes goes into them.",
        move |cluster: &str| -> RhaiResult<Dynamic> {
            let cluster = cluster.to_string();
            to_dynamic(&with_docker(&c, |d| async move {
                ops::not_nodes(&d, &cluster).await
            })?)
        },
    );
}

/// A cluster's network, and whether a node reaches a registry through it.
fn network(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
    let c = ctx.clone();
    m.func(
        "network",
        &["cluster: Map"],
        "Map",
        "The Docker network of a cluster, from its [cluster] config (#{name, network, \
         network_at}, as config::brrt gives it): the network its nodes are on when it has \
         nodes, else the configured one, else KIND_EXPERIMENTAL_DOCKER_NETWORK, else `kind`. \
         Returns #{name, from, problem}; problem is () or one line naming both networks and \
         what to do, when the config names another network than the nodes are on.",
        move |cluster: Map| -> RhaiResult<Dynamic> {
            let text = |key: &str| -> Option<String> {
                cluster
                    .get(key)
                    .filter(|v| !v.is_unit())
                    .map(ToString::to_string)
            };
            let (Some(name), Some(network)) = (text("name"), text("network")) else {
                return Err(runtime_error(
                    "kind::network: give the [cluster] table of config::brrt, with name and \
                     network",
                ));
            };
            let at = text("network_at");
            to_dynamic(&with_docker(&c, |d| async move {
                let configured = ops::Configured {
                    network: &network,
                    at: at.as_deref(),
                };
                ops::network(&d, &name, configured).await
            })?)
        },
    );
    let c = ctx.clone();
    m.func(
        "reaches",
        &["node: String", "url: String"],
        "Map",
        "Whether a node's containerd resolves and reaches the registry at url (http://name:5000, \
         as a hosts.toml [host] names it), checked from inside the node with its own ctr: \
         #{host, answers, problem}; problem is () or what went wrong (the name does not resolve, \
         nothing answers, containerd's words). Nothing is pulled.",
        move |node: &str, url: &str| -> RhaiResult<Dynamic> {
            let (node, url) = (node.to_string(), url.to_string());
            to_dynamic(&with_docker(&c, |d| async move {
                ops::reaches(&d, &node, &url).await
            })?)
        },
    );
}

/// The containerd a node runs, and how it finds registry hosts.
fn containerd(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
    let c = ctx.clone();
    m.func(
        "containerd_version",
        &["node: String"],
        "String",
        "The containerd version a node runs.",
        move |node: &str| -> RhaiResult<String> {
            let node = node.to_string();
            with_docker(
                &c,
                |d| async move { ops::containerd_version(&d, &node).await },
            )
        },
    );
    let c = ctx.clone();
    m.func(
        "containerd_config",
        &["node: String"],
        "String",
        "A node's /etc/containerd/config.toml.",
        move |node: &str| -> RhaiResult<String> {
            let node = node.to_string();
            with_docker(
                &c,
                |d| async move { ops::containerd_config(&d, &node).await },
            )
        },
    );
    let c = ctx.clone();
    m.func(
        "containerd_registry",
        &["node: String"],
        "Map",
        "How a node's containerd finds registry hosts, read in the config layout of the version it \
         runs (1.x or 2.x): #{version, major, config_version, config_path, config_path_table, \
         unread_config_path_table, reads_certs_dir, legacy_mirrors}.",
        move |node: &str| -> RhaiResult<Dynamic> {
            let node = node.to_string();
            to_dynamic(&with_docker(&c, |d| async move {
                ops::containerd_registry(&d, &node).await
            })?)
        },
    );
}

/// Runs a kind CLI operation from a native function, stopped (and the process killed) on cancel.
fn with_kind<T>(
    c: &ScriptContext,
    f: impl std::future::Future<Output = crate::ops::Result<T>>,
) -> RhaiResult<T> {
    c.block_on(f).map_err(|e| script_error(c, e))
}

/// The cluster lifecycle through the kind CLI, and kind's config.
fn register_cli(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
    cli_config(m, ctx);
    cli_create(m, ctx);
    cli_delete(m, ctx);
    cli_use(m, ctx);
}

/// A cluster's config, and what the kind CLI knows.
fn cli_config(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
    m.func(
        "config",
        &["spec: Map"],
        "String",
        "Renders a kind cluster config (kind.x-k8s.io/v1alpha4) from #{name, workers, node_image, \
         nodes: [#{role, image, labels, extra_port_mappings, extra_mounts}], extra_port_mappings: \
         [#{container_port, host_port, listen_address, protocol}] (control plane), extra_mounts: \
         [#{host_path, container_path, read_only, propagation}] (every node), networking: \
         #{api_server_address, api_server_port, pod_subnet, service_subnet, disable_default_cni, \
         kube_proxy_mode, ip_family}, containerd_config_patches, kind_version}. Adds the certs.d \
         config_path patch only for node images older than kind v0.27 (containerd 1.x); refuses a \
         patch that sets the deprecated registry.mirrors.",
        |spec: Map| -> RhaiResult<String> {
            let spec: ops::ClusterSpec = from_dynamic("kind::config", &spec.into())?;
            ops::render(&spec).map_err(runtime_error)
        },
    );
    let c = ctx.clone();
    m.func(
        "version",
        &[],
        "String",
        "The kind CLI's version, e.g. \"0.27.0\" (`kind version`).",
        move || -> RhaiResult<String> {
            with_kind(&c, async { ops::version(&ops::KindCli::default()).await })
        },
    );
    let c = ctx.clone();
    m.func(
        "exists",
        &["name: String"],
        "bool",
        "Whether the kind CLI knows a cluster of this name (`kind get clusters`).",
        move |name: &str| -> RhaiResult<bool> {
            let name = name.to_string();
            with_kind(&c, async move {
                ops::exists(&ops::KindCli::default(), &name).await
            })
        },
    );
}

/// Creating a cluster.
fn cli_create(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
    for (params, doc) in [
        (
            &["name: String", "config: String"][..],
            "Creates a kind cluster with a config (YAML, e.g. from kind::config) unless one of \
             that name exists: \"created\" or \"unchanged\"; a finished cluster is never \
             re-created. kind's progress shows on stderr. Stopped half-way (Ctrl-C, a save under \
             --watch --on-busy restart), kind is stopped and what it made is deleted; a cluster \
             brrt began and never finished (see kind::unfinished) is deleted and created again: \
             \"recreated\".",
        ),
        (
            &["name: String", "config: String", "network: String"][..],
            "As kind::create(name, config), with the nodes on a Docker network other than `kind` \
             (KIND_EXPERIMENTAL_DOCKER_NETWORK).",
        ),
    ] {
        let c = ctx.clone();
        let create = move |name: &str, config: &str, network: &str| -> RhaiResult<String> {
            let (name, config, network, mode) = (
                name.to_string(),
                config.to_string(),
                network.to_string(),
                c.mode,
            );
            let what = format!("kind cluster {name}");
            let action = with_kind(&c, async move {
                ops::create(&ops::KindCli::default(), &name, &config, &network, mode).await
            })?;
            c.record(action, what);
            Ok(action.to_string())
        };
        if params.len() == 2 {
            m.func(
                "create",
                params,
                "String",
                doc,
                move |name: &str, config: &str| create(name, config, "kind"),
            );
        } else {
            m.func("create", params, "String", doc, create);
        }
    }
}

/// Clusters left half made, and deleting one.
fn cli_delete(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
    let c = ctx.clone();
    m.func(
        "unfinished",
        &["name: String"],
        "String",
        "Why a kind cluster counts as never finished, or (): brrt began to create it on this \
         engine, and the create was stopped (or brrt was killed) before kind finished it. \
         kind::create deletes such a cluster and creates it again. Waits for a create that \
         another brrt has under way.",
        move |name: &str| -> RhaiResult<Dynamic> {
            let name = name.to_string();
            let why = with_kind(&c, async move { ops::unfinished(&name).await })?;
            Ok(why.map_or(Dynamic::UNIT, Dynamic::from))
        },
    );
    let c = ctx.clone();
    m.func(
        "delete",
        &["name: String"],
        "String",
        "Deletes a kind cluster (its nodes and kubeconfig entry): \"removed\" or \"absent\".",
        move |name: &str| -> RhaiResult<String> {
            let (name, mode) = (name.to_string(), c.mode);
            let what = format!("kind cluster {name}");
            let action = with_kind(&c, async move {
                ops::delete(&ops::KindCli::default(), &name, mode).await
            })?;
            c.record(action, what);
            Ok(action.to_string())
        },
    );
}

/// A cluster's kubeconfig, and loading images into its nodes.
fn cli_use(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
    let c = ctx.clone();
    m.func(
        "kubeconfig",
        &["name: String"],
        "String",
        "A kind cluster's kubeconfig (`kind get kubeconfig --name NAME`).",
        move |name: &str| -> RhaiResult<String> {
            let name = name.to_string();
            with_kind(&c, async move {
                ops::kubeconfig(&ops::KindCli::default(), &name).await
            })
        },
    );
    let c = ctx.clone();
    m.func(
        "load_image",
        &["name: String", "image: String"],
        "String",
        "Loads a local Docker image into every node of a kind cluster: \"updated\", or \
         \"unchanged\" when every node has it already.",
        move |name: &str, image: &str| -> RhaiResult<String> {
            let (name, image, mode) = (name.to_string(), image.to_string(), c.mode);
            let what = format!("image {image} in kind cluster {name}");
            let action = with_kind(&c, async move {
                ops::load_image(&ops::KindCli::default(), &name, &image, mode).await
            })?;
            c.record(action, what);
            Ok(action.to_string())
        },
    );
}
