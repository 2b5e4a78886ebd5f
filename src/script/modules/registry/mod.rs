//! `registry::` — the push registry, pull-through caches, and the registry HTTP API, one file
//! per area; the order of [`register`] is the order `brrt api` lists them in.

mod containers;
mod contents;
mod insight;
mod legacy;
mod sharing;

use crate::ops::upstream;
use crate::script::api_doc::ModuleBuilder;
use crate::script::context::ScriptContext;
use crate::script::convert::{from_dynamic, runtime_error, to_dynamic, RhaiResult};
use rhai::{Array, Dynamic, Map};
use std::collections::BTreeMap;
use std::sync::Arc;

pub fn register(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
    containers::ensure(m, ctx);
    containers::remove(m, ctx);
    containers::preflight(m, ctx);
    containers::listings(m, ctx);
    names(m);
    sharing::users(m, ctx);
    sharing::carry_over(m, ctx);
    credentials(m);
    contents::catalog(m, ctx);
    contents::manifests(m, ctx);
    contents::storage(m, ctx);
    contents::version(m, ctx);
    containers::clear(m, ctx);
    // The steps of `migrate`, from a proxy registry brrt did not create.
    m.sub("legacy", |m| legacy::register(m, ctx));
    insight::register(m, ctx);
}

/// Upstream hosts and the caches named after them.
fn names(m: &mut ModuleBuilder<'_>) {
    m.func(
        "upstream",
        &["host: String", "remotes: Map"],
        "Map",
        "Resolves an upstream host (with an optional remote override in `remotes`): #{host, \
         remote, server}; unknown hosts without a remote are an error listing the known ones.",
        |host: &str, remotes: Map| -> RhaiResult<Dynamic> {
            let remotes: BTreeMap<String, String> =
                from_dynamic("registry::upstream", &remotes.into())?;
            to_dynamic(&upstream::resolve(host, &remotes).map_err(runtime_error)?)
        },
    );
    m.func(
        "known_upstreams",
        &[],
        "Array",
        "The upstream hosts brrt knows the real endpoint of.",
        || -> Array {
            upstream::KNOWN_UPSTREAMS
                .iter()
                .map(|(h, _)| Dynamic::from(h.to_string()))
                .collect()
        },
    );
    m.func(
        "cache_name",
        &["registry: String", "upstream: String"],
        "String",
        "The container name of the cache for `upstream` in the set of caches `set` (cache.name): \
         brrt-cache + docker.io is brrt-cache-docker-io.",
        |set: &str, host: &str| -> String { upstream::cache_name(set, host) },
    );
}

/// Where an upstream's credentials come from.
fn credentials(m: &mut ModuleBuilder<'_>) {
    m.func(
        "credential_vars",
        &["upstream: String"],
        "Array",
        "The two environment variables that hold the credentials for an upstream.",
        |host: &str| -> Array {
            let (u, p) = upstream::credential_vars(host);
            vec![u.into(), p.into()]
        },
    );
}
