//! Migration from a single pull-through registry brrt did not create (the `kind-registry` in
//! proxy mode that teams set up by hand) to brrt's topology, keeping what it cached.
//!
//! Each step is safe on its own, whatever calls it: none touches a registry brrt created, or
//! one that is not in proxy mode (it may hold pushed images that exist nowhere else), and none
//! copies into a volume brrt did not create. The data is copied, never moved: through the
//! engine's archive API, from the old container's `/var/lib/registry` (a named or anonymous
//! volume, a bind mount or its own filesystem) into a container that is created on the cache's
//! volume and never started, so no shell is needed in any image. A copy that fails, or that the
//! user interrupts, leaves the old registry as it was, running again if it ran.
//!
//! The old container goes only after the cache's volume is checked against the old registry's
//! own tags, manifests and blobs, served by a throwaway registry that reads the volume offline
//! (read-only, no upstream): a blob the copy missed cannot be fetched from the upstream and
//! pass. Every figure is counted from the old registry's storage, never estimated.
//!
//! The copy ([`copy_storage`]) and the check ([`verify_storage`]) are also how a config's own
//! caches from before caches were shared are carried into the shared ones (`carry_over`).

use super::{labels, volume_name, CacheSpec, DATA_DIR};
use crate::ops::docker::{self, MANAGED_LABEL};
use crate::ops::{upstream, Action, Error, Mode, Result};
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, DownloadFromContainerOptionsBuilder,
    UploadToContainerOptionsBuilder,
};
use bollard::Docker;
use futures_util::StreamExt;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// The old registry's name while brrt's push registry takes its own: `kind-registry-pre-brrt`.
pub const ASIDE_SUFFIX: &str = "-pre-brrt";
/// Role label of the container that is created on the cache's volume to receive the copy.
const COPY_ROLE: &str = "migrate-copy";
/// Role label of the throwaway registry that serves the cache's volume, read-only, to check it.
const VERIFY_ROLE: &str = "migrate-verify";

/// Where a registry keeps its data.
#[derive(Debug, Clone, Serialize)]
pub struct DataSource {
    /// `volume`, `anonymous volume`, `bind mount` or `container filesystem`.
    pub kind: String,
    /// The volume's name, for a volume.
    pub volume: Option<String>,
    /// Where the data is on the engine's host, when known.
    pub source: Option<String>,
    /// The path inside the container: `/var/lib/registry`.
    pub path: String,
}

/// One tag a registry's storage holds.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
pub struct StoredTag {
    pub repo: String,
    pub tag: String,
    pub digest: String,
}

/// A registry container found at a name, as `migrate` sees it.
#[derive(Debug, Clone, Serialize)]
pub struct LegacyRegistry {
    /// Its name now: the registry's name, or with [`ASIDE_SUFFIX`] when a migration put it aside.
    pub name: String,
    /// Whether it is the one a migration put aside.
    pub aside: bool,
    pub id: String,
    pub image: String,
    pub running: bool,
    pub status: String,
    /// brrt created it (then there is nothing to migrate).
    pub managed: bool,
    /// The remote it proxies (`REGISTRY_PROXY_REMOTEURL`, or `proxy.remoteurl` in its config
    /// file), without any user or password it holds; `None` when it is no pull-through cache.
    pub remote: Option<String>,
    /// It logs in to its upstream (`REGISTRY_PROXY_USERNAME`/`_PASSWORD`, or a user in its
    /// remote URL). The credentials themselves never leave ops.
    pub logs_in: bool,
    /// The upstream host that remote stands for (`https://registry-1.docker.io` → `docker.io`).
    pub upstream: Option<String>,
    pub data: DataSource,
    /// Bytes of data; -1 when they cannot be measured from here (a remote engine).
    pub size: i64,
    /// What its storage holds.
    pub tags: Vec<StoredTag>,
    pub networks: Vec<String>,
    pub ports: BTreeMap<String, String>,
}

impl LegacyRegistry {
    fn is_proxy(&self) -> bool {
        self.remote.is_some()
    }
}

/// The registry at `name`, unless brrt made it and a migration of `name` put the old one aside
/// (a migration to resume); `None` when neither exists. `remotes` (the config's
/// `cache.remotes`) maps a remote back to its upstream first.
pub async fn inspect(
    d: &Docker,
    name: &str,
    remotes: &BTreeMap<String, String>,
) -> Result<Option<LegacyRegistry>> {
    let at_name = inspect_one(d, name, remotes).await?;
    if at_name.as_ref().is_some_and(|r| !r.managed) {
        return Ok(at_name);
    }
    match inspect_one(d, &aside_name(name), remotes).await? {
        Some(old) if !old.managed => Ok(Some(LegacyRegistry { aside: true, ..old })),
        _ => Ok(at_name),
    }
}

/// `kind-registry` → `kind-registry-pre-brrt`.
pub fn aside_name(name: &str) -> String {
    format!("{name}{ASIDE_SUFFIX}")
}

