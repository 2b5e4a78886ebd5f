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

/// Stops and removes a container brrt made for itself, with its anonymous volumes (an image's
/// `VOLUME` with no named volume mounted), which nothing can reach once it is gone. Named
/// volumes always stay.
pub(super) async fn remove(docker: &Docker, name: &str) -> Result<()> {
    remove_with(docker, name, true).await
}

/// Stops and removes a container, leaving every volume it had, anonymous ones too: for a
/// registry brrt took over, whose data may be in one.
pub async fn remove_keeping_volumes(docker: &Docker, name: &str) -> Result<()> {
    remove_with(docker, name, false).await
}

async fn remove_with(docker: &Docker, name: &str, anonymous_volumes: bool) -> Result<()> {
    if !stop(docker, name).await? {
        return Ok(());
    }
    let opts = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(anonymous_volumes)
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
