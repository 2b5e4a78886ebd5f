//! `registry::` functions that look into the caches at work and prepare them: counters
//! (`stats`), live activity (`follow_logs`), an upstream's pull limit (`pull_limit`,
//! `pull_limit_start`, `refused_pulls`), and pulling images in ahead of time (`image_refs`,
//! `image_ref`, `warm`).

use crate::ops::registry::activity::{self, Followed};
use crate::ops::registry::manifest::Platform;
use crate::ops::registry::{pull_limit, stats};
use crate::ops::warm::{self, FoundRef, ImageRef, WarmPlan};
use crate::script::api_doc::ModuleBuilder;
use crate::script::context::ScriptContext;
use crate::script::convert::{
    from_dynamic, runtime_error, script_error, to_dynamic, with_docker, RhaiResult,
};
use rhai::{Array, Dynamic, Map};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// What `registry::warm` accepts as options.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct WarmOptions {
    /// `[cache.shared]`: upstreams a team cache serves, host → endpoint.
    #[serde(default)]
    team_caches: BTreeMap<String, String>,
    /// `os/arch[/variant]`; the engine's platform when absent.
    platform: Option<String>,
    jobs: Option<i64>,
    blob_jobs: Option<i64>,
}

/// A reference for `registry::warm`: a string, or #{text, source} from `image_refs`.
fn found_refs(list: &Array) -> RhaiResult<Vec<FoundRef>> {
    list.iter()
        .map(|item| {
            if let Some(text) = item.clone().try_cast::<rhai::ImmutableString>() {
                return Ok(FoundRef {
                    text: text.to_string(),
                    source: "the script".into(),
                });
            }
            let map = item.clone().try_cast::<Map>().ok_or_else(|| {
                runtime_error(format!(
                    "registry::warm: each image is a string or #{{text, source}}, not a {}",
                    item.type_name()
                ))
            })?;
            let get = |k: &str| map.get(k).map(|v| v.to_string());
            Ok(FoundRef {
                text: get("text")
                    .ok_or_else(|| runtime_error("registry::warm: an image map needs `text`"))?,
                source: get("source").unwrap_or_else(|| "the script".into()),
            })
        })
        .collect()
}

pub fn register(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
    figures(m, ctx);
    logs(m, ctx);
    image_refs(m, ctx);
    warming(m, ctx);
}

/// What a cache counted, and the upstream's pull limit.
fn figures(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
    let c = ctx.clone();
    m.func(
        "stats",
        &["cache: String", "upstream: String"],
        "Map",
        "A cache's figures from distribution's proxy counters: #{upstream, cache, counters, \
         requests, hits, misses, hit_ratio (each #{blobs, manifests}), bytes_from_upstream, \
         bytes_served, since, warmed, note}. The counters restart with the container (since = its \
         start). A cache without counters gets counters: false, figures () and a note saying why.",
        move |cache: &str, upstream: &str| -> RhaiResult<Dynamic> {
            let (cache, upstream) = (cache.to_string(), upstream.to_string());
            to_dynamic(&with_docker(&c, |d| async move {
                stats::cache_stats(&d, &cache, &upstream).await
            })?)
        },
    );
    let c = ctx.clone();
    m.func(
        "pull_limit",
        &["upstream: String", "remotes: Map"],
        "Map",
        "The pull limit the upstream reports for its cache's pulls (Docker Hub: anonymous per IP \
         address, or per account): a HEAD of ratelimitpreview/test:latest at the cache's remote \
         (`remotes` is cache.remotes; else the real endpoint) with the cache's credentials \
         (BRRT_<UPSTREAM>_USERNAME/_PASSWORD, never printed), after the bearer-token dance; a \
         HEAD never counts as a pull. Returns #{upstream, remote, own_remote, who (anonymous or \
         account), limit, remaining, window (seconds), status (ok, low: under 10% left, used up, \
         refused: credentials refused, unknown), level (ok, warn, fail, note), text (one line, \
         with what to do when few are left), newly_low (low now, and not at this process's \
         previous check), recovered}. Never throws for an upstream that does not answer.",
        move |host: &str, remotes: Map| -> RhaiResult<Dynamic> {
            pull_limit_of(&c, host, remotes, false)
        },
    );
    let c = ctx.clone();
    m.func(
        "pull_limit",
        &["upstream: String", "remotes: Map", "options: Map"],
        "Map",
        "registry::pull_limit(upstream, remotes), where options.fresh = true never takes an \
         answer registry::pull_limit_start remembered from an earlier run (a flow that changed \
         the cache since: new credentials, another remote).",
        move |host: &str, remotes: Map, options: Map| -> RhaiResult<Dynamic> {
            let fresh = match options.get("fresh") {
                None => false,
                Some(v) => v.as_bool().map_err(|_| {
                    runtime_error("registry::pull_limit: options.fresh must be true or false")
                })?,
            };
            pull_limit_of(&c, host, remotes, fresh)
        },
    );
    let c = ctx.clone();
    m.func(
        "pull_limit_start",
        &["upstream: String", "remotes: Map"],
        "()",
        "Starts registry::pull_limit in the background; the next registry::pull_limit with the \
         same arguments in this process takes its answer, so a flow that asks early overlaps \
         the upstream's round trips with its own work. The first start of a remote and account \
         in a process takes the answer an earlier run got within the last 5 minutes, kept in \
         brrt's private folder by remote and account name (never a password or token), instead \
         of asking; registry::pull_limit without a start always asks.",
        move |host: &str, remotes: Map| -> RhaiResult<()> {
            let remotes: BTreeMap<String, String> =
                from_dynamic("registry::pull_limit_start", &remotes.into())?;
            pull_limit::start(&c.handle, host, &remotes);
            Ok(())
        },
    );
}

