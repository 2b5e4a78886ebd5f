//! The KEP-1755 announcement: the ConfigMap `local-registry-hosting` in `kube-public`, which
//! tells tools such as Tilt where to push images so that the cluster can pull them.
//!
//! The KEP announces one registry. brrt announces its push registry, because that is where
//! Tilt pushes; the pull-through caches need no announcement, since containerd finds them
//! through the nodes' `hosts.toml`.

use super::{Cluster, FIELD_MANAGER};
use crate::ops::{Action, Error, Mode, Result};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ObjectMeta, Patch, PatchParams};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The ConfigMap's name, namespace and data key, as KEP-1755 fixes them.
pub const HOSTING_NAME: &str = "local-registry-hosting";
pub const HOSTING_NAMESPACE: &str = "kube-public";
pub const HOSTING_KEY: &str = "localRegistryHosting.v1";

/// `LocalRegistryHostingV1`: where the push registry is reached from each side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalRegistryHosting {
    /// From the host, where `docker push` and Tilt run: `localhost:<port>`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub host: String,
    /// From the nodes' container runtime: `<registry>:5000` on the cluster network.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub host_from_container_runtime: String,
    /// From pods on the cluster network.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub host_from_cluster_network: String,
    /// Where a human reads more.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub help: String,
}

impl LocalRegistryHosting {
    /// The YAML the ConfigMap holds under [`HOSTING_KEY`].
    pub fn to_yaml(&self) -> String {
        yaml_serde::to_string(self).expect("four strings serialize")
    }

    fn check(&self) -> Result<()> {
        if self.host.trim().is_empty() {
            return Err(Error::InvalidSpec(
                "k8s::local_registry_hosting: `host` is required, e.g. \"localhost:5001\"".into(),
            ));
        }
        Ok(())
    }
}

/// What the cluster announces now.
#[derive(Debug, Clone, Serialize)]
pub struct HostingFound {
    /// The four fields, as far as the ConfigMap's YAML could be read.
    pub hosting: Option<LocalRegistryHosting>,
    /// The YAML under [`HOSTING_KEY`], as it is.
    pub raw: String,
    /// Why the YAML could not be read, if it could not.
    pub problem: Option<String>,
    /// The field managers that wrote the ConfigMap (`brrt`, `kubectl-client-side-apply`, …).
    pub managers: Vec<String>,
}

fn api(cluster: &Cluster) -> Api<ConfigMap> {
    Api::namespaced(cluster.client.clone(), HOSTING_NAMESPACE)
}

fn what() -> String {
    format!("ConfigMap {HOSTING_NAMESPACE}/{HOSTING_NAME}")
}

/// Writes the announcement by server-side apply (field manager `brrt`), unless the ConfigMap
/// already holds exactly this: then nothing is sent and the answer is `unchanged`. brrt takes
/// the key over from whoever wrote it before (kind's script, ctlptl): dev-up owns it.
pub async fn apply_local_registry_hosting(
    cluster: &Cluster,
    wanted: &LocalRegistryHosting,
    mode: Mode,
) -> Result<Action> {
    wanted.check()?;
    let text = wanted.to_yaml();
    let api = api(cluster);
    let existing = api
        .get_opt(HOSTING_NAME)
        .await
        .map_err(|e| cluster.error(&format!("read {}", what()), e))?;
    let action = match &existing {
        None => Action::Created,
        Some(cm) if cm.data.as_ref().and_then(|d| d.get(HOSTING_KEY)) == Some(&text) => {
            return Ok(Action::Unchanged)
        }
        Some(_) => Action::Updated,
    };
    if !mode.announce(action, &format!("{} ({})", what(), wanted.host)) {
        return Ok(action);
    }
    let cm = ConfigMap {
        metadata: ObjectMeta {
            name: Some(HOSTING_NAME.into()),
            namespace: Some(HOSTING_NAMESPACE.into()),
            ..Default::default()
        },
        data: Some(BTreeMap::from([(HOSTING_KEY.to_string(), text)])),
        ..Default::default()
    };
    // `Patch::Apply` needs the type's apiVersion and kind in the body.
    let mut body = serde_json::to_value(&cm).map_err(|e| Error::Other(e.to_string()))?;
    body["apiVersion"] = "v1".into();
    body["kind"] = "ConfigMap".into();
    api.patch(
        HOSTING_NAME,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&body),
    )
    .await
    .map_err(|e| cluster.error(&format!("apply {}", what()), e))?;
    Ok(action)
}

