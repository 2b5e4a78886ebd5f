//! `containerd::` — registry mirrors inside nodes (hosts.toml), and test pulls.

use crate::ops::containerd as ops;
use crate::ops::upstream::KNOWN_UPSTREAMS;
use crate::script::api_doc::ModuleBuilder;
use crate::script::context::ScriptContext;
use crate::script::convert::{from_dynamic, to_dynamic, with_docker, RhaiResult};
use rhai::{Array, Dynamic, Map};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// `options.take_over`: the hosts whose hosts.toml brrt may take over.
fn take_over(options: &Map, what: &str) -> RhaiResult<BTreeSet<String>> {
    match options.get("take_over") {
        None => Ok(BTreeSet::new()),
        Some(list) => from_dynamic(what, list),
    }
}

fn apply_mirrors(
    c: &ScriptContext,
    node: &str,
    mirrors: Map,
    take_over: BTreeSet<String>,
) -> RhaiResult<Dynamic> {
    let mirrors: BTreeMap<String, String> =
        from_dynamic("containerd::apply_mirrors", &mirrors.into())?;
    let (node, mode) = (node.to_string(), c.mode);
    let report = with_docker(c, |d| async move {
        ops::apply_mirrors(&d, &node, &mirrors, &take_over, mode).await
    })?;
    report_map(c, &report)
}

/// A mirror report as scripts see it, with its action; the change is recorded.
fn report_map(c: &ScriptContext, report: &ops::MirrorReport) -> RhaiResult<Dynamic> {
    let action = report.action();
    c.record(action, format!("mirrors in node {}", report.node));
    let mut map = to_dynamic(report)?.cast::<Map>();
    map.insert("action".into(), action.to_string().into());
    Ok(map.into())
}

pub fn register(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
    mirror_hosts(m);
    team_cache_hosts(m);
    apply(m, ctx);
    preflight(m, ctx);
    inspect(m, ctx);
}

/// The hosts.toml text that sends an upstream's pulls to a mirror.
fn mirror_hosts(m: &mut ModuleBuilder<'_>) {
    m.func(
        "mirror_hosts",
        &["upstream: String", "mirror_url: String"],
        "String",
        "Renders the hosts.toml that sends pulls for `upstream` to `mirror_url`, falling back to \
         the real registry for known upstreams.",
        |upstream: &str, mirror: &str| -> String {
            let server = KNOWN_UPSTREAMS
                .iter()
                .find(|(h, _)| *h == upstream)
                .map(|(_, r)| *r);
            ops::mirror_hosts(upstream, mirror, server)
        },
    );
    m.func(
        "mirror_hosts",
        &["upstream: String", "mirror_url: String", "server: String"],
        "String",
        "Renders a hosts.toml with an explicit fallback `server` (empty for none).",
        |upstream: &str, mirror: &str, server: &str| -> String {
            ops::mirror_hosts(upstream, mirror, (!server.is_empty()).then_some(server))
        },
    );
    m.func(
        "mirror_hosts",
        &[
            "upstream: String",
            "mirror_url: String",
            "server: String",
            "config: String",
        ],
        "String",
        "Renders a hosts.toml with an explicit fallback `server` (empty for none) whose first line \
         names the config that wired it (an absolute path, config::brrt's `file`): another config \
         sharing the registry it names reads what this one wants (registry::users).",
        |upstream: &str, mirror: &str, server: &str, config: &str| -> String {
            ops::mirror_hosts_from(
                upstream,
                mirror,
                (!server.is_empty()).then_some(server),
                (!config.is_empty()).then_some(config),
            )
        },
    );
}

/// The hosts.toml text that sends an upstream's pulls to a team cache.
fn team_cache_hosts(m: &mut ModuleBuilder<'_>) {
    m.func(
        "team_cache_hosts",
        &["upstream: String", "endpoint: String"],
        "String",
        "Renders the hosts.toml that sends pulls for `upstream` straight to a team cache \
         ([cache.shared]) at `endpoint`, with override_path = true when the endpoint has a path, \
         and falling back to the real registry. BRRT_<UPSTREAM>_USERNAME/_PASSWORD, when set, \
         become its Authorization header.",
        |upstream: &str, endpoint: &str| -> String {
            let server = KNOWN_UPSTREAMS
                .iter()
                .find(|(h, _)| *h == upstream)
                .map_or_else(|| format!("https://{upstream}"), |(_, r)| r.to_string());
            let (user_var, pass_var) = crate::ops::upstream::credential_vars(upstream);
            let auth = match (std::env::var(user_var), std::env::var(pass_var)) {
                (Ok(u), Ok(p)) if !u.is_empty() => Some(ops::basic_authorization(&u, &p)),
                _ => None,
            };
            ops::shared_hosts(upstream, endpoint, Some(&server), auth.as_deref())
        },
    );
}

