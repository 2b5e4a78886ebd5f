//! Networks: ensure, and idempotent connect and disconnect.

use crate::ops::docker::container::is_not_found;
use crate::ops::{Action, Error, Mode, Result};
use bollard::models::{NetworkConnectRequest, NetworkCreateRequest, NetworkDisconnectRequest};
use bollard::Docker;

/// Creates a bridge network unless it exists.
pub async fn ensure_network(docker: &Docker, name: &str, mode: Mode) -> Result<Action> {
    match docker.inspect_network(name, None).await {
        Ok(_) => Ok(Action::Unchanged),
        Err(e) if is_not_found(&e) => {
            if mode.announce(Action::Created, &format!("network {name}")) {
                let req = NetworkCreateRequest {
                    name: name.into(),
                    driver: Some("bridge".into()),
                    ..Default::default()
                };
                docker
                    .create_network(req)
                    .await
                    .map_err(|e| Error::docker(format!("create network {name}"), e))?;
            }
            Ok(Action::Created)
        }
        Err(e) => Err(Error::docker(format!("inspect network {name}"), e)),
    }
}

async fn is_connected(docker: &Docker, network: &str, container: &str) -> Result<bool> {
    let info = docker
        .inspect_container(container, None)
        .await
        .map_err(|e| Error::docker(format!("inspect container {container}"), e))?;
    Ok(info
        .network_settings
        .and_then(|s| s.networks)
        .is_some_and(|n| n.contains_key(network)))
}

/// Connects a container to a network; `Unchanged` if it already is.
pub async fn connect_network(
    docker: &Docker,
    network: &str,
    container: &str,
    mode: Mode,
) -> Result<Action> {
    if is_connected(docker, network, container).await? {
        return Ok(Action::Unchanged);
    }
    if mode.announce(
        Action::Connected,
        &format!("container {container} to network {network}"),
    ) {
        let req = NetworkConnectRequest {
            container: container.into(),
            endpoint_config: None,
        };
        docker
            .connect_network(network, req)
            .await
            .map_err(|e| Error::docker(format!("connect {container} to {network}"), e))?;
    }
    Ok(Action::Connected)
}

/// Disconnects a container from a network; `Absent` if it was not connected.
pub async fn disconnect_network(
    docker: &Docker,
    network: &str,
    container: &str,
    mode: Mode,
) -> Result<Action> {
    if !is_connected(docker, network, container).await? {
        return Ok(Action::Absent);
    }
    if mode.announce(
        Action::Disconnected,
        &format!("container {container} from network {network}"),
    ) {
        let req = NetworkDisconnectRequest {
            container: container.into(),
            force: Some(true),
        };
        docker
            .disconnect_network(network, req)
            .await
            .map_err(|e| Error::docker(format!("disconnect {container} from {network}"), e))?;
    }
    Ok(Action::Disconnected)
}

/// Removes a network; `Absent` if there was none.
pub async fn remove_network(docker: &Docker, name: &str, mode: Mode) -> Result<Action> {
    match docker.inspect_network(name, None).await {
        Err(e) if is_not_found(&e) => Ok(Action::Absent),
        Err(e) => Err(Error::docker(format!("inspect network {name}"), e)),
        Ok(_) => {
            if mode.announce(Action::Removed, &format!("network {name}")) {
                docker
                    .remove_network(name)
                    .await
                    .map_err(|e| Error::docker(format!("remove network {name}"), e))?;
            }
            Ok(Action::Removed)
        }
    }
}