/// The announcement the cluster has now, or `None`.
pub async fn read_local_registry_hosting(cluster: &Cluster) -> Result<Option<HostingFound>> {
    let Some(cm) = api(cluster)
        .get_opt(HOSTING_NAME)
        .await
        .map_err(|e| cluster.error(&format!("read {}", what()), e))?
    else {
        return Ok(None);
    };
    let managers = managers(&cm);
    let raw = cm
        .data
        .as_ref()
        .and_then(|d| d.get(HOSTING_KEY))
        .cloned()
        .unwrap_or_default();
    let (hosting, problem) = if raw.is_empty() {
        (None, Some(format!("it has no key {HOSTING_KEY}")))
    } else {
        match yaml_serde::from_str::<LocalRegistryHosting>(&raw) {
            Ok(h) => (Some(h), None),
            Err(e) => (
                None,
                Some(format!("its {HOSTING_KEY} is not valid YAML: {e}")),
            ),
        }
    };
    Ok(Some(HostingFound {
        hosting,
        raw,
        problem,
        managers,
    }))
}

fn managers(cm: &ConfigMap) -> Vec<String> {
    let mut names: Vec<String> = cm
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .filter_map(|f| f.manager.clone())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Deletes the announcement if brrt wrote it. One another tool wrote, and brrt never took
/// over, is left: the answer is `unchanged`, with its managers.
pub async fn remove_local_registry_hosting(
    cluster: &Cluster,
    mode: Mode,
) -> Result<(Action, Vec<String>)> {
    let Some(found) = read_local_registry_hosting(cluster).await? else {
        return Ok((Action::Absent, Vec::new()));
    };
    if !found.managers.iter().any(|m| m == FIELD_MANAGER) {
        return Ok((Action::Unchanged, found.managers));
    }
    if mode.announce(Action::Removed, &what()) {
        match api(cluster).delete(HOSTING_NAME, &Default::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {
                return Ok((Action::Absent, found.managers))
            }
            Err(e) => return Err(cluster.error(&format!("delete {}", what()), e)),
        }
    }
    Ok((Action::Removed, found.managers))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosting() -> LocalRegistryHosting {
        LocalRegistryHosting {
            host: "localhost:5001".into(),
            host_from_container_runtime: "kind-registry:5000".into(),
            host_from_cluster_network: "kind-registry:5000".into(),
            help: "https://example.com/brrt#tilt".into(),
        }
    }

    #[test]
    fn the_yaml_has_the_four_fields_of_kep_1755_in_its_order() {
        assert_eq!(
            hosting().to_yaml(),
            "host: localhost:5001\nhostFromContainerRuntime: kind-registry:5000\n\
             hostFromClusterNetwork: kind-registry:5000\nhelp: https://example.com/brrt#tilt\n"
        );
    }

    #[test]
    fn what_kind_s_script_writes_reads_back() {
        let kind_script = "host: \"localhost:5001\"\nhelp: \"https://kind.sigs.k8s.io/docs/user/local-registry/\"\n";
        let read: LocalRegistryHosting = yaml_serde::from_str(kind_script).unwrap();
        assert_eq!(read.host, "localhost:5001");
        assert_eq!(read.host_from_container_runtime, "");
    }

    #[test]
    fn a_host_is_required() {
        let empty = LocalRegistryHosting {
            host: " ".into(),
            ..hosting()
        };
        assert!(empty
            .check()
            .unwrap_err()
            .to_string()
            .contains("`host` is required"));
    }
}
