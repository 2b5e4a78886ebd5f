//! A container as a flow wants it, checked, hashed, and turned into the engine's create body.

use super::ports::parse_port;
use super::{MANAGED_LABEL, SPEC_HASH_LABEL};
use crate::ops::digest::sha256_hex;
use crate::ops::{Error, Result};
use bollard::models::{
    ContainerCreateBody, HostConfig, PortBinding, RestartPolicy, RestartPolicyNameEnum,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

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
    /// Environment. Values are never logged.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Environment that holds secrets (credentials). Only the names go into the spec hash kept
    /// in a label; the values are compared with what the running container has.
    #[serde(default)]
    pub secret_env: BTreeMap<String, String>,
    /// `HOST_IP:HOST_PORT:PORT`, `HOST_PORT:PORT`, `HOST_IP::PORT` or `PORT`. A missing host IP
    /// means 127.0.0.1: nothing is published beyond loopback unless asked.
    #[serde(default)]
    pub ports: Vec<String>,
    /// `VOLUME:/path`, or `/host/path:/path[:ro]`.
    #[serde(default)]
    pub mounts: Vec<String>,
    #[serde(default)]
    pub network: Option<String>,
    /// `network` is one of several the container serves (a cache shared by clusters on
    /// several networks): it is created on it, and connected to it when it is not, but another
    /// network does not re-create it. A replacement joins every network the old one was on.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub joins_networks: bool,
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
            .field("secret_env", &self.secret_env.keys().collect::<Vec<_>>())
            .field("ports", &self.ports)
            .field("network", &self.network)
            .finish_non_exhaustive()
    }
}

impl ContainerSpec {
    /// A stable hash of everything that matters except secret values, kept in a label to
    /// detect drift cheaply. Labels can be read by anyone who can list containers, so no
    /// secret goes into it, not even hashed: the names of the secret variables do.
    pub fn hash(&self) -> String {
        let mut view = serde_json::to_value(self).unwrap_or_default();
        view["secret_env"] = self.secret_env.keys().cloned().collect();
        if self.joins_networks {
            view["network"] = serde_json::Value::Null;
        }
        sha256_hex(view.to_string())
    }

    /// Whether a container's environment (`KEY=VALUE` lines) holds every secret as wanted.
    pub fn secrets_match(&self, env: &[String]) -> bool {
        self.secret_env.iter().all(|(k, v)| {
            env.iter()
                .any(|line| line.split_once('=') == Some((k.as_str(), v.as_str())))
        })
    }

    pub(super) fn validate(&self) -> Result<()> {
        if self.name.is_empty() {
            return Err(Error::InvalidSpec("container spec needs a `name`".into()));
        }
        crate::ops::brrt_config::docker_name(&self.name).map_err(Error::InvalidSpec)?;
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

    pub(super) fn create_body(&self) -> Result<ContainerCreateBody> {
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
        let env = self
            .env
            .iter()
            .chain(&self.secret_env)
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        Ok(ContainerCreateBody {
            image: Some(self.image.clone()),
            cmd: (!self.cmd.is_empty()).then(|| self.cmd.clone()),
            entrypoint: self.entrypoint.clone(),
            env: Some(env),
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn a_container_that_joins_networks_keeps_its_hash_on_another() {
        let a = ContainerSpec {
            name: "x".into(),
            image: "registry:2".into(),
            network: Some("kind".into()),
            ..Default::default()
        };
        let b = ContainerSpec {
            network: Some("lab".into()),
            ..a.clone()
        };
        assert_ne!(a.hash(), b.hash(), "one network: another re-creates it");
        let joins = |spec: &ContainerSpec| ContainerSpec {
            joins_networks: true,
            ..spec.clone()
        };
        assert_eq!(joins(&a).hash(), joins(&b).hash());
        // A spec from before the field hashes as it did.
        let before = serde_json::to_value(&a).unwrap();
        assert!(before.get("joins_networks").is_none(), "{before}");
    }

    #[test]
    fn secret_values_stay_out_of_the_hash() {
        let mut a = ContainerSpec {
            name: "x".into(),
            image: "registry:2".into(),
            ..Default::default()
        };
        a.secret_env.insert("PASSWORD".into(), "hunter2".into());
        let mut b = a.clone();
        b.secret_env.insert("PASSWORD".into(), "other".into());
        assert_eq!(a.hash(), b.hash(), "the value must not change the label");
        let none = ContainerSpec {
            secret_env: BTreeMap::new(),
            ..a.clone()
        };
        assert_ne!(a.hash(), none.hash(), "the name of a secret does");
        assert!(a.secrets_match(&["PASSWORD=hunter2".into(), "A=b".into()]));
        assert!(!b.secrets_match(&["PASSWORD=hunter2".into()]));
    }
}
