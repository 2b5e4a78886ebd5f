//! Containers: a wanted spec, and the ensure that makes the engine match it.

use crate::ops::docker::port_holder;
use crate::ops::{Action, Error, Mode, Result};
use bollard::models::{
    ContainerCreateBody, HostConfig, PortBinding, RestartPolicy, RestartPolicyNameEnum,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, CreateImageOptionsBuilder, ListContainersOptionsBuilder,
    LogsOptionsBuilder, RemoveContainerOptionsBuilder, StopContainerOptionsBuilder,
};
use bollard::Docker;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Label holding the hash of the spec a container was created from.
pub const SPEC_HASH_LABEL: &str = "dev.brrt.spec-hash";
/// Label marking containers that brrt created and may re-create.
pub const MANAGED_LABEL: &str = "dev.brrt.managed";

/// A container as a flow wants it. Two equal specs hash equally; a changed field re-creates.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContainerSpec {
    pub name: String,
    pub image: String,
    #[serde(default)]
    pub cmd: Vec<String>,
    #[serde(default)]
    pub entrypoint: Option<Vec<String>>,
    /// Environment. Values are never logged: they may hold credentials.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// `HOST_IP:HOST_PORT:PORT`, `HOST_PORT:PORT`, `HOST_IP::PORT` or `PORT`. A missing host IP
    /// means 127.0.0.1: nothing is published beyond loopback unless asked.
    #[serde(default)]
    pub ports: Vec<String>,
    /// `VOLUME:/path`, or `/host/path:/path[:ro]`.
    #[serde(default)]
    pub mounts: Vec<String>,
    #[serde(default)]
    pub network: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// `no`, `always`, `unless-stopped` or `on-failure`.
    #[serde(default)]
    pub restart: Option<String>,
    #[serde(default)]
    pub cap_add: Vec<String>,
    #[serde(default)]
    pub security_opt: Vec<String>,
}

impl std::fmt::Debug for ContainerSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContainerSpec")
            .field("name", &self.name)
            .field("image", &self.image)
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .field("ports", &self.ports)
            .field("network", &self.network)
            .finish_non_exhaustive()
    }
}

impl ContainerSpec {
    /// A stable hash of everything that matters, kept in a label to detect drift cheaply.
    pub fn hash(&self) -> String {
        let canonical = serde_json::to_string(self).unwrap_or_default();
        format!("{:016x}", fnv1a(canonical.as_bytes()))
    }

    fn validate(&self) -> Result<()> {
        if self.name.is_empty() {
            return Err(Error::InvalidSpec("container spec needs a `name`".into()));
        }
        if self.image.is_empty() {
            return Err(Error::InvalidSpec(format!(
                "container `{}` needs an `image`",
                self.name
            )));
        }
        for p in &self.ports {
            parse_port(p)?;
        }
        if let Some(r) = &self.restart {
            restart_policy(r)?;
        }
        for m in &self.mounts {
            if m.split(':').count() < 2 {
                return Err(Error::InvalidSpec(format!(
                    "mount `{m}` of `{}` should be VOLUME:/path or /host/path:/path",
                    self.name
                )));
            }
        }
        Ok(())
    }