/// What the caches' logs say: pulls refused, and following them.
fn logs(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
    let c = ctx.clone();
    m.func(
        "refused_pulls",
        &["cache: String", "upstream: String"],
        "Map",
        "The pulls `upstream` refused cache container `cache` for its pull limit (429 \
         TOOMANYREQUESTS), read from the cache's last 2000 log lines: #{count, last_at, image, \
         text (one line, with what to do)}, or () when there were none.",
        move |cache: &str, upstream: &str| -> RhaiResult<Dynamic> {
            let (cache, upstream) = (cache.to_string(), upstream.to_string());
            match with_docker(&c, |d| async move {
                pull_limit::refused(&d, &cache, &upstream).await
            })? {
                Some(r) => to_dynamic(&r),
                None => Ok(Dynamic::UNIT),
            }
        },
    );
    let c = ctx.clone();
    m.func(
        "follow_logs",
        &["caches: Array"],
        "()",
        "Follows the log of each cache (#{upstream, name}, as registry::caches lists them) from \
         now on and prints one line per request served, prefixed with the upstream and marked hit \
         (from the cache's storage) or miss (from its upstream), plus blobs stored and errors. \
         Runs until Ctrl-C, or until every cache stops.",
        move |caches: Array| -> RhaiResult<()> {
            let followed = caches
                .iter()
                .map(|item| {
                    let map = item.clone().try_cast::<Map>();
                    let field = |k: &str| {
                        map.as_ref()
                            .and_then(|m| m.get(k))
                            .map(|v| v.to_string())
                            .ok_or_else(|| {
                                runtime_error(format!(
                                    "registry::follow_logs: each cache is #{{upstream, name}}; `{k}` is missing"
                                ))
                            })
                    };
                    Ok(Followed {
                        upstream: field("upstream")?,
                        container: field("name")?,
                    })
                })
                .collect::<RhaiResult<Vec<_>>>()?;
            with_docker(&c, |d| async move {
                activity::follow(&d, &followed, &mut |line| {
                    use std::io::Write;
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
                })
                .await
            })
        },
    );
}