async fn inspect_one(
    d: &Docker,
    name: &str,
    remotes: &BTreeMap<String, String>,
) -> Result<Option<LegacyRegistry>> {
    let raw = match d.inspect_container(name, None).await {
        Ok(c) => c,
        Err(e) if docker::is_not_found(&e) => return Ok(None),
        Err(e) => return Err(Error::docker(format!("inspect container {name}"), e)),
    };
    let Some(state) = docker::inspect_container(d, name).await? else {
        return Ok(None);
    };
    let config = raw.config.unwrap_or_default();
    let env = config.env.unwrap_or_default();
    let env_value = |key: &str| {
        env.iter()
            .find_map(|e| e.strip_prefix(&format!("{key}=")))
            .map(str::to_string)
    };
    let path = env_value("REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY")
        .unwrap_or_else(|| DATA_DIR.to_string());
    let remote = match env_value("REGISTRY_PROXY_REMOTEURL") {
        Some(r) => Some(r),
        None => {
            let files = config_files(
                env_value("REGISTRY_CONFIGURATION_PATH").as_deref(),
                config.entrypoint.as_deref().unwrap_or_default(),
                config.cmd.as_deref().unwrap_or_default(),
            );
            remote_in_config_file(d, name, &files).await
        }
    };
    let (remote, in_url) = match remote {
        Some(r) => {
            let (plain, had) = upstream::without_credentials(&r);
            (Some(plain), had)
        }
        None => (None, false),
    };
    let logs_in = in_url || env_value("REGISTRY_PROXY_USERNAME").is_some();
    let upstream = remote
        .as_deref()
        .and_then(|r| upstream::host_for_remote(r, remotes));
    let mount = raw
        .mounts
        .unwrap_or_default()
        .into_iter()
        .find(|m| m.destination.as_deref() == Some(path.as_str()));
    let data = match mount {
        Some(m) if m.typ.as_deref() == Some("volume") => {
            let volume = m.name.unwrap_or_default();
            let anonymous = volume.len() == 64 && volume.chars().all(|c| c.is_ascii_hexdigit());
            DataSource {
                kind: if anonymous {
                    "anonymous volume"
                } else {
                    "volume"
                }
                .to_string(),
                volume: Some(volume),
                source: m.source,
                path: path.clone(),
            }
        }
        Some(m) => DataSource {
            kind: "bind mount".to_string(),
            volume: None,
            source: m.source,
            path: path.clone(),
        },
        None => DataSource {
            kind: "container filesystem".to_string(),
            volume: None,
            source: None,
            path: path.clone(),
        },
    };
    let size = match (&data.volume, &data.source) {
        (Some(v), _) => docker::volume_size(d, v).await?,
        (None, Some(dir)) if data.kind == "bind mount" => docker::path_size(dir).await,
        _ => None,
    }
    .map_or(-1, |b| i64::try_from(b).unwrap_or(i64::MAX));
    let tags = stored_index(d, name, &path).await?.tags;
    Ok(Some(LegacyRegistry {
        name: name.to_string(),
        aside: false,
        id: state.id,
        image: state.image,
        running: state.running,
        status: state.status,
        managed: state.labels.contains_key(MANAGED_LABEL),
        remote,
        logs_in,
        upstream,
        data,
        size,
        tags,
        networks: state.networks,
        ports: state.ports,
    }))
}

/// Where a registry container may keep its config file, most certain first:
/// `REGISTRY_CONFIGURATION_PATH`; the argument after `serve` in its entrypoint and command
/// (`registry serve /etc/distribution/config.yml`); a `.yml`/`.yaml` argument (the official
/// images' entrypoint script adds `serve` itself); then where each image keeps it, v3's
/// `/etc/distribution/config.yml` and 2.x's `/etc/docker/registry/config.yml`.
fn config_files(env_path: Option<&str>, entrypoint: &[String], cmd: &[String]) -> Vec<String> {
    let args: Vec<&String> = entrypoint.iter().chain(cmd).collect();
    let after_serve = args
        .iter()
        .position(|a| a.as_str() == "serve")
        .and_then(|at| args.get(at + 1))
        .map(|a| a.as_str());
    let yaml = args
        .iter()
        .rev()
        .find(|a| a.ends_with(".yml") || a.ends_with(".yaml"))
        .map(|a| a.as_str());
    let mut files: Vec<String> = Vec::new();
    for file in [
        env_path,
        after_serve,
        yaml,
        Some("/etc/distribution/config.yml"),
        Some("/etc/docker/registry/config.yml"),
    ]
    .into_iter()
    .flatten()
    {
        if file.starts_with('/') && !files.iter().any(|f| f == file) {
            files.push(file.to_string());
        }
    }
    files
}

