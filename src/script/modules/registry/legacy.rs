//! `registry::legacy::` — the steps of `migrate`: from a single pull-through registry brrt did
//! not create to brrt's caches, keeping what it cached. Every step refuses a registry brrt
//! created, and one that is no pull-through cache.

use crate::ops::registry::migrate as ops;
use crate::script::api_doc::ModuleBuilder;
use crate::script::context::ScriptContext;
use crate::script::convert::{from_dynamic, to_dynamic, with_docker, RhaiResult};
use rhai::{Dynamic, Map};
use std::collections::BTreeMap;
use std::sync::Arc;

pub fn register(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
    copy(m, ctx);
    aside(m, ctx);
    verify(m, ctx);
    credentials(m, ctx);
}

/// Finding the old registry, and copying its data into a cache's volume.
fn copy(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
    let c = ctx.clone();
    m.func(
        "inspect",
        &["name: String", "remotes: Map"],
        "Map",
        "The registry container at `name` (or the one a migration put aside as <name>-pre-brrt), \
         or () when there is none: #{name, aside, running, managed, remote, upstream, data: \
         #{kind, volume, source, path}, size, tags: [#{repo, tag, digest}], networks, ports}. \
         `remote` is its REGISTRY_PROXY_REMOTEURL (() when it is no proxy); `upstream` the host \
         that remote stands for, looked up in `remotes` (cache.remotes) first.",
        move |name: &str, remotes: Map| -> RhaiResult<Dynamic> {
            let remotes: BTreeMap<String, String> =
                from_dynamic("registry::legacy::inspect", &remotes.into())?;
            let name = name.to_string();
            let found = with_docker(
                &c,
                |d| async move { ops::inspect(&d, &name, &remotes).await },
            )?;
            match found {
                Some(f) => to_dynamic(&f),
                None => Ok(Dynamic::UNIT),
            }
        },
    );
    let c = ctx.clone();
    m.func(
        "copy_into",
        &["name: String", "cache: Map"],
        "Map",
        "Stops the old registry `name` and copies its data into the volume of the cache `cache` (a \
         spec as for registry::ensure_cache), created with brrt's labels if absent. A failed copy \
         starts the old registry again if it ran and throws. Returns #{from, volume, \
         volume_action, bytes, tags, was_running}.",
        move |name: &str, spec: Map| -> RhaiResult<Dynamic> {
            let spec = super::containers::cache_spec("registry::legacy::copy_into", spec)?;
            let (name, mode) = (name.to_string(), c.mode);
            let out = with_docker(&c, |d| async move {
                ops::copy_into_cache(&d, &name, &spec, mode).await
            })?;
            let what = format!("volume {} (copied from {})", out.volume, out.from);
            c.record(out.volume_action, what);
            to_dynamic(&out)
        },
    );
}

/// Putting the old registry aside, and back.
fn aside(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
    let c = ctx.clone();
    m.func(
        "set_aside",
        &["name: String"],
        "Map",
        "Stops the old registry `name` and renames it <name>-pre-brrt, so that brrt's push \
         registry can take the name: #{name, action}.",
        move |name: &str| -> RhaiResult<Dynamic> {
            let (name, mode) = (name.to_string(), c.mode);
            let out = with_docker(&c, |d| async move { ops::set_aside(&d, &name, mode).await })?;
            c.record(
                out.action,
                format!("container {} (renamed aside)", out.name),
            );
            to_dynamic(&out)
        },
    );
    let c = ctx.clone();
    m.func(
        "put_back",
        &["name: String"],
        "String",
        "Renames the old registry <name>-pre-brrt back to `name` and starts it, after a migration \
         that could not finish; refused while another container holds the name.",
        move |name: &str| -> RhaiResult<String> {
            let (owned, mode) = (name.to_string(), c.mode);
            let action = with_docker(&c, |d| async move { ops::put_back(&d, &owned, mode).await })?;
            c.record(action, format!("container {name} (put back)"));
            Ok(action.to_string())
        },
    );
}

/// Checking the copy, then removing the old registry.
fn verify(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
    let c = ctx.clone();
    m.func(
        "verify",
        &["name: String", "cache: Map"],
        "Map",
        "Checks the volume of the cache `cache` (a spec as for registry::ensure_cache) against \
         what the old registry `name` holds in its own storage: every tag with its digest, every \
         manifest and every blob, served by a throwaway registry that reads the volume \
         read-only, with no upstream. Throws at the first that is missing; returns #{images, \
         manifests, blobs}.",
        move |name: &str, spec: Map| -> RhaiResult<Dynamic> {
            let spec = super::containers::cache_spec("registry::legacy::verify", spec)?;
            let name = name.to_string();
            to_dynamic(&with_docker(&c, |d| async move {
                ops::verify(&d, &name, &spec).await
            })?)
        },
    );
    let c = ctx.clone();
    m.func(
        "remove_aside",
        &["name: String", "cache: Map"],
        "Map",
        "Removes the old registry put aside as <name>-pre-brrt, keeping its data volume, once \
         registry::legacy::verify finds the volume of the cache `cache` serving all it held (it \
         throws otherwise, and the old registry stays): #{name, action, kept_volume, served}.",
        move |name: &str, spec: Map| -> RhaiResult<Dynamic> {
            let spec = super::containers::cache_spec("registry::legacy::remove_aside", spec)?;
            let (name, mode) = (name.to_string(), c.mode);
            let out = with_docker(&c, |d| async move {
                ops::remove_aside(&d, &name, &spec, mode).await
            })?;
            c.record(out.action, format!("container {}", out.name));
            to_dynamic(&out)
        },
    );
}

/// Carrying the old registry's upstream credentials over.
fn credentials(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
    let c = ctx.clone();
    m.func(
        "carry_credentials",
        &["name: String", "upstream: String"],
        "Map",
        "When the old registry `name` logs in to its upstream (REGISTRY_PROXY_USERNAME and \
         _PASSWORD, or a user in its remote URL), hands those credentials to brrt's cache for \
         `upstream` for the rest of this run, unless BRRT_<UPSTREAM>_USERNAME/_PASSWORD are set. Nothing is printed \
         or kept. Returns #{upstream, carried, from_environment, username_var, password_var}.",
        move |name: &str, upstream: &str| -> RhaiResult<Dynamic> {
            let (name, upstream) = (name.to_string(), upstream.to_string());
            to_dynamic(&with_docker(&c, |d| async move {
                ops::carry_credentials(&d, &name, &upstream).await
            })?)
        },
    );
}
