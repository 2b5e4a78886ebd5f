//! Named volumes: where caches keep their data across container re-creation.

use crate::ops::docker::container::is_not_found;
use crate::ops::{Action, Error, Mode, Result};
use bollard::models::VolumeCreateRequest;
use bollard::query_parameters::RemoveVolumeOptionsBuilder;
use bollard::Docker;

/// Creates a named volume unless it exists.
pub async fn ensure_volume(docker: &Docker, name: &str, mode: Mode) -> Result<Action> {
    match docker.inspect_volume(name).await {
        Ok(_) => Ok(Action::Unchanged),
        Err(e) if is_not_found(&e) => {
            if mode.announce(Action::Created, &format!("volume {name}")) {
                let req = VolumeCreateRequest {
                    name: Some(name.into()),
                    ..Default::default()
                };
                docker
                    .create_volume(req)
                    .await
                    .map_err(|e| Error::docker(format!("create volume {name}"), e))?;
            }
            Ok(Action::Created)
        }
        Err(e) => Err(Error::docker(format!("inspect volume {name}"), e)),
    }
}

/// Removes a named volume; `Absent` if there was none.
pub async fn remove_volume(docker: &Docker, name: &str, mode: Mode) -> Result<Action> {
    match docker.inspect_volume(name).await {
        Err(e) if is_not_found(&e) => Ok(Action::Absent),
        Err(e) => Err(Error::docker(format!("inspect volume {name}"), e)),
        Ok(_) => {
            if mode.announce(Action::Removed, &format!("volume {name}")) {
                let opts = RemoveVolumeOptionsBuilder::default().force(true).build();
                docker
                    .remove_volume(name, Some(opts))
                    .await
                    .map_err(|e| Error::docker(format!("remove volume {name}"), e))?;
            }
            Ok(Action::Removed)
        }
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