/// `proxy.remoteurl` in the registry's config file, the first of `files` the container has,
/// for a proxy configured by file.
async fn remote_in_config_file(d: &Docker, container: &str, files: &[String]) -> Option<String> {
    for file in files {
        let Some((dir, name)) = file.rsplit_once('/') else {
            continue;
        };
        let found = docker::read_dir_files(d, container, dir).await.ok();
        let Some(text) = found.as_ref().and_then(|f| f.get(name)) else {
            continue;
        };
        let config: yaml_serde::Value = yaml_serde::from_str(text).ok()?;
        return config["proxy"]["remoteurl"]
            .as_str()
            .filter(|r| !r.is_empty())
            .map(str::to_string);
    }
    None
}

/// What a registry's storage holds, as its link files say: per repository the tags, the
/// manifests (revisions) and the blobs (layers and configs).
#[derive(Debug, Default)]
struct StoredIndex {
    tags: Vec<StoredTag>,
    revisions: BTreeMap<String, BTreeSet<String>>,
    layers: BTreeMap<String, BTreeSet<String>>,
}

impl StoredIndex {
    /// Every blob digest the links name, manifests included.
    fn digests(&self) -> BTreeSet<&str> {
        self.revisions
            .values()
            .chain(self.layers.values())
            .flatten()
            .map(String::as_str)
            .collect()
    }
}

/// Reads a registry's index through the archive API (no process runs in the container; a
/// stopped one works too).
async fn stored_index(d: &Docker, container: &str, data: &str) -> Result<StoredIndex> {
    let root = format!(
        "{}/docker/registry/v2/repositories",
        data.trim_end_matches('/')
    );
    let files = docker::read_dir_files(d, container, &root).await?;
    let mut index = StoredIndex::default();
    let digest_of = |rest: &str| {
        rest.strip_prefix("sha256/")
            .and_then(|r| r.strip_suffix("/link"))
            .map(|hex| format!("sha256:{hex}"))
    };
    for (path, link) in &files {
        if let Some((repo, rest)) = path.split_once("/_manifests/tags/") {
            if let Some(tag) = rest.strip_suffix("/current/link") {
                index.tags.push(StoredTag {
                    repo: repo.to_string(),
                    tag: tag.to_string(),
                    digest: link.trim().to_string(),
                });
            }
        } else if let Some((repo, rest)) = path.split_once("/_manifests/revisions/") {
            if let Some(digest) = digest_of(rest) {
                index
                    .revisions
                    .entry(repo.to_string())
                    .or_default()
                    .insert(digest);
            }
        } else if let Some((repo, rest)) = path.split_once("/_layers/") {
            if let Some(digest) = digest_of(rest) {
                index
                    .layers
                    .entry(repo.to_string())
                    .or_default()
                    .insert(digest);
            }
        }
    }
    index.tags.sort();
    Ok(index)
}

/// The blobs of `index` whose data a registry's storage holds, with their sizes: one stat each
/// through the archive API. A link whose blob is missing is left out (the registry itself
/// cannot serve it).
async fn held_blobs(
    d: &Docker,
    container: &str,
    data: &str,
    index: &StoredIndex,
) -> Result<BTreeMap<String, u64>> {
    let mut held = BTreeMap::new();
    for digest in index.digests() {
        let Some(hex) = digest.strip_prefix("sha256:").filter(|h| h.len() > 2) else {
            continue;
        };
        let path = format!(
            "{}/docker/registry/v2/blobs/sha256/{}/{hex}/data",
            data.trim_end_matches('/'),
            &hex[..2]
        );
        if let Some(stat) = docker::stat_path(d, container, &path).await? {
            held.insert(
                digest.to_string(),
                u64::try_from(stat.size).unwrap_or_default(),
            );
        }
    }
    Ok(held)
}

/// Refuses a container that is not an old proxy: brrt's own, or one that is no pull-through
/// cache (it may hold images pushed to it, which exist nowhere else).
fn check_legacy(found: &LegacyRegistry) -> Result<()> {
    if found.managed {
        return Err(Error::Other(format!(
            "{} was created by brrt: there is nothing to migrate",
            found.name
        )));
    }
    if !found.is_proxy() {
        return Err(Error::Other(format!(
            "{} was not created by brrt and is no pull-through cache (it has no \
             REGISTRY_PROXY_REMOTEURL), so it may hold images pushed to it: brrt leaves it alone",
            found.name
        )));
    }
    Ok(())
}

async fn legacy(d: &Docker, name: &str) -> Result<LegacyRegistry> {
    let found = inspect_one(d, name, &BTreeMap::new())
        .await?
        .ok_or_else(|| Error::Other(format!("no container named {name}")))?;
    check_legacy(&found)?;
    Ok(found)
}

/// A tag the copy gave a new digest in the cache's volume.
#[derive(Debug, Clone, Serialize)]
pub struct ReplacedTag {
    pub repo: String,
    pub tag: String,
    /// The digest the cache's volume held for it.
    pub was: String,
    /// The old registry's, which it holds now.
    pub now: String,
}

