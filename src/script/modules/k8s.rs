//! `k8s::` — the Kubernetes API of the cluster: the KEP-1755 registry announcement, generic
//! server-side apply, get and delete, and node readiness.
//!
//! A run talks to one context: the one `k8s::connect` chose, else the kubeconfig's current
//! context. The client is made on first use and kept for the run.

use crate::ops::k8s::{self as ops, Cluster, LocalRegistryHosting};
use crate::script::api_doc::ModuleBuilder;
use crate::script::context::ScriptContext;
use crate::script::convert::{from_dynamic, runtime_error, script_error, to_dynamic, RhaiResult};
use rhai::{Dynamic, Map};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// The context this run talks to, and its client once made.
#[derive(Default)]
struct Selected {
    context: Option<String>,
    cluster: Option<Cluster>,
}

type Shared = Arc<Mutex<Selected>>;

/// The client for the selected context (or the kubeconfig's current one), made on first use.
fn cluster(c: &ScriptContext, selected: &Shared) -> RhaiResult<Cluster> {
    let mut s = selected.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(cluster) = &s.cluster {
        return Ok(cluster.clone());
    }
    let context = match &s.context {
        Some(ctx) => ctx.clone(),
        None => c
            .block_on(async { ops::current_context() })
            .map_err(|e| script_error(c, e))?,
    };
    let cluster = c
        .block_on(ops::connect(&context))
        .map_err(|e| script_error(c, e))?;
    s.context = Some(context);
    s.cluster = Some(cluster.clone());
    Ok(cluster)
}

/// What scripts write: the four KEP-1755 fields in snake_case.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct HostingSpec {
    host: String,
    #[serde(default)]
    host_from_container_runtime: String,
    #[serde(default)]
    host_from_cluster_network: String,
    #[serde(default)]
    help: String,
}

impl From<HostingSpec> for LocalRegistryHosting {
    fn from(s: HostingSpec) -> Self {
        LocalRegistryHosting {
            host: s.host,
            host_from_container_runtime: s.host_from_container_runtime,
            host_from_cluster_network: s.host_from_cluster_network,
            help: s.help,
        }
    }
}

/// Another tool's announcement brrt keeps, as #{yaml, managers}, or ().
fn replaced(replaced: Option<&ops::Replaced>) -> RhaiResult<Dynamic> {
    replaced.map_or(Ok(Dynamic::UNIT), to_dynamic)
}

fn applied(c: &ScriptContext, list: Vec<ops::Applied>) -> RhaiResult<Dynamic> {
    for a in &list {
        let what = if a.namespace.is_empty() {
            format!("{} {}", a.kind, a.name)
        } else {
            format!("{} {}/{}", a.kind, a.namespace, a.name)
        };
        c.record(a.action, what);
    }
    to_dynamic(&list)
}

pub fn register(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
    // The cluster `k8s::connect` chose, shared by every function of the module.
    let selected: Shared = Arc::default();
    connect(m, ctx, &selected);
    local_registry_hosting(m, ctx, &selected);
    read_local_registry_hosting(m, ctx, &selected);
    remove_local_registry_hosting(m, ctx, &selected);
    apply(m, ctx, &selected);
    objects(m, ctx, &selected);
    nodes(m, ctx, &selected);
}

/// Choosing the cluster the other functions talk to.
fn connect(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>, selected: &Shared) {
    let (c, s) = (ctx.clone(), selected.clone());
    m.func(
        "connect",
        &["context: String"],
        "Map",
        "Talks to the cluster of a kubeconfig context (KUBECONFIG, else ~/.kube/config) for the \
         rest of the run, and asks its API server for its version, within 5 s in all: #{context, \
         server, reachable, version, error}. Never throws: when no API server answers, or the \
         context is missing, reachable is false and error says why in one line (connection \
         refused, no connection, or a server that accepted the connection and sent no answer).",
        move |context: &str| -> RhaiResult<Dynamic> {
            let context = context.to_string();
            let (probe, cluster) = c
                .block_on(async { Ok(ops::probe(&context).await) })
                .map_err(|e| script_error(&c, e))?;
            let mut sel = s.lock().unwrap_or_else(PoisonError::into_inner);
            sel.context = Some(context);
            sel.cluster = cluster;
            to_dynamic(&probe)
        },
    );
}