/// Making a node's brrt-managed mirrors what a flow wants.
fn apply(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
    let c = ctx.clone();
    m.func(
        "apply_mirrors",
        &["node: String", "mirrors: Map"],
        "Map",
        "Makes a node's brrt-managed mirrors exactly `mirrors` (host → hosts.toml text): atomic \
         writes of what differs, removal of what is no longer wanted (an original brrt took over \
         is put back); a hosts.toml brrt did not write at one of those hosts is refused and left \
         as it is. Returns #{node, action, written, removed, unchanged, taken_over, containerd, \
         containerd_error}: when it wrote, the write also read how the node's containerd finds \
         registry hosts (containerd, as kind::containerd_registry returns it) or why it could \
         not (containerd_error); both () otherwise.",
        move |node: &str, mirrors: Map| -> RhaiResult<Dynamic> {
            apply_mirrors(&c, node, mirrors, BTreeSet::new())
        },
    );
    let c = ctx.clone();
    m.func(
        "apply_mirrors",
        &["node: String", "mirrors: Map", "options: Map"],
        "Map",
        "containerd::apply_mirrors(node, mirrors), where options.take_over lists hosts whose \
         hosts.toml brrt may replace though it did not write it: the original is kept beside it \
         as hosts.toml.brrt-original and put back when the host is no longer in `mirrors`.",
        move |node: &str, mirrors: Map, options: Map| -> RhaiResult<Dynamic> {
            let take_over = take_over(&options, "containerd::apply_mirrors")?;
            apply_mirrors(&c, node, mirrors, take_over)
        },
    );
}

/// Planning the mirrors of every node before anything changes, and carrying the plan out.
fn preflight(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
    let c = ctx.clone();
    m.func(
        "preflight",
        &["nodes: Array", "mirrors: Map", "options: Map"],
        "Map",
        "Before a flow changes anything: plans containerd::apply_mirrors in each of `nodes` \
         (names), and throws if any holds a hosts.toml that brrt did not write at a host of \
         `mirrors` and may not take over (options.take_over), naming each node, file and the \
         hosts it sends pulls to, and the ways on. Returns node name → plan, for \
         containerd::apply_mirrors(plan): the files are read once.",
        move |nodes: Array, mirrors: Map, options: Map| -> RhaiResult<Dynamic> {
            let nodes: Vec<String> = from_dynamic("containerd::preflight", &nodes.into())?;
            let mirrors: BTreeMap<String, String> =
                from_dynamic("containerd::preflight", &mirrors.into())?;
            let take_over = take_over(&options, "containerd::preflight")?;
            let plans = with_docker(&c, |d| async move {
                let mut plans = Vec::new();
                for node in &nodes {
                    plans.push(ops::plan_mirrors(&d, node, &mirrors, &take_over).await?);
                }
                let foreign: Vec<ops::ForeignFile> =
                    plans.iter().flat_map(|p| p.foreign().to_vec()).collect();
                if foreign.is_empty() {
                    Ok(plans)
                } else {
                    Err(ops::foreign_files_error(&foreign))
                }
            })?;
            let map: Map = plans
                .into_iter()
                .map(|p| (p.node().into(), Dynamic::from(p)))
                .collect();
            Ok(map.into())
        },
    );
    let c = ctx.clone();
    m.func(
        "apply_mirrors",
        &["plan: MirrorPlan"],
        "Map",
        "Carries out a plan containerd::preflight made, as containerd::apply_mirrors(node, \
         mirrors, options) would, without reading the node's files again.",
        move |plan: ops::MirrorPlan| -> RhaiResult<Dynamic> {
            let mode = c.mode;
            let report = with_docker(&c, |d| async move { ops::apply_plan(&d, plan, mode).await })?;
            report_map(&c, &report)
        },
    );
}

/// What a node's mirrors are, and whether a pull through them works.
fn inspect(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
    let c = ctx.clone();
    m.func(
        "foreign_mirrors",
        &["node: String"],
        "Array",
        "The hosts.toml files in a node that brrt did not write: #{node, host, path, sends_to, \
         take_over} each, where sends_to lists its server and hosts.",
        move |node: &str| -> RhaiResult<Dynamic> {
            let node = node.to_string();
            to_dynamic(&with_docker(&c, |d| async move {
                ops::foreign_mirrors(&d, &node).await
            })?)
        },
    );
    let c = ctx.clone();
    m.func(
        "mirrors",
        &["node: String"],
        "Map",
        "Every hosts.toml in a node's /etc/containerd/certs.d, by registry host.",
        move |node: &str| -> RhaiResult<Dynamic> {
            let node = node.to_string();
            to_dynamic(&with_docker(&c, |d| async move {
                ops::read_mirrors(&d, &node).await
            })?)
        },
    );
    let c = ctx.clone();
    m.func(
        "verify_pull",
        &["node: String", "image: String"],
        "Map",
        "Pulls an image inside a node through its mirrors (ctr --hosts-dir); returns #{node, \
         image, ok, output, dry_run}. Under --dry-run it pulls nothing.",
        move |node: &str, image: &str| -> RhaiResult<Dynamic> {
            let (node, image) = (node.to_string(), image.to_string());
            let mode = c.mode;
            to_dynamic(&with_docker(&c, |d| async move {
                ops::verify_pull(&d, &node, &image, mode).await
            })?)
        },
    );
}