/// What copying an old registry's data did.
#[derive(Debug, Clone, Serialize)]
pub struct CopyOutcome {
    pub from: String,
    pub volume: String,
    pub volume_action: Action,
    /// The old registry's tags: what was carried over.
    pub tags: Vec<StoredTag>,
    /// Manifests the old registry held (an index and its images count one each).
    pub manifests: usize,
    /// Layer and config blobs it held, each counted once.
    pub blobs: usize,
    /// The bytes of those manifests and blobs, summed from each one's size.
    pub bytes: i64,
    /// Tags the cache's volume held already with another digest: the copy replaced them.
    pub replaced: Vec<ReplacedTag>,
    /// The old registry ran before the copy stopped it.
    pub was_running: bool,
}

/// The cache's volume, if brrt may copy into it: absent (brrt creates it) or brrt's own.
pub(super) async fn check_cache_volume(d: &Docker, volume: &str) -> Result<()> {
    match docker::inspect_volume(d, volume).await? {
        Some(v) if !v.is_managed() => Err(Error::NotOurs {
            what: "volume".into(),
            name: volume.into(),
            advice: format!(
                "migrate copies into the volume of brrt's cache, and will not merge into one \
                 brrt did not create; give brrt's registries another name (registry.name), or \
                 remove that volume yourself (`docker volume rm {volume}`) if it is yours to lose; \
                 nothing was changed"
            ),
        }),
        _ => Ok(()),
    }
}

/// Stops the old registry `name` and copies its data into the volume of the cache `spec`
/// (created with brrt's labels when absent; merged into when it is brrt's: the storage is
/// content-addressed, and a tag it held with another digest is reported). A volume brrt did
/// not create is refused before anything changes. When the copy fails, or the run is
/// interrupted during it, the old registry is started again if it ran, a volume created here
/// is removed, and the error (or the log, for an interrupt) says so.
pub async fn copy_into_cache(
    d: &Docker,
    name: &str,
    spec: &CacheSpec,
    mode: Mode,
) -> Result<CopyOutcome> {
    let old = legacy(d, name).await?;
    let cache = spec.name();
    let volume = volume_name(&cache);
    check_cache_volume(d, &volume).await?;
    let receiver = format!("{cache}-{COPY_ROLE}");
    check_role(d, &receiver, COPY_ROLE).await?;
    let what = format!("{name}'s data into volume {volume}");
    if !mode.announce(Action::Updated, &format!("stop {name} and copy {what}")) {
        return Ok(CopyOutcome {
            from: name.to_string(),
            volume,
            volume_action: Action::Unchanged,
            tags: old.tags,
            manifests: 0,
            blobs: 0,
            bytes: old.size,
            replaced: Vec::new(),
            was_running: old.running,
        });
    }
    copy_storage(
        d,
        &StorageSource {
            container: name.to_string(),
            path: old.data.path.clone(),
            running: old.running,
        },
        spec,
        what,
    )
    .await
}

/// Where a copy reads a registry's storage: a container (stopped or not; a running one is
/// stopped for the copy and started again if it fails) and the storage's path in it.
#[derive(Debug, Clone)]
pub(super) struct StorageSource {
    pub container: String,
    pub path: String,
    pub running: bool,
}

/// Copies `from`'s storage into the volume of the cache `spec` (created with brrt's labels
/// when absent; merged into when it is brrt's), counting what it holds; `what` names the copy
/// in messages. The cache itself, when it runs (another cluster pulls through it), is stopped
/// for the copy, so it never serves a blob half-written, and started again after it. The
/// volume was checked to be brrt's or absent. See [`copy_into_cache`] for what a failure or
/// an interruption leaves.
pub(super) async fn copy_storage(
    d: &Docker,
    from: &StorageSource,
    spec: &CacheSpec,
    what: String,
) -> Result<CopyOutcome> {
    let cache = spec.name();
    let volume = volume_name(&cache);
    let receiver = format!("{cache}-{COPY_ROLE}");
    check_role(d, &receiver, COPY_ROLE).await?;
    // Before the first change: the image of the receiving container must be here.
    docker::ensure_image(d, &spec.image).await?;
    let up = spec.resolve_upstream()?;
    let paused = docker::inspect_container(d, &cache)
        .await?
        .filter(|c| c.running && c.labels.contains_key(MANAGED_LABEL))
        .map(|c| c.name);
    // The copy is a task of its own: when the run is interrupted (Ctrl-C), this future is
    // dropped, `interrupted` fires, and the task puts the old registry back before brrt exits.
    let guard = docker::switch_guard().await;
    let (_interrupt_on_drop, interrupted) = tokio::sync::oneshot::channel::<()>();
    let job = CopyJob {
        d: d.clone(),
        name: from.container.clone(),
        path: from.path.clone(),
        was_running: from.running,
        paused,
        volume,
        receiver,
        image: spec.image.clone(),
        volume_labels: spec.volume_labels(&up),
        what,
    };
    tokio::spawn(async move {
        let _guard = guard;
        job.run(interrupted).await
    })
    .await
    .map_err(|e| Error::Other(format!("copying the old registry's data failed: {e}")))?
}

