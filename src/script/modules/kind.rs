//! `kind::` — clusters and nodes, found by kind's Docker labels.

use crate::ops::kind as ops;
use crate::script::api_doc::ModuleBuilder;
use crate::script::context::ScriptContext;
use crate::script::convert::{to_dynamic, with_docker, RhaiResult};
use rhai::Dynamic;
use std::sync::Arc;

pub fn register(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
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
        "The nodes of a cluster, control plane first: #{name, role, id, running} each.",
        move |cluster: &str| -> RhaiResult<Dynamic> {
            let cluster = cluster.to_string();
            to_dynamic(&with_docker(&c, |d| async move {
                ops::nodes(&d, &cluster).await
            })?)
        },
    );
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
        "How a node's containerd finds registry hosts, read in the config layout of the version it runs (1.x or 2.x): #{version, major, config_version, config_path, config_path_table, unread_config_path_table, reads_certs_dir, legacy_mirrors}.",
        move |node: &str| -> RhaiResult<Dynamic> {
            let node = node.to_string();
            to_dynamic(&with_docker(&c, |d| async move {
                ops::containerd_registry(&d, &node).await
            })?)
        },
    );
    m.func(
        "cluster_config",
        &["name: String", "workers: int"],
        "String",
        "A kind cluster config whose containerd reads mirrors from /etc/containerd/certs.d.",
        |name: &str, workers: i64| -> String {
            ops::cluster_config(name, usize::try_from(workers).unwrap_or(0))
        },
    );
    let c = ctx.clone();
    m.func("ensure_cluster", &["name: String", "config: String"], "String", "Creates the cluster with the kind CLI unless its nodes exist; returns \"created\" or \"unchanged\".", move |name: &str, config: &str| -> RhaiResult<String> {
        let (name, config, mode) = (name.to_string(), config.to_string(), c.mode);
        let what = format!("kind cluster {name}");
        let action = with_docker(&c, |d| async move { ops::ensure_cluster(&d, &name, &config, mode).await })?;
        c.record(action, what);
        Ok(action.to_string())
    });
}
