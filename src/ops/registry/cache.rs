//! Pull-through caches: one registry (`registry:3` by default) in proxy mode per upstream, with its data in a named
//! volume.
//!
//! A registry in proxy mode will not start while it cannot reach its upstream
//! (distribution#1435): it panics and restart-loops. So a cache that is (re)started during an
//! outage is served as a plain registry on the same volume ("offline, upstream unreachable"),
//! which serves everything it holds; a later run, or `--watch` on a timer, checks the upstream
//! and puts the proxy back once it answers. `offline = true` forces plain serving.

use super::cache_container::{MODE_LABEL, MODE_OFFLINE, MODE_PROXY, MODE_UNREACHABLE};
use super::cache_spec::CacheSpec;
use super::container::{
    ensure_registry, volume_name, RegistryOutcome, DEFAULT_IMAGE, REGISTRY_READY, ROLE_LABEL,
};
use super::version::{self, Distribution};
use crate::ops::docker::{self, ContainerSpec, Ready};
use crate::ops::{Action, Error, Mode, Result};
use bollard::Docker;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Ensures one pull-through cache. Credentials come from `BRRT_<UPSTREAM>_USERNAME` and
/// `BRRT_<UPSTREAM>_PASSWORD` and reach only this container, never a label or a log. A
/// (re)started cache must answer `/v2/` before this returns; one whose upstream cannot be
/// reached serves its volume offline instead (see the module docs).
pub async fn ensure_cache(d: &Docker, spec: &CacheSpec, mode: Mode) -> Result<RegistryOutcome> {
    let out = ensure_cache_container(d, spec, mode).await?;
    if out.mode == MODE_PROXY && !mode.dry_run {
        if let Some(ttl) = &spec.ttl {
            warn_if_ttl_ignored(d, &out, ttl, &spec.image).await;
        }
    }
    Ok(out)
}

/// Says, once per cache container in this process (so `--watch` does not repeat it), that
/// `cache.ttl` has no effect: distribution 2.x ignores `REGISTRY_PROXY_TTL` (it logs "Ignoring
/// unrecognized environment variable") and keeps what it caches for its fixed 7 days.
async fn warn_if_ttl_ignored(d: &Docker, out: &RegistryOutcome, ttl: &str, image: &str) {
    static CHECKED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    let first = CHECKED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(out.id.clone());
    if !first {
        return;
    }
    if let Ok(Some(release)) = version::distribution(d, &out.name).await {
        if !release.honours_ttl() {
            tracing::warn!("{}", ttl_ignored(&out.name, ttl, image, &release));
        }
    }
}

/// The words for a `cache.ttl` that a cache's distribution ignores (dev-up and doctor say it).
pub fn ttl_ignored(cache: &str, ttl: &str, image: &str, release: &Distribution) -> String {
    format!(
        "cache.ttl = \"{ttl}\" is ignored by {cache}: it runs {release} ({image}), which does \
         not read proxy.ttl and keeps what it caches for 7 days (168h); use image = \"{}\" \
         for the TTL to apply",
        DEFAULT_IMAGE
    )
}