/// What was copied, counted from the old registry's storage.
struct Counted {
    tags: Vec<StoredTag>,
    manifests: usize,
    blobs: usize,
    bytes: i64,
    replaced: Vec<ReplacedTag>,
}

/// Everything the copy task needs, owned.
struct CopyJob {
    d: Docker,
    /// The container the storage is read from, and where in it.
    name: String,
    path: String,
    /// It ran before the copy stopped it.
    was_running: bool,
    /// The cache on the volume, stopped during the copy and started again after it.
    paused: Option<String>,
    volume: String,
    receiver: String,
    image: String,
    volume_labels: BTreeMap<String, String>,
    what: String,
}

impl CopyJob {
    async fn run(self, interrupted: tokio::sync::oneshot::Receiver<()>) -> Result<CopyOutcome> {
        let copied = self.run_paused(interrupted).await;
        if let Some(cache) = &self.paused {
            if let Err(e) = docker::start_container(&self.d, cache).await {
                tracing::warn!("{cache} could not be started again after the copy: {e}");
            }
        }
        copied
    }

    async fn run_paused(
        &self,
        interrupted: tokio::sync::oneshot::Receiver<()>,
    ) -> Result<CopyOutcome> {
        let d = &self.d;
        docker::stop_container(d, &self.name).await?;
        if let Some(cache) = &self.paused {
            if let Err(e) = docker::stop_container(d, cache).await {
                return Err(self.restore(Action::Unchanged, &e.to_string()).await);
            }
        }
        let volume_action = match docker::ensure_volume(
            d,
            &self.volume,
            &self.volume_labels,
            Mode::default(),
        )
        .await
        {
            Ok(a) => a,
            Err(e) => return Err(self.restore(Action::Unchanged, &e.to_string()).await),
        };
        let copied = tokio::select! {
            copied = self.copy_and_count() => copied,
            _ = interrupted => Err(Error::Interrupted),
        };
        let _ = remove_receiver(d, &self.receiver).await;
        match copied {
            Ok(Counted {
                tags,
                manifests,
                blobs,
                bytes,
                replaced,
            }) => Ok(CopyOutcome {
                from: self.name.clone(),
                volume: self.volume.clone(),
                volume_action: if volume_action == Action::Created {
                    Action::Created
                } else {
                    Action::Updated
                },
                tags,
                manifests,
                blobs,
                bytes,
                replaced,
                was_running: self.was_running,
            }),
            Err(Error::Interrupted) => {
                let said = self.restore(volume_action, "interrupted").await;
                tracing::warn!("{said}");
                Err(Error::Interrupted)
            }
            Err(e) => Err(self.restore(volume_action, &e.to_string()).await),
        }
    }

    /// The old registry's index and blobs, counted; the copy; and the tags it replaced.
    async fn copy_and_count(&self) -> Result<Counted> {
        let d = &self.d;
        let path = &self.path;
        let index = stored_index(d, &self.name, path).await?;
        let held = held_blobs(d, &self.name, path, &index).await?;
        create_receiver(d, &self.name, &self.receiver, &self.volume, &self.image).await?;
        let before = stored_index(d, &self.receiver, DATA_DIR).await?.tags;
        copy(d, &self.name, path, &self.receiver).await?;
        let replaced = before
            .into_iter()
            .filter_map(|had| {
                let now = index
                    .tags
                    .iter()
                    .find(|t| t.repo == had.repo && t.tag == had.tag && t.digest != had.digest)?;
                Some(ReplacedTag {
                    repo: had.repo,
                    tag: had.tag,
                    was: had.digest,
                    now: now.digest.clone(),
                })
            })
            .collect();
        let held_in = |links: &BTreeMap<String, BTreeSet<String>>| {
            links
                .values()
                .flatten()
                .filter(|d| held.contains_key(*d))
                .collect::<BTreeSet<_>>()
                .len()
        };
        Ok(Counted {
            manifests: held_in(&index.revisions),
            blobs: held_in(&index.layers),
            bytes: i64::try_from(held.values().sum::<u64>()).unwrap_or(i64::MAX),
            tags: index.tags,
            replaced,
        })
    }

    /// Puts things back after a copy that did not finish; the sentence that says so.
    async fn restore(&self, volume_action: Action, reason: &str) -> Error {
        let d = &self.d;
        let name = &self.name;
        if volume_action == Action::Created {
            let _ = docker::remove_volume(d, &self.volume, Mode::default()).await;
        }
        let back = if self.was_running {
            match docker::start_container(d, name).await {
                Ok(()) => format!("{name} is running again as before"),
                Err(e) => {
                    format!("{name} could not be started again ({e}): `docker start {name}`")
                }
            }
        } else {
            format!("{name} is stopped, as it was")
        };
        let partial = if volume_action == Action::Created {
            String::new()
        } else {
            format!(
                "; {} may hold part of the copy, which its cache serves or fetches again",
                self.volume
            )
        };
        if reason == "interrupted" {
            return Error::Other(format!(
                "the copy of {} was interrupted; {back}, and its data is untouched{partial}",
                self.what
            ));
        }
        Error::Other(format!(
            "copying {} failed: {reason}; {back}, and its data is untouched{partial}",
            self.what
        ))
    }
}

