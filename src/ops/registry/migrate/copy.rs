//! Copying an old registry's storage into a cache's volume: through the engine's archive API,
//! into a container created on the volume and never started, counted from the old storage,
//! and undone (the old registry running again) when it fails or is interrupted.

use super::legacy::legacy;
use super::stored::{held_blobs, stored_index, StoredTag};
use super::COPY_ROLE;
use crate::ops::docker::{self, MANAGED_LABEL};
use crate::ops::registry::cache_spec::CacheSpec;
use crate::ops::registry::container::{labels, volume_name, DATA_DIR};
use crate::ops::{Action, Error, Mode, Result};
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, DownloadFromContainerOptionsBuilder,
    UploadToContainerOptionsBuilder,
};
use bollard::Docker;
use futures_util::StreamExt;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

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
pub(in crate::ops::registry) async fn check_cache_volume(d: &Docker, volume: &str) -> Result<()> {
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
pub(in crate::ops::registry) struct StorageSource {
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
pub(in crate::ops::registry) async fn copy_storage(
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
pub(in crate::ops::registry) async fn check_role(d: &Docker, name: &str, role: &str) -> Result<()> {
    match docker::inspect_container(d, name).await? {
        Some(c)
            if !c.labels.contains_key(MANAGED_LABEL)
                || c.labels
                    .get(crate::ops::registry::container::ROLE_LABEL)
                    .map(String::as_str)
                    != Some(role) =>
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
pub(in crate::ops::registry) async fn create_idle(
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