/// Image references, one normalised or all of a set of manifests.
fn image_refs(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
    m.func(
        "image_ref",
        &["reference: String"],
        "String",
        "Normalises an image reference as containerd does (postgres:16 → \
         docker.io/library/postgres:16; a digest is kept); throws, naming the reference, when it \
         is not one.",
        |text: &str| -> RhaiResult<String> {
            ImageRef::parse(text)
                .map(|r| r.to_string())
                .map_err(|why| runtime_error(format!("`{text}` is not an image reference: {why}")))
        },
    );
    let c = ctx.clone();
    m.func(
        "image_refs",
        &["paths: Array"],
        "Array",
        "The image references in Kubernetes manifests (.yaml/.yml/.json, several documents each: \
         containers and initContainers of Pods, Deployments, StatefulSets, DaemonSets, \
         ReplicaSets, Jobs, CronJobs, List items), folders of them, and plain lists (other files, \
         one reference per line, # comments). Returns #{text, source} per reference, as written. A \
         missing path, or YAML that does not parse (file, line and column), throws. Every file \
         read is watched under --watch.",
        move |paths: Array| -> RhaiResult<Array> {
            let paths: Vec<PathBuf> =
                crate::script::convert::string_list("registry::image_refs", &paths)?
                    .iter()
                    .map(|p| c.resolve(p))
                    .collect();
            let shown = |p: &std::path::Path| c.display_path(p);
            let mut read = |p: &std::path::Path| c.track(p);
            let found = warm::collect(&paths, &shown, &mut read).map_err(runtime_error)?;
            Ok(found
                .into_iter()
                .map(|f| {
                    let mut m = Map::new();
                    m.insert("text".into(), f.text.into());
                    m.insert("source".into(), f.source.into());
                    Dynamic::from_map(m)
                })
                .collect())
        },
    );
}

/// Pulling images into the caches.
fn warming(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
    let c = ctx.clone();
    m.func(
        "warm",
        &["images: Array", "caches: Map", "options: Map"],
        "Map",
        "Pulls images (strings, or #{text, source} from image_refs) into the caches: caches maps \
         an upstream host to its running cache container; options #{team_caches (host → team cache \
         URL, [cache.shared]), platform (os/arch, default the engine's), jobs (images at once, \
         default 4), blob_jobs (blob fetches at once, default 6)}. An image already in its cache \
         is seen from the cache's storage and skipped; others are fetched through the cache (an \
         index resolved for the platform), with progress on stderr. Returns #{images, warmed, \
         planned, cached, skipped, failed, bytes, seconds, results: [#{image, source, upstream, \
         status, bytes, detail}]}; one image's failure never stops the others. Under --dry-run \
         nothing is fetched (status planned).",
        move |images: Array, caches: Map, options: Map| warm_images(&c, &images, caches, options),
    );
}

/// `registry::warm(images, caches, options)`.
fn warm_images(
    c: &ScriptContext,
    images: &Array,
    caches: Map,
    options: Map,
) -> RhaiResult<Dynamic> {
    let refs = found_refs(images)?;
    let caches: BTreeMap<String, String> = from_dynamic("registry::warm", &caches.into())?;
    let options: WarmOptions = from_dynamic("registry::warm", &options.into())?;
    let platform = match &options.platform {
        Some(p) => Platform::parse(p).map_err(runtime_error)?,
        None => with_docker(c, |d| async move {
            let v = d
                .version()
                .await
                .map_err(|e| crate::ops::Error::docker("version", e))?;
            Platform::parse(&format!(
                "{}/{}",
                v.os.unwrap_or_else(|| "linux".into()),
                v.arch.unwrap_or_else(|| "amd64".into())
            ))
        })?,
    };
    let bound = |v: Option<i64>, default: usize| {
        v.map_or(default, |n| {
            usize::try_from(n.clamp(1, 64)).unwrap_or(default)
        })
    };
    let plan = WarmPlan {
        refs,
        caches,
        shared: options.team_caches,
        platform,
        jobs: bound(options.jobs, 4),
        blob_jobs: bound(options.blob_jobs, 6),
        dry_run: c.mode.dry_run,
    };
    let d = c.docker().map_err(|e| script_error(c, e))?;
    let progress = crate::progress::warm_progress();
    let summary = c
        .block_on(async { warm::warm(&d, &plan, progress.as_ref()).await })
        .map_err(|e| script_error(c, e))?;
    for r in &summary.results {
        if r.status == warm::Status::Warmed {
            c.record(
                crate::ops::Action::Updated,
                format!("cache of {} by warming {}", r.upstream, r.image),
            );
        }
    }
    to_dynamic(&summary)
}

/// registry::pull_limit: the check's answer for a script.
fn pull_limit_of(c: &ScriptContext, host: &str, remotes: Map, fresh: bool) -> RhaiResult<Dynamic> {
    let remotes: BTreeMap<String, String> = from_dynamic("registry::pull_limit", &remotes.into())?;
    let host = host.to_string();
    let found = c
        .block_on(async move { pull_limit::check(&host, &remotes, fresh).await })
        .map_err(|e| script_error(c, e))?;
    to_dynamic(&found)
}