/// Refuses a container at `name` that brrt did not make for `role`.
pub(super) async fn check_role(d: &Docker, name: &str, role: &str) -> Result<()> {
    match docker::inspect_container(d, name).await? {
        Some(c)
            if !c.labels.contains_key(MANAGED_LABEL)
                || c.labels.get(super::ROLE_LABEL).map(String::as_str) != Some(role) =>
        {
            Err(Error::NotOurs {
                what: "container".into(),
                name: name.into(),
                advice: "migrate uses that name for a container of its own; rename or remove \
                         that one, then run migrate again"
                    .into(),
            })
        }
        _ => Ok(()),
    }
}

/// A container created (never started) on the cache's volume, to receive the copy.
async fn create_receiver(
    d: &Docker,
    from: &str,
    receiver: &str,
    volume: &str,
    image: &str,
) -> Result<()> {
    remove_receiver(d, receiver).await?;
    create_idle(d, receiver, COPY_ROLE, from, volume, image).await
}

/// A container of brrt's, labelled with `role` and `group`, created (never started) with
/// `volume` at the registry's data path: the engine's archive API reads and writes a volume
/// through it, and no process runs.
pub(super) async fn create_idle(
    d: &Docker,
    name: &str,
    role: &str,
    group: &str,
    volume: &str,
    image: &str,
) -> Result<()> {
    let mut idle_labels = labels(role, Some(group), None);
    idle_labels.insert(MANAGED_LABEL.into(), "true".into());
    let body = ContainerCreateBody {
        image: Some(image.to_string()),
        labels: Some(idle_labels.into_iter().collect()),
        host_config: Some(HostConfig {
            binds: Some(vec![format!("{volume}:{DATA_DIR}")]),
            ..Default::default()
        }),
        ..Default::default()
    };
    let opts = CreateContainerOptionsBuilder::default().name(name).build();
    d.create_container(Some(opts), body)
        .await
        .map_err(|e| Error::docker(format!("create container {name}"), e))?;
    Ok(())
}

/// Streams `from`'s `path` into the receiver's volume. A broken download ends the upload with
/// an error: a partial archive is never taken for the whole.
async fn copy(d: &Docker, from: &str, path: &str, receiver: &str) -> Result<()> {
    // `path/.`: the archive holds the folder's contents, whatever the folder is called.
    let source = format!("{}/.", path.trim_end_matches('/'));
    let download = d.download_from_container(
        from,
        Some(
            DownloadFromContainerOptionsBuilder::default()
                .path(&source)
                .build(),
        ),
    );
    let origin = format!("{from}:{source}");
    let stream = download.map(move |chunk| {
        chunk.map_err(|e| std::io::Error::other(format!("reading {origin}: {e}")))
    });
    let opts = UploadToContainerOptionsBuilder::default()
        .path(DATA_DIR)
        .build();
    d.upload_to_container(receiver, Some(opts), bollard::body_try_stream(stream))
        .await
        .map_err(|e| match e {
            bollard::errors::Error::DockerResponseServerError { message, .. } => {
                Error::Other(message)
            }
            other => Error::Other(other.to_string()),
        })
}

/// Removes the receiving container (never its volume); only one brrt made for a copy.
async fn remove_receiver(d: &Docker, receiver: &str) -> Result<()> {
    check_role(d, receiver, COPY_ROLE).await?;
    docker::remove_keeping_volumes(d, receiver).await
}

/// What putting the old registry aside did.
#[derive(Debug, Clone, Serialize)]
pub struct AsideOutcome {
    pub name: String,
    pub action: Action,
}

/// Stops the old registry `name` and renames it aside ([`aside_name`]), so that brrt's push
/// registry can take its name. `Unchanged` when it is aside already.
pub async fn set_aside(d: &Docker, name: &str, mode: Mode) -> Result<AsideOutcome> {
    let aside = aside_name(name);
    if let Some(found) = inspect_one(d, &aside, &BTreeMap::new()).await? {
        check_legacy(&found)?;
        return Ok(AsideOutcome {
            name: aside,
            action: Action::Unchanged,
        });
    }
    legacy(d, name).await?;
    if mode.announce(Action::Updated, &format!("rename {name} to {aside}")) {
        docker::stop_container(d, name).await?;
        docker::rename_container(d, name, &aside).await?;
    }
    Ok(AsideOutcome {
        name: aside,
        action: Action::Updated,
    })
}

/// Puts the old registry back under its name and starts it, after a migration that could not
/// finish. Refused while another container holds the name.
pub async fn put_back(d: &Docker, name: &str, mode: Mode) -> Result<Action> {
    let aside = aside_name(name);
    legacy(d, &aside).await?;
    if let Some(other) = docker::inspect_container(d, name).await? {
        return Err(Error::Other(format!(
            "{aside} cannot get its name back: {} holds it now",
            other.name
        )));
    }
    if mode.announce(
        Action::Updated,
        &format!("rename {aside} back to {name} and start it"),
    ) {
        docker::rename_container(d, &aside, name).await?;
        docker::start_container(d, name).await?;
    }
    Ok(Action::Updated)
}

