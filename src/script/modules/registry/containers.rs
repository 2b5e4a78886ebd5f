//! `registry::` — the push registry's and the caches' containers: ensuring, checking before a
//! change, listing and removing them.

use crate::ops::registry::{self as ops, CacheSpec, PushRegistrySpec};
use crate::script::api_doc::ModuleBuilder;
use crate::script::context::ScriptContext;
use crate::script::convert::{from_dynamic, runtime_error, to_dynamic, with_docker, RhaiResult};
use rhai::{Array, Dynamic, Map};
use std::sync::Arc;
use std::time::Duration;

/// How often `--watch` looks again at an upstream a cache could not reach.
const UPSTREAM_RECHECK: Duration = Duration::from_secs(10);

fn record(c: &ScriptContext, what: &str, out: &ops::RegistryOutcome) {
    c.record(out.volume_action, format!("volume {}", out.volume));
    c.record(out.action, format!("{what} {}", out.name));
    if out.upstream_unreachable {
        c.recheck_in(
            UPSTREAM_RECHECK,
            format!("checking the upstream of {} again", out.name),
        );
    }
}

/// A cache spec from a script. One that names its push registry but no set comes from a flow
/// written before caches were shared (it names caches `<registry>-<upstream>` itself): it is
/// refused, saying how to update the flow, rather than wire nodes to caches that do not exist.
pub(super) fn cache_spec(what: &str, spec: Map) -> RhaiResult<CacheSpec> {
    if spec.contains_key("registry") && !spec.contains_key("set") {
        return Err(runtime_error(format!(
            "{what}: the cache spec names its push registry (`registry`) but no `set`: it \
             comes from a flow written before caches were shared by every cluster on the \
             engine (brrt-cache-<upstream>, cache.name). Run `brrt init --upgrade` and merge \
             the scripts/*.rhai.new it writes, or remove the project's copy of the flow to run \
             brrt's own"
        )));
    }
    from_dynamic(what, &spec.into())
}

fn check_first(
    c: &ScriptContext,
    push: Map,
    caches: Array,
    replacing: bool,
) -> RhaiResult<Dynamic> {
    let push: PushRegistrySpec = from_dynamic("registry::preflight", &push.into())?;
    let caches = caches
        .into_iter()
        .map(|spec| match spec.try_cast::<Map>() {
            Some(map) => cache_spec("registry::preflight", map),
            None => Err(runtime_error(
                "registry::preflight: each cache must be a map, as registry::ensure_cache takes it",
            )),
        })
        .collect::<RhaiResult<Vec<CacheSpec>>>()?;
    let mode = c.mode;
    let finished = with_docker(c, |d| async move {
        ops::preflight(&d, &push, &caches, replacing, mode).await
    })?;
    for f in &finished {
        let action = if f.action == "removed" {
            crate::ops::Action::Removed
        } else {
            crate::ops::Action::Updated
        };
        c.record(
            action,
            format!("container {} (left by an interrupted switch)", f.name),
        );
    }
    to_dynamic(&finished)
}

/// Making the push registry and the caches.
pub(super) fn ensure(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
    let c = ctx.clone();
    m.func(
        "ensure_push",
        &["spec: Map"],
        "Map",
        "Ensures the push registry #{name, port, image, network, host_ip}: registry:3 (default) on \
         host_ip:port (default 127.0.0.1), data in volume <name>-data; returns #{name, action, id, \
         volume, volume_action}.",
        move |spec: Map| -> RhaiResult<Dynamic> {
            let spec: PushRegistrySpec = from_dynamic("registry::ensure_push", &spec.into())?;
            let mode = c.mode;
            let out = with_docker(
                &c,
                |d| async move { ops::ensure_push(&d, &spec, mode).await },
            )?;
            record(&c, "push registry", &out);
            to_dynamic(&out)
        },
    );
    let c = ctx.clone();
    m.func(
        "ensure_cache",
        &["spec: Map"],
        "Map",
        "Ensures the pull-through cache #{set, upstream, remote, image, network, ttl, port, \
         offline, cluster, registry} named <set>-<upstream> (set: cache.name, brrt-cache by \
         default), shared by every cluster whose config names that set, and waits until it \
         answers; it joins `network` beside the networks it is on. While another cluster uses \
         it, a change of its settings that its config does not want too is refused (`cluster`: \
         the one it is ensured for). Credentials come from BRRT_<UPSTREAM>_USERNAME/_PASSWORD. \
         Returns #{name, action, id, volume, volume_action, mode}, where mode is proxy, offline, \
         or \"offline (upstream unreachable)\" when the upstream could not be reached and the \
         cache serves what it holds.",
        move |spec: Map| -> RhaiResult<Dynamic> {
            let spec = cache_spec("registry::ensure_cache", spec)?;
            let mode = c.mode;
            let out = with_docker(
                &c,
                |d| async move { ops::ensure_cache(&d, &spec, mode).await },
            )?;
            record(&c, "cache", &out);
            to_dynamic(&out)
        },
    );
}

