//! Named volumes: where caches keep their data across container re-creation.
//!
//! Volumes brrt creates carry labels, and brrt deletes only volumes that carry its label: a
//! volume of the user's that merely looks like one of brrt's is never touched.

use crate::ops::docker::container::is_not_found;
use crate::ops::docker::MANAGED_LABEL;
use crate::ops::{Action, Error, Mode, Result};
use bollard::models::VolumeCreateRequest;
use bollard::query_parameters::{ListVolumesOptionsBuilder, RemoveVolumeOptionsBuilder};
use bollard::Docker;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// A named volume and its labels.
#[derive(Debug, Clone, Serialize)]
pub struct VolumeInfo {
    pub name: String,
    pub labels: BTreeMap<String, String>,
}

impl VolumeInfo {
    /// Whether brrt created it.
    pub fn is_managed(&self) -> bool {
        self.labels.contains_key(MANAGED_LABEL)
    }
}

/// The volume, if it exists.
pub async fn inspect_volume(docker: &Docker, name: &str) -> Result<Option<VolumeInfo>> {
    match docker.inspect_volume(name).await {
        Ok(v) => Ok(Some(VolumeInfo {
            name: v.name,
            labels: v.labels.into_iter().collect(),
        })),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(Error::docker(format!("inspect volume {name}"), e)),
    }
}

/// The volumes carrying all of `labels` (`key=value`).
pub async fn list_volumes(docker: &Docker, labels: &[String]) -> Result<Vec<VolumeInfo>> {
    let filters = HashMap::from([("label".to_string(), labels.to_vec())]);
    let mut out = list(docker, filters).await?;
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

async fn list(docker: &Docker, filters: HashMap<String, Vec<String>>) -> Result<Vec<VolumeInfo>> {
    let opts = ListVolumesOptionsBuilder::default()
        .filters(&filters)
        .build();
    let list = docker
        .list_volumes(Some(opts))
        .await
        .map_err(|e| Error::docker("list volumes", e))?;
    Ok(list
        .volumes
        .unwrap_or_default()
        .into_iter()
        .map(|v| VolumeInfo {
            name: v.name,
            labels: v.labels.into_iter().collect(),
        })
        .collect())
}

/// Every volume whose name contains one of `parts`, by name (brrt's or not): one request for
/// all the volumes a flow is about to use.
pub async fn volumes_named(
    docker: &Docker,
    parts: &[&str],
) -> Result<BTreeMap<String, VolumeInfo>> {
    let parts = parts.iter().map(|p| (*p).to_string()).collect();
    let filters = HashMap::from([("name".to_string(), parts)]);
    Ok(list(docker, filters)
        .await?
        .into_iter()
        .map(|v| (v.name.clone(), v))
        .collect())
}

/// Creates a named volume, labelled as brrt's with `labels` besides, unless it exists.
pub async fn ensure_volume(
    docker: &Docker,
    name: &str,
    labels: &BTreeMap<String, String>,
    mode: Mode,
) -> Result<Action> {
    if inspect_volume(docker, name).await?.is_some() {
        return Ok(Action::Unchanged);
    }
    if mode.announce(Action::Created, &format!("volume {name}")) {
        let mut labels: HashMap<String, String> = labels.clone().into_iter().collect();
        labels.insert(MANAGED_LABEL.into(), "true".into());
        let req = VolumeCreateRequest {
            name: Some(name.into()),
            labels: Some(labels),
            ..Default::default()
        };
        docker
            .create_volume(req)
            .await
            .map_err(|e| Error::docker(format!("create volume {name}"), e))?;
    }
    Ok(Action::Created)
}

/// Removes a named volume brrt created; `Absent` if there was none. One without brrt's label is
/// refused with [`Error::NotOurs`] and kept.
pub async fn remove_volume(docker: &Docker, name: &str, mode: Mode) -> Result<Action> {
    match inspect_volume(docker, name).await? {
        None => return Ok(Action::Absent),
        Some(v) if !v.is_managed() => {
            return Err(Error::NotOurs {
                what: "volume".into(),
                name: name.into(),
                advice: format!(
                    "remove it yourself (`docker volume rm {name}`) if it is yours to lose"
                ),
            })
        }
        Some(_) => {}
    }
    if mode.announce(Action::Removed, &format!("volume {name}")) {
        let opts = RemoveVolumeOptionsBuilder::default().force(true).build();
        docker
            .remove_volume(name, Some(opts))
            .await
            .map_err(|e| Error::docker(format!("remove volume {name}"), e))?;
    }
    Ok(Action::Removed)
}

/// Removes a volume only if brrt created it (it carries brrt's label); a volume of the same
/// name that someone else made is kept, with a warning. `Absent` if there was none,
/// `Unchanged` if it was kept.
pub async fn remove_managed_volume(docker: &Docker, name: &str, mode: Mode) -> Result<Action> {
    match inspect_volume(docker, name).await? {
        None => Ok(Action::Absent),
        Some(v) if !v.is_managed() => {
            tracing::warn!(
                "volume {name} was not created by brrt (it lacks the {MANAGED_LABEL} label), so \
                 it is kept; if it is yours to lose, remove it with `docker volume rm {name}`"
            );
            Ok(Action::Unchanged)
        }
        Some(_) => remove_volume(docker, name, mode).await,
    }
}

/// Bytes stored in a named volume, measured by walking its mountpoint on this host. `None` when
/// the volume is absent or its data is not reachable from here (a remote or rootless engine).
pub async fn volume_size(docker: &Docker, name: &str) -> Result<Option<u64>> {
    let volume = match docker.inspect_volume(name).await {
        Ok(v) => v,
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(Error::docker(format!("inspect volume {name}"), e)),
    };
    let root = std::path::PathBuf::from(volume.mountpoint);
    Ok(tokio::task::spawn_blocking(move || dir_size(&root))
        .await
        .ok()
        .flatten())
}

/// Bytes under a folder of this host (a bind mount's source); `None` when it cannot be read.
pub async fn path_size(path: &str) -> Option<u64> {
    let root = std::path::PathBuf::from(path);
    tokio::task::spawn_blocking(move || dir_size(&root))
        .await
        .ok()
        .flatten()
}

fn dir_size(root: &std::path::Path) -> Option<u64> {
    let mut total = 0;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).ok()?.flatten() {
            let meta = entry.metadata().ok()?;
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                total += meta.len();
            }
        }
    }
    Some(total)
}