/// What carrying an old registry's credentials over did.
#[derive(Debug, Clone, Serialize)]
pub struct CarriedCredentials {
    pub upstream: String,
    /// brrt's cache uses the old registry's credentials for the rest of this run.
    pub carried: bool,
    /// BRRT_<UPSTREAM>_USERNAME/_PASSWORD are set, and so used instead.
    pub from_environment: bool,
    pub username_var: String,
    pub password_var: String,
}

/// Hands the old registry's upstream credentials (`REGISTRY_PROXY_USERNAME`/`_PASSWORD`, or a
/// user and password in its remote URL) to brrt's cache for `host`, the upstream it stands
/// for, for the rest of this process, unless `BRRT_<UPSTREAM>_USERNAME`/`_PASSWORD` are set.
/// They never reach a script, a label or the terminal.
pub async fn carry_credentials(d: &Docker, name: &str, host: &str) -> Result<CarriedCredentials> {
    let at = match docker::inspect_container(d, name).await? {
        Some(c) if !c.labels.contains_key(MANAGED_LABEL) => name.to_string(),
        _ => aside_name(name),
    };
    legacy(d, &at).await?;
    let state = docker::inspect_container(d, &at)
        .await?
        .ok_or_else(|| Error::Other(format!("no container named {at}")))?;
    let env = |key: &str| {
        state
            .env
            .iter()
            .find_map(|e| e.strip_prefix(&format!("{key}=")))
            .map(str::to_string)
    };
    upstream::check_host(host).map_err(Error::InvalidSpec)?;
    let (username_var, password_var) = upstream::credential_vars(host);
    let from_environment =
        std::env::var_os(&username_var).is_some() && std::env::var_os(&password_var).is_some();
    let from_url = env("REGISTRY_PROXY_REMOTEURL").and_then(|url| {
        let (_, rest) = url.split_once("://")?;
        let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
        let (user_info, _) = authority.rsplit_once('@')?;
        let (user, pass) = user_info.split_once(':').unwrap_or((user_info, ""));
        Some((user.to_string(), pass.to_string()))
    });
    let found = match (
        env("REGISTRY_PROXY_USERNAME"),
        env("REGISTRY_PROXY_PASSWORD"),
    ) {
        (Some(user), pass) => Some((user, pass.unwrap_or_default())),
        (None, _) => from_url,
    };
    let carried = match found {
        Some((user, pass)) if !from_environment => {
            upstream::carry_credentials(host, user, pass);
            true
        }
        _ => false,
    };
    Ok(CarriedCredentials {
        upstream: host.to_string(),
        carried,
        from_environment,
        username_var,
        password_var,
    })
}

/// What the cache's volume served, offline, of what the old registry held.
#[derive(Debug, Clone, Serialize)]
pub struct Served {
    pub images: usize,
    pub manifests: usize,
    pub blobs: usize,
}

/// Checks the volume of the cache `spec` against what the old registry `from` (stopped or not,
/// usually the one put aside) holds in its own storage: every tag with the same digest, every
/// manifest and every blob, served by a throwaway registry that reads the volume read-only and
/// has no upstream, so nothing missing can be fetched and pass. Fails on the first that is
/// missing, naming it.
pub async fn verify(d: &Docker, from: &str, spec: &CacheSpec) -> Result<Served> {
    let old = legacy(d, from).await?;
    verify_storage(d, from, &old.data.path, spec).await
}

/// Checks the volume of the cache `spec` against the storage at `path` in the container
/// `from` (stopped or not), as [`verify`] does.
pub(super) async fn verify_storage(
    d: &Docker,
    from: &str,
    path: &str,
    spec: &CacheSpec,
) -> Result<Served> {
    let index = stored_index(d, from, path).await?;
    let held = held_blobs(d, from, path, &index).await?;
    let cache = spec.name();
    let volume = volume_name(&cache);
    if docker::inspect_volume(d, &volume).await?.is_none() {
        return Err(Error::Other(format!(
            "{cache} has no volume {volume}: nothing of {from} was carried over"
        )));
    }
    check_cache_volume(d, &volume).await?;
    let checker = format!("{cache}-{VERIFY_ROLE}");
    check_role(d, &checker, VERIFY_ROLE).await?;
    docker::remove_keeping_volumes(d, &checker).await?;
    let mut checker_labels = labels(VERIFY_ROLE, Some(&spec.set), None);
    checker_labels.insert(MANAGED_LABEL.into(), "true".into());
    let container = docker::ContainerSpec {
        name: checker.clone(),
        image: spec.image.clone(),
        ports: vec!["127.0.0.1::5000".into()],
        mounts: vec![format!("{volume}:{DATA_DIR}:ro")],
        restart: Some("no".into()),
        labels: checker_labels,
        ..Default::default()
    };
    let ready = docker::Ready::Http {
        container_port: "5000/tcp",
        path: "/v2/",
        within: Duration::from_secs(15),
    };
    docker::ensure_container_ready(d, &container, Mode::default(), &ready).await?;
    let checked = check_served(d, &checker, &cache, &index, &held).await;
    let _ = docker::remove_container(d, &checker, Mode::default()).await;
    checked
}

