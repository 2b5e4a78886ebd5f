//! The push registry: where the team's own builds go (`docker push localhost:5001/app`).

use super::container::{
    default_image, ensure_registry, labels, volume_name, RegistryOutcome, DATA_DIR, REGISTRY_READY,
};
use crate::ops::docker::ContainerSpec;
use crate::ops::{Mode, Result};
use bollard::Docker;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The push registry, as the config describes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushRegistrySpec {
    pub name: String,
    /// Host port, bound on `host_ip`.
    pub port: u16,
    #[serde(default = "default_image")]
    pub image: String,
    pub network: Option<String>,
    /// An IP address; 127.0.0.1 unless the config says otherwise.
    #[serde(default = "default_host_ip")]
    pub host_ip: String,
}

fn default_host_ip() -> String {
    "127.0.0.1".into()
}

/// Ensures the push registry: `registry:3` (by default) on `host_ip:port`, its data in a named volume. A
/// (re)started registry must answer `/v2/` before this returns.
pub async fn ensure_push(
    d: &Docker,
    spec: &PushRegistrySpec,
    mode: Mode,
) -> Result<RegistryOutcome> {
    let volume = volume_name(&spec.name);
    let labels = labels("push", Some(&spec.name), None);
    let container = ContainerSpec {
        name: spec.name.clone(),
        image: spec.image.clone(),
        ports: vec![format!("{}:{}:5000", spec.host_ip, spec.port)],
        mounts: vec![format!("{volume}:{DATA_DIR}")],
        network: spec.network.clone(),
        restart: Some("always".into()),
        env: BTreeMap::from([("REGISTRY_STORAGE_DELETE_ENABLED".into(), "true".into())]),
        labels: labels.clone(),
        ..Default::default()
    };
    let mut out = ensure_registry(d, &container, &volume, &labels, mode, &REGISTRY_READY).await?;
    out.mode = "push".into();
    Ok(out)
}
