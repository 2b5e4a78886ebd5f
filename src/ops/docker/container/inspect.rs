//! Reading containers: one by name, or every one carrying some labels or part of a name.

use crate::ops::{Error, Result};
use bollard::query_parameters::ListContainersOptionsBuilder;
use bollard::Docker;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// What a container looks like now, in the terms scripts care about.
#[derive(Debug, Clone, Serialize)]
pub struct ContainerState {
    pub id: String,
    pub name: String,
    pub image: String,
    pub running: bool,
    pub status: String,
    pub started_at: String,
    pub restart_count: i64,
    pub labels: BTreeMap<String, String>,
    pub networks: Vec<String>,
    /// Published ports: `container_port/proto` to `host_ip:host_port`.
    pub ports: BTreeMap<String, String>,
    /// `KEY=VALUE` lines; never shown to scripts, as they may hold credentials.
    #[serde(skip)]
    pub env: Vec<String>,
}

impl ContainerState {
    /// Whether the container publishes host port `port` (on any address).
    pub fn publishes(&self, port: u16) -> bool {
        self.ports
            .values()
            .any(|addr| addr.rsplit_once(':').map_or(addr.as_str(), |(_, p)| p) == port.to_string())
    }
}

/// Looks a container up by name or id. `None` when it does not exist.
pub async fn inspect_container(docker: &Docker, name: &str) -> Result<Option<ContainerState>> {
    match docker.inspect_container(name, None).await {
        Ok(c) => {
            let state = c.state.unwrap_or_default();
            let config = c.config.unwrap_or_default();
            let settings = c.network_settings.unwrap_or_default();
            let mut networks: Vec<String> =
                settings.networks.unwrap_or_default().into_keys().collect();
            networks.sort();
            let ports = settings
                .ports
                .unwrap_or_default()
                .into_iter()
                .filter_map(|(k, v)| {
                    let b = v?.into_iter().next()?;
                    Some((
                        k,
                        format!(
                            "{}:{}",
                            b.host_ip.unwrap_or_default(),
                            b.host_port.unwrap_or_default()
                        ),
                    ))
                })
                .collect();
            Ok(Some(ContainerState {
                id: c.id.unwrap_or_default(),
                name: c
                    .name
                    .unwrap_or_default()
                    .trim_start_matches('/')
                    .to_string(),
                image: config.image.unwrap_or_default(),
                running: state.running.unwrap_or(false),
                status: state.status.map(|s| s.to_string()).unwrap_or_default(),
                started_at: state.started_at.unwrap_or_default(),
                restart_count: c.restart_count.unwrap_or(0),
                labels: config.labels.unwrap_or_default().into_iter().collect(),
                networks,
                ports,
                env: config.env.unwrap_or_default(),
            }))
        }
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(Error::docker(format!("inspect container {name}"), e)),
    }
}

pub(crate) fn is_not_found(err: &bollard::errors::Error) -> bool {
    matches!(
        err,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// Lists containers (running or not) that carry all the given labels (`key` or `key=value`).
pub async fn list_containers(docker: &Docker, labels: &[String]) -> Result<Vec<ContainerState>> {
    let filters: HashMap<String, Vec<String>> = if labels.is_empty() {
        HashMap::new()
    } else {
        HashMap::from([("label".to_string(), labels.to_vec())])
    };
    list(docker, filters).await
}

/// Every container (running or not, brrt's or not) whose name contains one of `parts`, by
/// name: one request for all the names a flow is about to use. Their `env` is not filled in.
pub async fn containers_named(
    docker: &Docker,
    parts: &[&str],
) -> Result<BTreeMap<String, ContainerState>> {
    let parts = parts.iter().map(|p| (*p).to_string()).collect();
    let filters = HashMap::from([("name".to_string(), parts)]);
    Ok(list(docker, filters)
        .await?
        .into_iter()
        .map(|c| (c.name.clone(), c))
        .collect())
}

async fn list(
    docker: &Docker,
    filters: HashMap<String, Vec<String>>,
) -> Result<Vec<ContainerState>> {
    let opts = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&filters)
        .build();
    let list = docker
        .list_containers(Some(opts))
        .await
        .map_err(|e| Error::docker("list containers", e))?;
    let mut out: Vec<ContainerState> = list
        .into_iter()
        .map(|c| {
            let state = c.state.map(|s| s.to_string()).unwrap_or_default();
            ContainerState {
                id: c.id.unwrap_or_default(),
                name: c
                    .names
                    .unwrap_or_default()
                    .first()
                    .map(|n| n.trim_start_matches('/').to_string())
                    .unwrap_or_default(),
                image: c.image.unwrap_or_default(),
                running: state == "running",
                status: state,
                started_at: String::new(),
                restart_count: 0,
                labels: c.labels.unwrap_or_default().into_iter().collect(),
                networks: c
                    .network_settings
                    .and_then(|n| n.networks)
                    .map(|n| n.into_keys().collect())
                    .unwrap_or_default(),
                ports: c
                    .ports
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|p| {
                        let public = p.public_port?;
                        Some((
                            format!(
                                "{}/{}",
                                p.private_port,
                                p.typ.map(|t| t.to_string()).unwrap_or_else(|| "tcp".into())
                            ),
                            format!("{}:{public}", p.ip.unwrap_or_default()),
                        ))
                    })
                    .collect(),
                env: Vec::new(),
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_published_port_is_found_on_any_address() {
        let state = ContainerState {
            id: String::new(),
            name: "r".into(),
            image: String::new(),
            running: true,
            status: String::new(),
            started_at: String::new(),
            restart_count: 0,
            labels: BTreeMap::new(),
            networks: Vec::new(),
            ports: BTreeMap::from([
                ("5000/tcp".to_string(), "127.0.0.1:5001".to_string()),
                ("5001/tcp".to_string(), ":::32768".to_string()),
            ]),
            env: Vec::new(),
        };
        assert!(state.publishes(5001));
        assert!(state.publishes(32768));
        assert!(!state.publishes(5000));
        assert!(!state.publishes(500));
    }
}