async fn check_served(
    d: &Docker,
    checker: &str,
    cache: &str,
    index: &StoredIndex,
    held: &BTreeMap<String, u64>,
) -> Result<Served> {
    let api = super::api_for(d, checker).await?;
    let missing = |what: String| {
        Error::Other(format!(
            "{cache}'s volume does not hold {what}, which the old registry holds"
        ))
    };
    let mut served = Served {
        images: 0,
        manifests: 0,
        blobs: 0,
    };
    for t in &index.tags {
        let found = api.manifest(&t.repo, &t.tag).await.ok();
        if found.as_ref().map(|m| m.digest.as_str()) != Some(t.digest.as_str()) {
            return Err(missing(format!("{}:{} ({})", t.repo, t.tag, t.digest)));
        }
        served.images += 1;
    }
    let mut manifests = BTreeSet::new();
    for (repo, digests) in &index.revisions {
        for digest in digests.iter().filter(|d| held.contains_key(*d)) {
            if api.manifest_json(repo, digest).await.is_err() {
                return Err(missing(format!("the manifest {repo}@{digest}")));
            }
            manifests.insert(digest);
        }
    }
    served.manifests = manifests.len();
    let mut blobs = BTreeSet::new();
    for (repo, digests) in &index.layers {
        for digest in digests.iter().filter(|d| held.contains_key(*d)) {
            if !api.blob_exists(repo, digest).await? {
                return Err(missing(format!("the blob {digest} of {repo}")));
            }
            blobs.insert(digest);
        }
    }
    served.blobs = blobs.len();
    Ok(served)
}

/// What removing the old registry did.
#[derive(Debug, Clone, Serialize)]
pub struct RemovedLegacy {
    pub name: String,
    pub action: Action,
    /// Its data volume, kept: `docker volume rm` frees the space once the migration is trusted.
    pub kept_volume: Option<String>,
    /// What the check before the removal found the cache's volume to serve.
    pub served: Option<Served>,
}

/// Removes the old registry put aside, keeping its data volume, once [`verify`] finds that the
/// volume of the cache `spec` serves everything it held: never before, whatever calls this (its
/// data may live only in its own filesystem).
pub async fn remove_aside(
    d: &Docker,
    name: &str,
    spec: &CacheSpec,
    mode: Mode,
) -> Result<RemovedLegacy> {
    let aside = aside_name(name);
    let Some(found) = inspect_one(d, &aside, &BTreeMap::new()).await? else {
        return Ok(RemovedLegacy {
            name: aside,
            action: Action::Absent,
            kept_volume: None,
            served: None,
        });
    };
    check_legacy(&found)?;
    if !mode.announce(Action::Removed, &format!("container {aside}")) {
        return Ok(RemovedLegacy {
            name: aside,
            action: Action::Removed,
            kept_volume: found.data.volume,
            served: None,
        });
    }
    let served = verify(d, &aside, spec).await?;
    docker::remove_keeping_volumes(d, &aside).await?;
    Ok(RemovedLegacy {
        name: aside,
        action: Action::Removed,
        kept_volume: found.data.volume,
        served: Some(served),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_string()).collect()
    }

    #[test]
    fn a_config_file_is_looked_for_where_each_image_keeps_it() {
        // registry:3 (its entrypoint script adds `serve`), then registry:2.
        let v3 = config_files(
            None,
            &strings(&["/entrypoint.sh"]),
            &strings(&["/etc/distribution/config.yml"]),
        );
        assert_eq!(v3[0], "/etc/distribution/config.yml");
        let v2 = config_files(
            None,
            &strings(&["/entrypoint.sh"]),
            &strings(&["/etc/docker/registry/config.yml"]),
        );
        assert_eq!(v2[0], "/etc/docker/registry/config.yml");
        // `serve` and its argument, in the entrypoint or the command.
        let served = config_files(
            None,
            &strings(&["/bin/registry", "serve"]),
            &strings(&["/srv/registry.conf"]),
        );
        assert_eq!(served[0], "/srv/registry.conf");
        // The environment says it plainly; nothing said: both images' places.
        let env = config_files(Some("/cfg/proxy.yml"), &[], &strings(&["serve", "/x.yml"]));
        assert_eq!(env[..2], ["/cfg/proxy.yml", "/x.yml"]);
        assert_eq!(
            config_files(None, &[], &[]),
            [
                "/etc/distribution/config.yml",
                "/etc/docker/registry/config.yml"
            ]
        );
    }
}