/// Removing a registry brrt created.
pub(super) fn remove(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
    let c = ctx.clone();
    m.func(
        "remove",
        &["name: String", "options: Map"],
        "Map",
        "Removes a registry container brrt created (and the one a killed switch left aside \
         beside it); its volume too unless options.keep_volume (default true). A container \
         brrt did not create is left running: action is \"unchanged\" and left_alone says why \
         and what to do. Returns #{name, action, volume, volume_action, left_alone}.",
        move |name: &str, opts: Map| -> RhaiResult<Dynamic> {
            let keep = opts.get("keep_volume").map_or(Ok(true), |v| {
                v.as_bool().map_err(|_| {
                    runtime_error("registry::remove: keep_volume must be true or false")
                })
            })?;
            let (name, mode) = (name.to_string(), c.mode);
            let out = with_docker(
                &c,
                |d| async move { ops::remove(&d, &name, keep, mode).await },
            )?;
            c.record(out.action, format!("registry {}", out.name));
            c.record(out.volume_action, format!("volume {}", out.volume));
            to_dynamic(&out)
        },
    );
}

/// Checking everything a flow will change before it changes anything.
pub(super) fn preflight(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
    let c = ctx.clone();
    m.func(
        "preflight",
        &["push: Map", "caches: Array"],
        "Array",
        "Before a flow changes anything: checks that brrt may use every name it will (containers \
         and volumes at the registries' names are brrt's or absent), that every registry can be \
         made (images here or pullable, the push registry's port free or its own), that no \
         cache another cluster uses would change in a way that cluster's config does not want, \
         and throws the first problem. Then finishes each switch a killed run left half done, \
         saying which way: returns #{name, action, said} for each (action is removed or \
         \"put back\").",
        move |push: Map, caches: Array| -> RhaiResult<Dynamic> {
            check_first(&c, push, caches, false)
        },
    );
    let c = ctx.clone();
    m.func(
        "preflight",
        &["push: Map", "caches: Array", "options: Map"],
        "Array",
        "registry::preflight(push, caches), where options.replacing = true means the flow puts \
         the container at the push registry's name aside itself (migrate), so it is not refused.",
        move |push: Map, caches: Array, options: Map| -> RhaiResult<Dynamic> {
            let replacing = match options.get("replacing") {
                None => false,
                Some(v) => v.as_bool().map_err(|_| {
                    runtime_error("registry::preflight: options.replacing must be true or false")
                })?,
            };
            check_first(&c, push, caches, replacing)
        },
    );
}

/// The volumes and caches named after a push registry or a set of caches.
pub(super) fn listings(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
    let c = ctx.clone();
    m.func(
        "volumes",
        &["registry: String"],
        "Array",
        "The volumes brrt made for the registries named after `name`: the push registry `name` \
         (with its config's caches from before caches were shared), or the set of caches `name`, \
         whether or not their containers exist: #{name, labels} each. Volumes brrt did not make \
         (no brrt label) are never listed.",
        move |group: &str| -> RhaiResult<Dynamic> {
            let group = group.to_string();
            to_dynamic(&with_docker(&c, |d| async move {
                ops::volumes(&d, &group).await
            })?)
        },
    );
    let c = ctx.clone();
    m.func(
        "caches",
        &["registry: String"],
        "Array",
        "The caches named after `name`, <name>-<upstream>: the set of caches `name` (cache.name), \
         or a push registry's own from before caches were shared: #{name, upstream, running, \
         volume, networks} each.",
        move |group: &str| -> RhaiResult<Dynamic> {
            let group = group.to_string();
            to_dynamic(&with_docker(&c, |d| async move {
                ops::caches(&d, &group).await
            })?)
        },
    );
}

/// Emptying a cache.
pub(super) fn clear(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
    let c = ctx.clone();
    m.func(
        "clear",
        &["spec: Map"],
        "Map",
        "Empties a cache (same spec as ensure_cache): removes its container and volume and starts \
         it again.",
        move |spec: Map| -> RhaiResult<Dynamic> {
            let spec = cache_spec("registry::clear", spec)?;
            let mode = c.mode;
            let out = with_docker(&c, |d| async move { ops::clear(&d, &spec, mode).await })?;
            c.record(
                crate::ops::Action::Removed,
                format!("cache contents of {}", out.name),
            );
            to_dynamic(&out)
        },
    );
}