/// Announcing the push registry (KEP-1755).
fn local_registry_hosting(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>, selected: &Shared) {
    let (c, s) = (ctx.clone(), selected.clone());
    m.func(
        "local_registry_hosting",
        &["spec: Map"],
        "Map",
        "Announces the push registry (KEP-1755): server-side applies (field manager brrt) the \
         ConfigMap local-registry-hosting in kube-public, key localRegistryHosting.v1, from \
         #{host, host_from_container_runtime, host_from_cluster_network, help}. Returns #{action, \
         host, replaced}: created, updated, or unchanged when it holds exactly this already \
         (nothing is sent then). One another tool wrote is taken over, and that tool's \
         announcement is kept in brrt's annotations (brrt.dev/replaced-announcement, \
         brrt.dev/replaced-managers) so that remove_local_registry_hosting puts it back: \
         replaced is then #{yaml, managers} of it, else ().",
        move |spec: Map| -> RhaiResult<Dynamic> {
            let spec: HostingSpec = from_dynamic("k8s::local_registry_hosting", &spec.into())?;
            let wanted: LocalRegistryHosting = spec.into();
            let cluster = cluster(&c, &s)?;
            let mode = c.mode;
            let w = wanted.clone();
            let applied = c
                .block_on(
                    async move { ops::apply_local_registry_hosting(&cluster, &w, mode).await },
                )
                .map_err(|e| script_error(&c, e))?;
            c.record(
                applied.action,
                format!(
                    "ConfigMap {}/{} ({})",
                    ops::HOSTING_NAMESPACE,
                    ops::HOSTING_NAME,
                    wanted.host
                ),
            );
            let mut out = Map::new();
            out.insert("action".into(), applied.action.to_string().into());
            out.insert("host".into(), wanted.host.into());
            out.insert("replaced".into(), replaced(applied.replaced.as_ref())?);
            Ok(out.into())
        },
    );
}

/// Reading the announcement the cluster has.
fn read_local_registry_hosting(
    m: &mut ModuleBuilder<'_>,
    ctx: &Arc<ScriptContext>,
    selected: &Shared,
) {
    let (c, s) = (ctx.clone(), selected.clone());
    m.func(
        "read_local_registry_hosting",
        &[],
        "Map",
        "The KEP-1755 announcement the cluster has: #{host, host_from_container_runtime, \
         host_from_cluster_network, help, managers, problem, raw, replaced}, or () when there is \
         none. `problem` says why the YAML could not be read; `managers` are the field managers \
         that wrote it; `replaced` is #{yaml, managers} of the announcement brrt took over and \
         keeps for dev-down, or ().",
        move || -> RhaiResult<Dynamic> {
            let cluster = cluster(&c, &s)?;
            let found = c
                .block_on(async move { ops::read_local_registry_hosting(&cluster).await })
                .map_err(|e| script_error(&c, e))?;
            let Some(found) = found else {
                return Ok(Dynamic::UNIT);
            };
            let h = found.hosting.clone().unwrap_or(LocalRegistryHosting {
                host: String::new(),
                host_from_container_runtime: String::new(),
                host_from_cluster_network: String::new(),
                help: String::new(),
            });
            let mut out = to_dynamic(&HostingSpec {
                host: h.host,
                host_from_container_runtime: h.host_from_container_runtime,
                host_from_cluster_network: h.host_from_cluster_network,
                help: h.help,
            })?
            .cast::<Map>();
            out.insert("managers".into(), to_dynamic(&found.managers)?);
            out.insert(
                "problem".into(),
                found.problem.map_or(Dynamic::UNIT, Into::into),
            );
            out.insert("raw".into(), found.raw.into());
            out.insert("replaced".into(), replaced(found.replaced.as_ref())?);
            Ok(out.into())
        },
    );
}

/// Taking brrt's announcement away.
fn remove_local_registry_hosting(
    m: &mut ModuleBuilder<'_>,
    ctx: &Arc<ScriptContext>,
    selected: &Shared,
) {
    let (c, s) = (ctx.clone(), selected.clone());
    m.func(
        "remove_local_registry_hosting",
        &[],
        "Map",
        "Takes brrt's KEP-1755 announcement away: #{action, managers}. removed when brrt wrote \
         it; restored when brrt had taken over another tool's, which is put back as that tool \
         wrote it (managers names that tool); unchanged when another tool wrote it and brrt \
         never took it over (it is left, and managers names that tool); absent when there is \
         none.",
        move || -> RhaiResult<Dynamic> {
            let cluster = cluster(&c, &s)?;
            let mode = c.mode;
            let removed = c
                .block_on(async move { ops::remove_local_registry_hosting(&cluster, mode).await })
                .map_err(|e| script_error(&c, e))?;
            c.record(
                removed.action,
                format!("ConfigMap {}/{}", ops::HOSTING_NAMESPACE, ops::HOSTING_NAME),
            );
            let mut out = Map::new();
            out.insert("action".into(), removed.action.to_string().into());
            out.insert("managers".into(), to_dynamic(&removed.managers)?);
            Ok(out.into())
        },
    );
}

