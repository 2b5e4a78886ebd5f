//! `registry::` — caches shared by every cluster on the engine: who uses each, letting one go,
//! and carrying over the caches a config had before caches were shared.

use crate::ops::registry as ops;
use crate::script::api_doc::ModuleBuilder;
use crate::script::context::ScriptContext;
use crate::script::convert::{runtime_error, to_dynamic, with_docker, RhaiResult};
use rhai::{Dynamic, Map};
use std::sync::Arc;

/// Which clusters use each registry, and letting one go.
pub(super) fn users(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
    let c = ctx.clone();
    m.func(
        "users",
        &[],
        "Map",
        "Which kind clusters use each registry container, read from every node on the engine \
         (the hosts.toml files brrt wrote there name the registries they pull from): a map from \
         container name to [#{cluster, config, networks, nodes}], where config is the config \
         that wired them (an absolute path, or () for files an older brrt wrote).",
        move || -> RhaiResult<Dynamic> {
            to_dynamic(&with_docker(&c, |d| async move { ops::users(&d).await })?)
        },
    );
    let c = ctx.clone();
    m.func(
        "release",
        &["name: String", "options: Map"],
        "Map",
        "Lets go of a registry container that options.cluster no longer uses (dev-down, a cache \
         switched off): removed, with its volume unless options.keep_volume (default true), when \
         no other cluster uses it (registry::users); kept as it is while one does. One brrt did \
         not create is left alone. Returns #{name, action, volume, volume_action, left_alone, \
         serves}, serves naming the other clusters it stays for.",
        move |name: &str, opts: Map| -> RhaiResult<Dynamic> {
            let cluster = opts
                .get("cluster")
                .and_then(|v| v.clone().into_string().ok())
                .ok_or_else(|| {
                    runtime_error("registry::release: options.cluster names the cluster letting go")
                })?;
            let keep = opts.get("keep_volume").map_or(Ok(true), |v| {
                v.as_bool().map_err(|_| {
                    runtime_error("registry::release: keep_volume must be true or false")
                })
            })?;
            let (name, mode) = (name.to_string(), c.mode);
            let out = with_docker(&c, |d| async move {
                ops::release(&d, &name, &cluster, keep, mode).await
            })?;
            c.record(out.action, format!("registry {}", out.name));
            c.record(out.volume_action, format!("volume {}", out.volume));
            to_dynamic(&out)
        },
    );
}

/// The caches a config had before caches were shared, and carrying them over.
pub(super) fn carry_over(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
    let c = ctx.clone();
    m.func(
        "per_config_caches",
        &["registry: String"],
        "Array",
        "The caches brrt made for the config of push registry `registry` before caches were \
         shared (<registry>-<upstream>): #{upstream, container, running, volume} each, where a \
         container or volume that is gone is ().",
        move |registry: &str| -> RhaiResult<Dynamic> {
            let registry = registry.to_string();
            to_dynamic(&with_docker(&c, |d| async move {
                ops::per_config_caches(&d, &registry).await
            })?)
        },
    );
    let c = ctx.clone();
    m.func(
        "carry_over",
        &["spec: Map"],
        "Map",
        "Carries the cache that the config of push registry spec.registry had for spec.upstream \
         before caches were shared into the shared cache the spec names (same spec as \
         ensure_cache): copies its storage into that cache's volume, checks the volume holds \
         every tag, manifest and blob of it (served offline), then removes the old container \
         and volume. Returns #{from, volume, action, copied, served, removed}; action is \
         unchanged when there is nothing to carry.",
        move |spec: Map| -> RhaiResult<Dynamic> {
            let spec = super::containers::cache_spec("registry::carry_over", spec)?;
            let mode = c.mode;
            let out = with_docker(
                &c,
                |d| async move { ops::carry_over(&d, &spec, mode).await },
            )?;
            c.record(
                out.action,
                format!("cache {} carried over into {}", out.from, out.volume),
            );
            to_dynamic(&out)
        },
    );
}