/// [`ensure_cache`] without the checks that follow it.
async fn ensure_cache_container(
    d: &Docker,
    spec: &CacheSpec,
    mode: Mode,
) -> Result<RegistryOutcome> {
    let up = spec.resolve_upstream()?;
    let name = spec.name();
    let volume = volume_name(&name);
    let volume_labels = spec.volume_labels(&up);
    let ensure = |container: ContainerSpec, shown: &'static str| {
        let volume = volume.clone();
        let volume_labels = volume_labels.clone();
        async move {
            let mut out = ensure_registry(
                d,
                &container,
                &volume,
                &volume_labels,
                mode,
                &REGISTRY_READY,
            )
            .await?;
            out.mode = shown.into();
            Ok::<_, Error>(out)
        }
    };
    let current = docker::inspect_container(d, &name).await?;
    if let Some(c) = &current {
        // Shared by every cluster on the engine: another's config has a say in its settings.
        super::sharing::check_settings(d, spec, c).await?;
        // The common no-op: that one inspect tells it is as wanted.
        let serving = c.labels.get(MODE_LABEL).map(String::as_str);
        let wanted = match serving {
            Some(MODE_OFFLINE) if spec.offline => {
                Some((spec.container(&up, MODE_OFFLINE), MODE_OFFLINE))
            }
            Some(MODE_PROXY) if !spec.offline => {
                Some((spec.container(&up, MODE_PROXY), MODE_PROXY))
            }
            _ => None,
        };
        if let Some((wanted, shown)) = wanted.filter(|(w, _)| docker::is_current(c, w)) {
            return Ok(RegistryOutcome {
                name: wanted.name,
                action: Action::Unchanged,
                id: c.id.clone(),
                volume: volume.clone(),
                volume_action: Action::Unchanged,
                mode: shown.into(),
                upstream_unreachable: false,
            });
        }
    }
    if spec.offline {
        return ensure(spec.container(&up, MODE_OFFLINE), MODE_OFFLINE).await;
    }
    let proxy = spec.container(&up, MODE_PROXY);
    let serving = current
        .as_ref()
        .and_then(|c| c.labels.get(MODE_LABEL))
        .map(String::as_str);
    if serving == Some("offline-auto") {
        // Offline since its upstream was unreachable: back to proxy once the upstream answers.
        if !mode.dry_run && time_to_probe(&name) && upstream_answers(d, &proxy).await? {
            tracing::info!("{} answers again: {name} goes back to caching it", up.host);
            return ensure(proxy, MODE_PROXY).await;
        }
        let mut out = ensure(spec.container(&up, "offline-auto"), MODE_UNREACHABLE).await?;
        out.upstream_unreachable = true;
        return Ok(out);
    }
    let crash_looping = current.as_ref().is_some_and(|c| c.status == "restarting");
    let unreachable = if crash_looping && !mode.dry_run {
        // A proxy that was started during an outage (a reboot without network).
        upstream_unreachable(&docker::logs(d, &name, 200).await?)
    } else {
        match ensure(proxy, MODE_PROXY).await {
            Err(Error::NotStarted {
                logs,
                reason,
                old_restored: false,
                ..
            }) if upstream_unreachable(&logs) || upstream_silent(&reason, &logs) => true,
            other => return other,
        }
    };
    if !unreachable {
        return ensure(spec.container(&up, MODE_PROXY), MODE_PROXY).await;
    }
    tracing::warn!(
        "{} is unreachable, so {name} cannot start as its cache; it serves what it holds until \
         the upstream answers again",
        up.host
    );
    let mut out = ensure(spec.container(&up, "offline-auto"), MODE_UNREACHABLE).await?;
    out.upstream_unreachable = true;
    Ok(out)
}

/// The shortest time between two probes of one cache's upstream in one brrt process: under
/// `--watch` every save runs the flow, and a probe starts a container (about a second).
const PROBE_EVERY: Duration = Duration::from_secs(8);

/// Whether this process has not probed `cache`'s upstream for [`PROBE_EVERY`]; if so, notes
/// that it does now.
fn time_to_probe(cache: &str) -> bool {
    static LAST: Mutex<BTreeMap<String, Instant>> = Mutex::new(BTreeMap::new());
    let mut last = LAST
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    match last.get(cache) {
        Some(at) if at.elapsed() < PROBE_EVERY => false,
        _ => {
            last.insert(cache.to_string(), Instant::now());
            true
        }
    }
}

/// Whether a proxy's output says it could not reach its upstream at start.
fn upstream_unreachable(logs: &str) -> bool {
    logs.contains("panic: Get ")
        || logs.contains("dial tcp")
        || logs.contains("no such host")
        || logs.contains("connection refused")
}

/// Whether a proxy that did not come up (`reason`) is waiting for its upstream: it runs, but
/// never began to listen, because the request to the upstream it makes before its server
/// starts has not come back (an upstream that accepts and never answers, or a firewall that
/// drops packets). Once it gives up it would say so, too late for the wait.
fn upstream_silent(reason: &str, logs: &str) -> bool {
    reason.starts_with("it did not answer") && !logs.contains("listening on")
}

/// Starts a throwaway proxy of the cache's upstream (no volume of the cache's, on its network)
/// and sees whether it comes up: exactly what the real cache would need.
async fn upstream_answers(d: &Docker, proxy: &ContainerSpec) -> Result<bool> {
    let mut probe = proxy.clone();
    probe.name = format!("{}-probe", proxy.name);
    probe.mounts.clear();
    probe.ports = vec!["127.0.0.1::5000".into()];
    probe.restart = Some("no".into());
    probe.labels.insert(ROLE_LABEL.into(), "probe".into());
    if let Some(left) = docker::inspect_container(d, &probe.name).await? {
        if !left.labels.contains_key(docker::MANAGED_LABEL) {
            tracing::warn!(
                "{} was not created by brrt, and brrt checks the upstream of {} with a \
                 container of that name: it is left as it is, and {} keeps serving what it \
                 holds; rename or remove it",
                probe.name,
                proxy.name,
                proxy.name
            );
            return Ok(false);
        }
        docker::remove_container(d, &probe.name, Mode::default()).await?;
    }
    let ready = Ready::Http {
        container_port: "5000/tcp",
        path: "/v2/",
        within: Duration::from_secs(10),
    };
    match docker::ensure_container_ready(d, &probe, Mode::default(), &ready).await {
        Ok(_) => {
            docker::remove_container(d, &probe.name, Mode::default()).await?;
            Ok(true)
        }
        Err(Error::NotStarted { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}