/// Server-side apply of YAML text or one object.
fn apply(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>, selected: &Shared) {
    let (c, s) = (ctx.clone(), selected.clone());
    m.func(
        "apply",
        &["yaml: String"],
        "Array",
        "Server-side applies (field manager brrt) every object of a YAML text, multi-document \
         included, each checked before the first is sent: [#{kind, namespace, name, action}]. As \
         with kubectl apply --server-side, a field brrt applied before that the text no longer \
         sets is removed. action is created, updated, or unchanged when the server's object did \
         not change; under --dry-run the server checks the apply without storing it.",
        move |yaml: &str| -> RhaiResult<Dynamic> {
            let docs = ops::documents(yaml).map_err(runtime_error)?;
            ops::check_objects(&docs).map_err(runtime_error)?;
            let cluster = cluster(&c, &s)?;
            let mode = c.mode;
            let list = c
                .block_on(async move { ops::apply(&cluster, &docs, mode).await })
                .map_err(|e| script_error(&c, e))?;
            applied(&c, list)
        },
    );
    let (c, s) = (ctx.clone(), selected.clone());
    m.func(
        "apply",
        &["object: Map"],
        "Array",
        "Server-side applies one object given as a map (#{apiVersion, kind, metadata: #{name, \
         namespace}, …}): [#{kind, namespace, name, action}].",
        move |object: Map| -> RhaiResult<Dynamic> {
            let doc: serde_json::Value = from_dynamic("k8s::apply", &object.into())?;
            ops::check_objects(std::slice::from_ref(&doc)).map_err(runtime_error)?;
            let cluster = cluster(&c, &s)?;
            let mode = c.mode;
            let list = c
                .block_on(async move { ops::apply(&cluster, &[doc], mode).await })
                .map_err(|e| script_error(&c, e))?;
            applied(&c, list)
        },
    );
}

/// Reading and deleting one object by name.
fn objects(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>, selected: &Shared) {
    let (c, s) = (ctx.clone(), selected.clone());
    m.func(
        "get",
        &["kind: String", "namespace: String", "name: String"],
        "Map",
        "An object as the server has it (without managedFields), or () when there is none. `kind` \
         is a core kind (ConfigMap, configmaps) or group/version/Kind (apps/v1/Deployment); the \
         namespace is ignored for cluster-wide kinds, and empty means default.",
        move |kind: &str, namespace: &str, name: &str| -> RhaiResult<Dynamic> {
            let (kind, namespace, name) =
                (kind.to_string(), namespace.to_string(), name.to_string());
            let cluster = cluster(&c, &s)?;
            let found = c
                .block_on(async move { ops::get(&cluster, &kind, &namespace, &name).await })
                .map_err(|e| script_error(&c, e))?;
            found.map_or(Ok(Dynamic::UNIT), |v| to_dynamic(&v))
        },
    );
    let (c, s) = (ctx.clone(), selected.clone());
    m.func(
        "delete",
        &["kind: String", "namespace: String", "name: String"],
        "String",
        "Deletes an object (kind as for k8s::get): \"removed\", or \"absent\" when there was none.",
        move |kind: &str, namespace: &str, name: &str| -> RhaiResult<String> {
            let (kind, namespace, name) =
                (kind.to_string(), namespace.to_string(), name.to_string());
            let what = format!("{kind} {namespace}/{name}");
            let cluster = cluster(&c, &s)?;
            let mode = c.mode;
            let action = c
                .block_on(
                    async move { ops::delete(&cluster, &kind, &namespace, &name, mode).await },
                )
                .map_err(|e| script_error(&c, e))?;
            c.record(action, what);
            Ok(action.to_string())
        },
    );
}

/// Waiting for the nodes, and the context kind names for a cluster.
fn nodes(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>, selected: &Shared) {
    let (c, s) = (ctx.clone(), selected.clone());
    m.func(
        "wait_nodes_ready",
        &["timeout_secs: int"],
        "Map",
        "Waits until the cluster has nodes and all are Ready, saying on stderr how many are \
         whenever that changes: #{nodes, waited_ms}. After the timeout, the error names each node \
         that is not ready and why.",
        move |timeout: i64| -> RhaiResult<Dynamic> {
            let timeout = Duration::from_secs(u64::try_from(timeout.max(0)).unwrap_or(0));
            let cluster = cluster(&c, &s)?;
            let ready = c
                .block_on(async move { ops::wait_nodes_ready(&cluster, timeout).await })
                .map_err(|e| script_error(&c, e))?;
            to_dynamic(&ready)
        },
    );
    m.func(
        "kind_context",
        &["cluster: String"],
        "String",
        "The kubeconfig context kind writes for a cluster: kind-<cluster>.",
        |cluster: &str| -> String { ops::kind_context(cluster) },
    );
}
