//! `containerd::` — registry mirrors inside nodes (hosts.toml), and test pulls.

use crate::ops::containerd as ops;
use crate::ops::upstream::KNOWN_UPSTREAMS;
use crate::script::api_doc::ModuleBuilder;
use crate::script::context::ScriptContext;
use crate::script::convert::{from_dynamic, to_dynamic, with_docker, RhaiResult};
use rhai::{Dynamic, Map};
use std::collections::BTreeMap;
use std::sync::Arc;

pub fn register(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
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
    let c = ctx.clone();
    m.func(
        "apply_mirrors",
        &["node: String", "mirrors: Map"],
        "Map",
        "Makes a node's brrt-managed mirrors exactly `mirrors` (host → hosts.toml text): atomic \
         writes of what differs, removal of what is no longer wanted; returns #{node, action, \
         written, removed, unchanged}.",
        move |node: &str, mirrors: Map| -> RhaiResult<Dynamic> {
            let mirrors: BTreeMap<String, String> =
                from_dynamic("containerd::apply_mirrors", &mirrors.into())?;
            let (node, mode) = (node.to_string(), c.mode);
            let report = with_docker(&c, |d| async move {
                ops::apply_mirrors(&d, &node, &mirrors, mode).await
            })?;
            let action = report.action();
            c.record(action, format!("mirrors in node {}", report.node));
            let mut map = to_dynamic(&report)?.cast::<Map>();
            map.insert("action".into(), action.to_string().into());
            Ok(map.into())
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
