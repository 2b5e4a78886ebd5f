//! `registry::` — the push registry, pull-through caches, and the registry HTTP API.

use crate::ops::registry::{self as ops, CacheSpec, PushRegistrySpec};
use crate::ops::upstream;
use crate::script::api_doc::ModuleBuilder;
use crate::script::context::ScriptContext;
use crate::script::convert::{from_dynamic, runtime_error, to_dynamic, with_docker, RhaiResult};
use rhai::{Array, Dynamic, Map};
use std::collections::BTreeMap;
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

fn preflight(c: &ScriptContext, push: Map, caches: Array, replacing: bool) -> RhaiResult<Dynamic> {
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

pub fn register(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
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
            preflight(&c, push, caches, false)
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
            preflight(&c, push, caches, replacing)
        },
    );
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
            let spec = cache_spec("registry::carry_over", spec)?;
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
    let c = ctx.clone();
    m.func(
        "catalog",
        &["registry: String"],
        "Array",
        "Repositories in a registry (a container name or an http:// URL), following pagination.",
        move |target: &str| -> RhaiResult<Dynamic> {
            let target = target.to_string();
            to_dynamic(&with_docker(&c, |d| async move {
                ops::api_for(&d, &target).await?.catalog().await
            })?)
        },
    );
    let c = ctx.clone();
    m.func(
        "catalog",
        &["registry: String", "page_size: int"],
        "Array",
        "Repositories in a registry, asking for `page_size` per request and following pagination.",
        move |target: &str, page_size: i64| -> RhaiResult<Dynamic> {
            let target = target.to_string();
            let page_size = u32::try_from(page_size.clamp(1, 10_000)).unwrap_or(100);
            to_dynamic(&with_docker(&c, |d| async move {
                ops::api_for(&d, &target)
                    .await?
                    .catalog_paged(page_size)
                    .await
            })?)
        },
    );
    let c = ctx.clone();
    m.func(
        "tags",
        &["registry: String", "repo: String"],
        "Array",
        "The tags of a repository.",
        move |target: &str, repo: &str| -> RhaiResult<Dynamic> {
            let (target, repo) = (target.to_string(), repo.to_string());
            to_dynamic(&with_docker(&c, |d| async move {
                ops::api_for(&d, &target).await?.tags(&repo).await
            })?)
        },
    );
    let c = ctx.clone();
    m.func(
        "manifest",
        &["registry: String", "repo: String", "reference: String"],
        "Map",
        "A manifest by tag or digest: #{digest, media_type, kind (image, oci-index, docker-list), \
         size, content_size, children}.",
        move |target: &str, repo: &str, reference: &str| -> RhaiResult<Dynamic> {
            let (target, repo, reference) =
                (target.to_string(), repo.to_string(), reference.to_string());
            to_dynamic(&with_docker(&c, |d| async move {
                ops::api_for(&d, &target)
                    .await?
                    .manifest(&repo, &reference)
                    .await
            })?)
        },
    );
    let c = ctx.clone();
    m.func(
        "delete",
        &["registry: String", "repo: String", "digest: String"],
        "()",
        "Deletes a manifest by digest.",
        move |target: &str, repo: &str, digest: &str| -> RhaiResult<()> {
            let (target, repo, digest) = (target.to_string(), repo.to_string(), digest.to_string());
            if c.mode.announce(
                crate::ops::Action::Removed,
                &format!("manifest {repo}@{digest}"),
            ) {
                with_docker(&c, |d| async move {
                    ops::api_for(&d, &target)
                        .await?
                        .delete(&repo, &digest)
                        .await
                })?;
            }
            Ok(())
        },
    );
    let c = ctx.clone();
    m.func(
        "contents",
        &["registry: String"],
        "Array",
        "What a registry container holds locally: #{repo, tag, digest, kind, size} per tag; never \
         asks a cache's upstream.",
        move |name: &str| -> RhaiResult<Dynamic> {
            let name = name.to_string();
            to_dynamic(&with_docker(&c, |d| async move {
                ops::contents(&d, &name).await
            })?)
        },
    );
    let c = ctx.clone();
    m.func(
        "size",
        &["registry: String"],
        "int",
        "Bytes in a registry's data volume.",
        move |name: &str| -> RhaiResult<i64> {
            let name = name.to_string();
            with_docker(&c, |d| async move { ops::size(&d, &name).await })
        },
    );
    let c = ctx.clone();
    m.func(
        "version",
        &["registry: String"],
        "Map",
        "Which distribution a registry container runs, from its log (else `registry --version`): \
         #{version, major, honours_ttl, counts_blob_misses, stores_after_hang_up}; () when it \
         does not tell. registry:3 is major 3; registry:2 (2.8) ignores cache.ttl.",
        move |name: &str| -> RhaiResult<Dynamic> {
            let name = name.to_string();
            let found = with_docker(&c, |d| async move { ops::distribution(&d, &name).await })?;
            Ok(match found {
                None => Dynamic::UNIT,
                Some(release) => {
                    let mut map = to_dynamic(&release)?.try_cast::<Map>().unwrap_or_default();
                    map.insert("honours_ttl".into(), release.honours_ttl().into());
                    map.insert(
                        "counts_blob_misses".into(),
                        release.counts_blob_misses().into(),
                    );
                    map.insert(
                        "stores_after_hang_up".into(),
                        release.stores_after_hang_up().into(),
                    );
                    map.into()
                }
            })
        },
    );
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
    // The steps of `migrate`, from a proxy registry brrt did not create.
    m.sub("legacy", |m| super::legacy_registry::register(m, ctx));
    super::registry_insight::register(m, ctx);
}