    fn create_body(&self) -> Result<ContainerCreateBody> {
        let mut labels: HashMap<String, String> = self
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        labels.insert(SPEC_HASH_LABEL.into(), self.hash());
        labels.insert(MANAGED_LABEL.into(), "true".into());
        let mut exposed = Vec::new();
        let mut bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
        for p in &self.ports {
            let port = parse_port(p)?;
            let key = format!("{}/{}", port.container_port, port.proto);
            exposed.push(key.clone());
            bindings
                .entry(key)
                .or_insert_with(|| Some(Vec::new()))
                .get_or_insert_with(Vec::new)
                .push(PortBinding {
                    host_ip: Some(port.host_ip.clone()),
                    host_port: Some(port.host_port.map(|p| p.to_string()).unwrap_or_default()),
                });
        }
        let restart = match &self.restart {
            Some(r) => Some(RestartPolicy {
                name: Some(restart_policy(r)?),
                maximum_retry_count: None,
            }),
            None => None,
        };
        Ok(ContainerCreateBody {
            image: Some(self.image.clone()),
            cmd: (!self.cmd.is_empty()).then(|| self.cmd.clone()),
            entrypoint: self.entrypoint.clone(),
            env: Some(self.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            labels: Some(labels),
            exposed_ports: (!exposed.is_empty()).then_some(exposed),
            host_config: Some(HostConfig {
                binds: (!self.mounts.is_empty()).then(|| self.mounts.clone()),
                port_bindings: (!bindings.is_empty()).then_some(bindings),
                network_mode: self.network.clone(),
                restart_policy: restart,
                cap_add: (!self.cap_add.is_empty()).then(|| self.cap_add.clone()),
                security_opt: (!self.security_opt.is_empty()).then(|| self.security_opt.clone()),
                ..Default::default()
            }),
            ..Default::default()
        })
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn restart_policy(name: &str) -> Result<RestartPolicyNameEnum> {
    Ok(match name {
        "no" | "" => RestartPolicyNameEnum::NO,
        "always" => RestartPolicyNameEnum::ALWAYS,
        "unless-stopped" => RestartPolicyNameEnum::UNLESS_STOPPED,
        "on-failure" => RestartPolicyNameEnum::ON_FAILURE,
        other => {
            return Err(Error::InvalidSpec(format!(
                "restart policy `{other}` is not one of: no, always, unless-stopped, on-failure"
            )))
        }
    })
}

/// One published port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PortSpec {
    pub host_ip: String,
    pub host_port: Option<u16>,
    pub container_port: u16,
    pub proto: String,
}

pub(crate) fn parse_port(text: &str) -> Result<PortSpec> {
    let bad = || {
        Error::InvalidSpec(format!(
            "port `{text}` should look like 127.0.0.1:5001:5000, 5001:5000, 127.0.0.1::5000 or 5000"
        ))
    };
    let (body, proto) = match text.split_once('/') {
        Some((b, p)) if p == "tcp" || p == "udp" => (b, p.to_string()),
        Some(_) => return Err(bad()),
        None => (text, "tcp".to_string()),
    };
    let parts: Vec<&str> = body.split(':').collect();
    let num = |s: &str| s.parse::<u16>().map_err(|_| bad());
    let (host_ip, host_port, container_port) = match parts.as_slice() {
        [c] => ("127.0.0.1".to_string(), None, num(c)?),
        [h, c] => ("127.0.0.1".to_string(), Some(num(h)?), num(c)?),
        [ip, h, c] => (
            ip.to_string(),
            if h.is_empty() { None } else { Some(num(h)?) },
            num(c)?,
        ),
        _ => return Err(bad()),
    };
    Ok(PortSpec {
        host_ip,
        host_port,
        container_port,
        proto,
    })
}

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
}

/// The report of [`ensure_container`].
#[derive(Debug, Clone, Serialize)]
pub struct ContainerOutcome {
    pub name: String,
    pub action: Action,
    pub id: String,
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
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Makes the container match `spec`: create it if absent, start it if stopped, re-create it if
/// its spec changed, and otherwise leave it alone.
pub async fn ensure_container(
    docker: &Docker,
    spec: &ContainerSpec,
    mode: Mode,
) -> Result<ContainerOutcome> {
    spec.validate()?;
    let wanted = spec.hash();
    let what = format!("container {}", spec.name);
    let outcome = |action, id: &str| {
        Ok(ContainerOutcome {
            name: spec.name.clone(),
            action,
            id: id.to_string(),
        })
    };
    match inspect_container(docker, &spec.name).await? {
        None => {
            if mode.announce(Action::Created, &what) {
                check_ports_free(docker, spec, None).await?;
                let id = create_and_start(docker, spec).await?;
                return outcome(Action::Created, &id);
            }
            outcome(Action::Created, "")
        }
        Some(current) => {
            if !current.labels.contains_key(MANAGED_LABEL) {
                return Err(Error::Other(format!(
                    "a container named `{}` exists but brrt did not create it, so brrt will not \
                     replace it; remove it (`docker rm -f {}`) or pick another name in the config",
                    spec.name, spec.name
                )));
            }
            if current.labels.get(SPEC_HASH_LABEL) != Some(&wanted) {
                if mode.announce(Action::Recreated, &what) {
                    // Check before removing: a taken port must not cost the user the old container.
                    check_ports_free(docker, spec, Some(&current)).await?;
                    remove(docker, &spec.name).await?;
                    let id = create_and_start(docker, spec).await?;
                    return outcome(Action::Recreated, &id);
                }
                return outcome(Action::Recreated, &current.id);
            }
            if !current.running {
                if mode.announce(Action::Started, &what) {
                    start(docker, spec).await?;
                }
                return outcome(Action::Started, &current.id);
            }
            if let Some(network) = spec.network.as_deref() {
                // Someone disconnected it: the spec hash cannot tell, the endpoint list can.
                if !current.networks.iter().any(|n| n == network) {
                    super::connect_network(docker, network, &spec.name, mode).await?;
                    return outcome(Action::Updated, &current.id);
                }
            }
            outcome(Action::Unchanged, &current.id)
        }
    }
}

/// The container, when it already is exactly what `spec` asks for: created by brrt from this
/// spec, running, and on its network. One inspect, no change.
pub async fn current_container(
    docker: &Docker,
    spec: &ContainerSpec,
) -> Result<Option<ContainerState>> {
    let Some(state) = inspect_container(docker, &spec.name).await? else {
        return Ok(None);
    };
    let current = state.running
        && state.labels.contains_key(MANAGED_LABEL)
        && state.labels.get(SPEC_HASH_LABEL) == Some(&spec.hash())
        && spec
            .network
            .as_ref()
            .is_none_or(|n| state.networks.contains(n));
    Ok(current.then_some(state))
}

/// Fails with who holds a wanted host port. Ports that `current` (the container about to be
/// re-created) publishes itself are free for the new one.
async fn check_ports_free(
    docker: &Docker,
    spec: &ContainerSpec,
    current: Option<&ContainerState>,
) -> Result<()> {
    for p in &spec.ports {
        let port = parse_port(p)?;
        if let Some(host_port) = port.host_port {
            let own = current.is_some_and(|c| {
                c.ports
                    .values()
                    .any(|hp| hp.rsplit(':').next() == Some(host_port.to_string().as_str()))
            });
            if own {
                continue;
            }
            if let Some(holder) = port_holder(docker, &port.host_ip, host_port, &spec.name).await? {
                return Err(Error::PortInUse {
                    ip: port.host_ip,
                    port: host_port,
                    holder,
                });
            }
        }
    }
    Ok(())
}

async fn create_and_start(docker: &Docker, spec: &ContainerSpec) -> Result<String> {
    let body = spec.create_body()?;
    let opts = CreateContainerOptionsBuilder::default()
        .name(&spec.name)
        .build();
    let created = match docker
        .create_container(Some(opts.clone()), body.clone())
        .await
    {
        Ok(c) => c,
        Err(e) if is_not_found(&e) => {
            pull_image(docker, &spec.image).await?;
            docker
                .create_container(Some(opts), body)
                .await
                .map_err(|e| Error::docker(format!("create container {}", spec.name), e))?
        }
        Err(e) => return Err(Error::docker(format!("create container {}", spec.name), e)),
    };
    start(docker, spec).await?;
    Ok(created.id)
}

async fn start(docker: &Docker, spec: &ContainerSpec) -> Result<()> {
    docker
        .start_container(&spec.name, None)
        .await
        .map_err(|e| Error::docker(format!("start container {}", spec.name), e))
}

async fn pull_image(docker: &Docker, image: &str) -> Result<()> {
    tracing::info!("pulling image {image}");
    let opts = CreateImageOptionsBuilder::default()
        .from_image(image)
        .build();
    let mut stream = docker.create_image(Some(opts), None, None);
    while let Some(item) = stream.next().await {
        item.map_err(|e| {
            Error::Other(format!(
                "image {image} is not present locally and could not be pulled: {e}"
            ))
        })?;
    }
    Ok(())
}

async fn remove(docker: &Docker, name: &str) -> Result<()> {
    let stop = StopContainerOptionsBuilder::default().t(5).build();
    match docker.stop_container(name, Some(stop)).await {
        Ok(()) => {}
        Err(e) if is_not_found(&e) => return Ok(()),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 304, ..
        }) => {}
        Err(e) => return Err(Error::docker(format!("stop container {name}"), e)),
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

/// Removes a container (its named volumes stay). `Absent` when there was none.
pub async fn remove_container(docker: &Docker, name: &str, mode: Mode) -> Result<Action> {
    if inspect_container(docker, name).await?.is_none() {
        return Ok(Action::Absent);
    }
    if mode.announce(Action::Removed, &format!("container {name}")) {
        remove(docker, name).await?;
    }
    Ok(Action::Removed)
}

/// The last `tail` lines of a container's output (stdout and stderr).
pub async fn logs(docker: &Docker, name: &str, tail: usize) -> Result<String> {
    let opts = LogsOptionsBuilder::default()
        .stdout(true)
        .stderr(true)
        .tail(&tail.to_string())
        .build();
    let mut stream = docker.logs(name, Some(opts));
    let mut out = String::new();
    while let Some(item) = stream.next().await {
        let chunk = item.map_err(|e| Error::docker(format!("logs of {name}"), e))?;
        out.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_default_to_loopback() {
        let p = parse_port("5001:5000").unwrap();
        assert_eq!(
            (p.host_ip.as_str(), p.host_port, p.container_port),
            ("127.0.0.1", Some(5001), 5000)
        );
        let p = parse_port("0.0.0.0::5000/udp").unwrap();
        assert_eq!(
            (p.host_ip.as_str(), p.host_port, p.proto.as_str()),
            ("0.0.0.0", None, "udp")
        );
        assert!(parse_port("abc").is_err());
        assert!(parse_port("1:2:3:4").is_err());
    }

    #[test]
    fn hash_follows_every_field() {
        let a = ContainerSpec {
            name: "x".into(),
            image: "registry:2".into(),
            ..Default::default()
        };
        let mut b = a.clone();
        assert_eq!(a.hash(), b.hash());
        b.env.insert("K".into(), "V".into());
        assert_ne!(a.hash(), b.hash());
    }
}
