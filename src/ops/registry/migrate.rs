//! Migration from a single pull-through registry brrt did not create (the `kind-registry` in
//! proxy mode that teams set up by hand) to brrt's topology, keeping what it cached.
//!
//! Each step is safe on its own, whatever calls it: none touches a registry brrt created, or
//! one that is not in proxy mode (it may hold pushed images that exist nowhere else). The data
//! is copied, never moved: through the engine's archive API, from the old container's
//! `/var/lib/registry` (a named or anonymous volume, a bind mount or its own filesystem) into
//! a container that is created on the cache's volume and never started, so no shell is needed
//! in any image. A copy that fails leaves the old registry as it was, running again if it ran.

use super::api::RegistryApi;
use super::{labels, volume_name, CacheSpec, DATA_DIR};
use crate::ops::docker::{self, MANAGED_LABEL};
use crate::ops::{upstream, Action, Error, Mode, Result};
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, DownloadFromContainerOptionsBuilder,
    RemoveContainerOptionsBuilder, UploadToContainerOptionsBuilder,
};
use bollard::Docker;
use futures_util::StreamExt;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The old registry's name while brrt's push registry takes its own: `kind-registry-pre-brrt`.
pub const ASIDE_SUFFIX: &str = "-pre-brrt";
/// Role label of the container that is created on the cache's volume to receive the copy.
const COPY_ROLE: &str = "migrate-copy";

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
    /// file); `None` when it is no pull-through cache.
    pub remote: Option<String>,
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
    let tags = stored_tags(d, name, &path).await?.0;
    Ok(Some(LegacyRegistry {
        name: name.to_string(),
        aside: false,
        id: state.id,
        image: state.image,
        running: state.running,
        status: state.status,
        managed: state.labels.contains_key(MANAGED_LABEL),
        remote,
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

/// The tags in a registry's storage, and every manifest digest it holds per repository,
/// read through the archive API (no process runs in the container; a stopped one works too).
async fn stored_tags(
    d: &Docker,
    container: &str,
    data: &str,
) -> Result<(Vec<StoredTag>, BTreeMap<String, BTreeSet<String>>)> {
    let root = format!(
        "{}/docker/registry/v2/repositories",
        data.trim_end_matches('/')
    );
    let files = docker::read_dir_files(d, container, &root).await?;
    let mut tags = Vec::new();
    let mut revisions: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, link) in &files {
        if let Some((repo, rest)) = path.split_once("/_manifests/tags/") {
            if let Some(tag) = rest.strip_suffix("/current/link") {
                tags.push(StoredTag {
                    repo: repo.to_string(),
                    tag: tag.to_string(),
                    digest: link.trim().to_string(),
                });
            }
        } else if let Some((repo, rest)) = path.split_once("/_manifests/revisions/") {
            if let Some(hex) = rest
                .strip_prefix("sha256/")
                .and_then(|r| r.strip_suffix("/link"))
            {
                revisions
                    .entry(repo.to_string())
                    .or_default()
                    .insert(format!("sha256:{hex}"));
            }
        }
    }
    tags.sort();
    Ok((tags, revisions))
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

/// What copying an old registry's data did.
#[derive(Debug, Clone, Serialize)]
pub struct CopyOutcome {
    pub from: String,
    pub volume: String,
    pub volume_action: Action,
    /// Bytes in the cache's volume after the copy (-1 when it cannot be measured from here);
    /// the archive's size otherwise.
    pub bytes: i64,
    /// The tags the cache's volume holds after the copy.
    pub tags: Vec<StoredTag>,
    /// The old registry ran before the copy stopped it.
    pub was_running: bool,
}

/// Stops the old registry `name` and copies its data into the volume of the cache `spec`
/// (created with brrt's labels when absent; merged into when present: the storage is
/// content-addressed). When the copy fails, the old registry is started again if it ran, a
/// volume created here is removed, and the error says so.
pub async fn copy_into_cache(
    d: &Docker,
    name: &str,
    spec: &CacheSpec,
    mode: Mode,
) -> Result<CopyOutcome> {
    let old = legacy(d, name).await?;
    let cache = spec.name();
    let volume = volume_name(&cache);
    let what = format!("{name}'s data into volume {volume}");
    if !mode.announce(Action::Updated, &format!("stop {name} and copy {what}")) {
        return Ok(CopyOutcome {
            from: name.to_string(),
            volume,
            volume_action: Action::Unchanged,
            bytes: old.size,
            tags: old.tags,
            was_running: old.running,
        });
    }
    // Before the first change: the image of the receiving container must be here.
    docker::ensure_image(d, &spec.image).await?;
    let up = spec.resolve_upstream()?;
    docker::stop_container(d, name).await?;
    let restore = |reason: String| async move {
        let back = if old.running {
            match docker::start_container(d, name).await {
                Ok(()) => format!("{name} is running again as before"),
                Err(e) => format!("{name} could not be started again ({e}): `docker start {name}`"),
            }
        } else {
            format!("{name} is stopped, as it was")
        };
        Error::Other(format!(
            "copying {what} failed: {reason}; {back}, and its data is untouched"
        ))
    };
    let volume_labels = labels("cache", &spec.registry, Some(&up.host));
    let volume_action = match docker::ensure_volume(d, &volume, &volume_labels, mode).await {
        Ok(a) => a,
        Err(e) => return Err(restore(e.to_string()).await),
    };
    let receiver = format!("{cache}-{COPY_ROLE}");
    let copied = copy(d, name, &old.data.path, &receiver, &volume, &spec.image).await;
    let tags = match &copied {
        Ok(_) => stored_tags(d, &receiver, DATA_DIR).await.map(|t| t.0),
        Err(_) => Ok(Vec::new()),
    };
    let _ = remove_receiver(d, &receiver).await;
    let (archive_bytes, tags) = match (copied, tags) {
        (Ok(bytes), Ok(tags)) => (bytes, tags),
        (Err(e), _) | (_, Err(e)) => {
            if volume_action == Action::Created {
                let _ = docker::remove_volume(d, &volume, mode).await;
            }
            return Err(restore(e.to_string()).await);
        }
    };
    let bytes = docker::volume_size(d, &volume)
        .await?
        .map_or(archive_bytes, |b| i64::try_from(b).unwrap_or(i64::MAX));
    Ok(CopyOutcome {
        from: name.to_string(),
        volume,
        volume_action: if volume_action == Action::Created {
            Action::Created
        } else {
            Action::Updated
        },
        bytes,
        tags,
        was_running: old.running,
    })
}

/// Streams `from`'s `path` into `volume` through a container created on it (never started);
/// returns the bytes of the archive.
async fn copy(
    d: &Docker,
    from: &str,
    path: &str,
    receiver: &str,
    volume: &str,
    image: &str,
) -> Result<i64> {
    remove_receiver(d, receiver).await?;
    let mut receiver_labels = labels(COPY_ROLE, from, None);
    receiver_labels.insert(MANAGED_LABEL.into(), "true".into());
    let body = ContainerCreateBody {
        image: Some(image.to_string()),
        labels: Some(receiver_labels.into_iter().collect()),
        host_config: Some(HostConfig {
            binds: Some(vec![format!("{volume}:{DATA_DIR}")]),
            ..Default::default()
        }),
        ..Default::default()
    };
    let opts = CreateContainerOptionsBuilder::default()
        .name(receiver)
        .build();
    d.create_container(Some(opts), body)
        .await
        .map_err(|e| Error::docker(format!("create container {receiver}"), e))?;
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
    let bytes = Arc::new(AtomicU64::new(0));
    let counted = bytes.clone();
    // A broken download ends the upload with an error: a partial archive is never taken for
    // the whole.
    let origin = format!("{from}:{source}");
    let stream = download.map(move |chunk| {
        chunk
            .inspect(|c| {
                counted.fetch_add(c.len() as u64, Ordering::Relaxed);
            })
            .map_err(|e| std::io::Error::other(format!("reading {origin}: {e}")))
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
        })?;
    Ok(i64::try_from(bytes.load(Ordering::Relaxed)).unwrap_or(i64::MAX))
}

/// Removes the receiving container (never its volume); only one brrt made for a copy.
async fn remove_receiver(d: &Docker, receiver: &str) -> Result<()> {
    let Some(c) = docker::inspect_container(d, receiver).await? else {
        return Ok(());
    };
    if c.labels.get(super::ROLE_LABEL).map(String::as_str) != Some(COPY_ROLE) {
        return Err(Error::Other(format!(
            "a container named {receiver} exists that brrt did not make for a migration; \
             remove or rename it, then run migrate again"
        )));
    }
    remove_keeping_volumes(d, receiver).await
}

async fn remove_keeping_volumes(d: &Docker, name: &str) -> Result<()> {
    let opts = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(false)
        .build();
    match d.remove_container(name, Some(opts)).await {
        Ok(()) => Ok(()),
        Err(e) if docker::is_not_found(&e) => Ok(()),
        Err(e) => Err(Error::docker(format!("remove container {name}"), e)),
    }
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

/// What a cache served of the images it was given.
#[derive(Debug, Clone, Serialize)]
pub struct Served {
    pub images: usize,
    pub manifests: usize,
    pub blobs: usize,
}

/// Checks that the cache `cache` holds every tag of `tags` in its own storage, with the same
/// digest, and serves it through its API: the manifest by digest, and every blob of every
/// manifest the storage holds (the child images of an index that were pulled). Fails on the
/// first that is missing.
pub async fn verify_served(d: &Docker, cache: &str, tags: &[StoredTag]) -> Result<Served> {
    let (held, revisions) = stored_tags(d, cache, DATA_DIR).await?;
    let api = super::api_for(d, cache).await?;
    let mut served = Served {
        images: 0,
        manifests: 0,
        blobs: 0,
    };
    for t in tags {
        if !held.contains(t) {
            return Err(Error::Other(format!(
                "{cache} does not hold {}:{} ({}) in its volume",
                t.repo, t.tag, t.digest
            )));
        }
        let mut pending = vec![t.digest.clone()];
        while let Some(digest) = pending.pop() {
            let manifest = api.manifest_json(&t.repo, &digest).await.map_err(|e| {
                Error::Other(format!("{cache} does not serve {}@{digest}: {e}", t.repo))
            })?;
            served.manifests += 1;
            let local = revisions.get(&t.repo);
            for child in manifest["manifests"].as_array().into_iter().flatten() {
                if let Some(c) = child["digest"].as_str() {
                    if local.is_some_and(|l| l.contains(c)) {
                        pending.push(c.to_string());
                    }
                }
            }
            let blobs = manifest["layers"]
                .as_array()
                .into_iter()
                .flatten()
                .chain(std::iter::once(&manifest["config"]))
                .filter_map(|b| b["digest"].as_str());
            for blob in blobs {
                check_blob(&api, cache, &t.repo, blob).await?;
                served.blobs += 1;
            }
        }
        served.images += 1;
    }
    Ok(served)
}

async fn check_blob(api: &RegistryApi, cache: &str, repo: &str, blob: &str) -> Result<()> {
    if api.blob_exists(repo, blob).await? {
        Ok(())
    } else {
        Err(Error::Other(format!(
            "{cache} does not serve blob {blob} of {repo}"
        )))
    }
}

/// What removing the old registry did.
#[derive(Debug, Clone, Serialize)]
pub struct RemovedLegacy {
    pub name: String,
    pub action: Action,
    /// Its data volume, kept: `docker volume rm` frees the space once the migration is trusted.
    pub kept_volume: Option<String>,
}

/// Removes the old registry put aside, keeping its data volume.
pub async fn remove_aside(d: &Docker, name: &str, mode: Mode) -> Result<RemovedLegacy> {
    let aside = aside_name(name);
    let Some(found) = inspect_one(d, &aside, &BTreeMap::new()).await? else {
        return Ok(RemovedLegacy {
            name: aside,
            action: Action::Absent,
            kept_volume: None,
        });
    };
    check_legacy(&found)?;
    if mode.announce(Action::Removed, &format!("container {aside}")) {
        remove_keeping_volumes(d, &aside).await?;
    }
    Ok(RemovedLegacy {
        name: aside,
        action: Action::Removed,
        kept_volume: found.data.volume,
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
