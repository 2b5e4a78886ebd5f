//! Stopping and removing containers; their named volumes stay. Only a container brrt created
//! is ever removed.

use super::{inspect_container, is_not_found, MANAGED_LABEL};
use crate::ops::{Action, Error, Mode, Result};
use bollard::query_parameters::{RemoveContainerOptionsBuilder, StopContainerOptionsBuilder};
use bollard::Docker;

/// Stops a container (a stopped one is fine). `false` when there is none.
pub async fn stop(docker: &Docker, name: &str) -> Result<bool> {
    let opts = StopContainerOptionsBuilder::default().t(5).build();
    match docker.stop_container(name, Some(opts)).await {
        Ok(()) => Ok(true),
        Err(e) if is_not_found(&e) => Ok(false),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 304, ..
        }) => Ok(true),
        Err(e) => Err(Error::docker(format!("stop container {name}"), e)),
    }
}

pub(super) async fn remove(docker: &Docker, name: &str) -> Result<()> {
    if !stop(docker, name).await? {
        return Ok(());
    }
    // `v` removes the container's anonymous volumes (an image's `VOLUME` with no named volume
    // mounted), which nothing can reach once the container is gone; named volumes always stay.
    let opts = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(true)
        .build();
    match docker.remove_container(name, Some(opts)).await {
        Ok(()) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(Error::docker(format!("remove container {name}"), e)),
    }
}

/// Removes a container brrt created (its named volumes stay, its anonymous ones go with it).
/// `Absent` when there was none; one without brrt's label is refused with [`Error::NotOurs`]
/// and left as it is.
pub async fn remove_container(docker: &Docker, name: &str, mode: Mode) -> Result<Action> {
    let Some(found) = inspect_container(docker, name).await? else {
        return Ok(Action::Absent);
    };
    if !found.labels.contains_key(MANAGED_LABEL) {
        return Err(Error::NotOurs {
            what: "container".into(),
            name: name.into(),
            advice: format!("remove it yourself (`docker rm -f {name}`) if it is yours to lose"),
        });
    }
    if mode.announce(Action::Removed, &format!("container {name}")) {
        remove(docker, name).await?;
    }
    Ok(Action::Removed)
}
