//! Creating and starting a container: the steps a first [`super::ensure`] and a
//! [`super::switch`] both take, below both.

use super::remove::remove;
use super::ContainerSpec;
use crate::ops::{Error, Mode, Result};
use bollard::query_parameters::CreateContainerOptionsBuilder;
use bollard::Docker;

/// Creates the container, connects it to `join` beside its own network (before it starts, so
/// that nothing it does at start, a name it resolves, races a network being added), and
/// starts it.
pub(super) async fn create_and_start(
    docker: &Docker,
    spec: &ContainerSpec,
    join: &[String],
) -> Result<String> {
    let body = spec.create_body()?;
    let opts = CreateContainerOptionsBuilder::default()
        .name(&spec.name)
        .build();
    let created = docker
        .create_container(Some(opts), body)
        .await
        .map_err(|e| Error::docker(format!("create container {}", spec.name), e))?;
    for network in join {
        let joined =
            crate::ops::docker::connect_network(docker, network, &spec.name, Mode::default()).await;
        if let Err(e) = joined {
            let _ = remove(docker, &spec.name).await;
            return Err(e);
        }
    }
    if let Err(e) = start(docker, &spec.name).await {
        // Created but not startable (a port taken in the meantime, a bad mount): leave nothing.
        let _ = remove(docker, &spec.name).await;
        return Err(e);
    }
    Ok(created.id)
}

/// Starts a stopped container.
pub async fn start(docker: &Docker, name: &str) -> Result<()> {
    docker
        .start_container(name, None)
        .await
        .map_err(|e| Error::docker(format!("start container {name}"), e))
}
