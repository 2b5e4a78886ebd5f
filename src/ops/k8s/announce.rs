//! The KEP-1755 announcement: the ConfigMap `local-registry-hosting` in `kube-public`, which
//! tells tools such as Tilt where to push images so that the cluster can pull them.
//!
//! The KEP announces one registry. brrt announces its push registry, because that is where
//! Tilt pushes; the pull-through caches need no announcement, since containerd finds them
//! through the nodes' `hosts.toml`.
//!
//! brrt never loses what it did not write: when it takes over an announcement another tool
//! wrote (kind's script, ctlptl), it keeps that tool's YAML and field managers in annotations
//! of its own, and removing the announcement puts that tool's back instead of deleting it.

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
    /// The announcement of another tool that brrt took over and keeps, if it did.
    pub replaced: Option<Replaced>,
}

/// Annotations brrt owns on an announcement it took over: the YAML that was under
/// [`HOSTING_KEY`] before (empty when there was none) and the field managers that wrote it,
/// comma-separated.
pub const REPLACED_ANNOUNCEMENT: &str = "brrt.dev/replaced-announcement";
pub const REPLACED_MANAGERS: &str = "brrt.dev/replaced-managers";

/// Who puts a replaced announcement back when the tool that wrote it is not known.
const RESTORER: &str = "restored-by-brrt";
/// The manager the API server names for fields an object had before its first apply.
const BEFORE_FIRST_APPLY: &str = "before-first-apply";

/// What another tool announced before brrt took the ConfigMap over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Replaced {
    /// Its YAML under [`HOSTING_KEY`]; empty when it had none.
    pub yaml: String,
    /// The field managers that wrote it.
    pub managers: Vec<String>,
}

impl Replaced {
    /// What brrt's annotations on `cm` keep, if brrt took it over.
    fn kept_in(cm: &ConfigMap) -> Option<Replaced> {
        let annotations = cm.metadata.annotations.as_ref()?;
        let managers = annotations.get(REPLACED_MANAGERS)?;
        Some(Replaced {
            yaml: annotations
                .get(REPLACED_ANNOUNCEMENT)
                .cloned()
                .unwrap_or_default(),
            managers: managers
                .split(',')
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .map(String::from)
                .collect(),
        })
    }

    fn annotations(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (REPLACED_ANNOUNCEMENT.to_string(), self.yaml.clone()),
            (REPLACED_MANAGERS.to_string(), self.managers.join(",")),
        ])
    }

    /// The manager that gets the announcement back: the tool that wrote it.
    fn owner(&self) -> &str {
        self.managers
            .iter()
            .map(String::as_str)
            .find(|m| *m != FIELD_MANAGER && *m != BEFORE_FIRST_APPLY)
            .unwrap_or(RESTORER)
    }
}

/// What applying the announcement did.
#[derive(Debug, Clone, Serialize)]
pub struct HostingApplied {
    pub action: Action,
    /// The announcement of another tool that brrt replaced and keeps, so that removing brrt's
    /// puts it back.
    pub replaced: Option<Replaced>,
}

fn api(cluster: &Cluster) -> Api<ConfigMap> {
    Api::namespaced(cluster.client.clone(), HOSTING_NAMESPACE)
}

fn what() -> String {
    format!("ConfigMap {HOSTING_NAMESPACE}/{HOSTING_NAME}")
}

fn raw(cm: &ConfigMap) -> String {
    cm.data
        .as_ref()
        .and_then(|d| d.get(HOSTING_KEY))
        .cloned()
        .unwrap_or_default()
}

/// Server-side applies (field manager `brrt`, with force) a ConfigMap of ours: `data` and
/// `annotations` are all the fields brrt then owns; fields it owned before and leaves out go.
async fn apply_as(
    cluster: &Cluster,
    manager: &str,
    data: Option<BTreeMap<String, String>>,
    annotations: Option<BTreeMap<String, String>>,
) -> Result<()> {
    let cm = ConfigMap {
        metadata: ObjectMeta {
            name: Some(HOSTING_NAME.into()),
            namespace: Some(HOSTING_NAMESPACE.into()),
            annotations,
            ..Default::default()
        },
        data,
        ..Default::default()
    };
    // `Patch::Apply` needs the type's apiVersion and kind in the body.
    let mut body = serde_json::to_value(&cm).map_err(|e| Error::Other(e.to_string()))?;
    body["apiVersion"] = "v1".into();
    body["kind"] = "ConfigMap".into();
    api(cluster)
        .patch(
            HOSTING_NAME,
            &PatchParams::apply(manager).force(),
            &Patch::Apply(&body),
        )
        .await
        .map_err(|e| cluster.error(&format!("apply {}", what()), e))?;
    Ok(())
}

/// Writes the announcement by server-side apply (field manager `brrt`), unless the ConfigMap
/// already holds exactly this: then nothing is sent and the answer is `unchanged`. dev-up owns
/// the key: one another tool wrote is taken over, and that tool's YAML and managers are kept
/// in brrt's annotations ([`REPLACED_ANNOUNCEMENT`], [`REPLACED_MANAGERS`]) for
/// [`remove_local_registry_hosting`] to put back.
pub async fn apply_local_registry_hosting(
    cluster: &Cluster,
    wanted: &LocalRegistryHosting,
    mode: Mode,
) -> Result<HostingApplied> {
    wanted.check()?;
    let text = wanted.to_yaml();
    let existing = api(cluster)
        .get_opt(HOSTING_NAME)
        .await
        .map_err(|e| cluster.error(&format!("read {}", what()), e))?;
    let replaced = existing.as_ref().and_then(|cm| {
        Replaced::kept_in(cm).or_else(|| {
            let managers = managers(cm);
            (!managers.iter().any(|m| m == FIELD_MANAGER)).then(|| Replaced {
                yaml: raw(cm),
                managers,
            })
        })
    });
    let action = match &existing {
        None => Action::Created,
        Some(cm) if raw(cm) == text && Replaced::kept_in(cm) == replaced => Action::Unchanged,
        Some(_) => Action::Updated,
    };
    let done = HostingApplied {
        action,
        replaced: replaced.clone(),
    };
    if action == Action::Unchanged
        || !mode.announce(action, &format!("{} ({})", what(), wanted.host))
    {
        return Ok(done);
    }
    apply_as(
        cluster,
        FIELD_MANAGER,
        Some(BTreeMap::from([(HOSTING_KEY.to_string(), text)])),
        replaced.as_ref().map(Replaced::annotations),
    )
    .await?;
    Ok(done)
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
    let raw = raw(&cm);
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
        managers: managers(&cm),
        replaced: Replaced::kept_in(&cm),
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

/// What removing the announcement did, and whose it was.
#[derive(Debug, Clone, Serialize)]
pub struct HostingRemoved {
    /// `removed` (brrt wrote it), `restored` (brrt had taken over another tool's, which is back),
    /// `unchanged` (another tool's, never taken over: left) or `absent`.
    pub action: Action,
    /// For `restored`, the tools whose announcement is back; for `unchanged`, the managers
    /// that wrote the one left.
    pub managers: Vec<String>,
}

/// Takes brrt's announcement away: deletes the ConfigMap if brrt wrote it from scratch, or
/// puts back the announcement of the tool brrt took it over from (that tool's YAML, under that
/// tool's field manager, and none of brrt's annotations). One another tool wrote, and brrt
/// never took over, is left: the answer is `unchanged`, with its managers.
pub async fn remove_local_registry_hosting(
    cluster: &Cluster,
    mode: Mode,
) -> Result<HostingRemoved> {
    let Some(cm) = api(cluster)
        .get_opt(HOSTING_NAME)
        .await
        .map_err(|e| cluster.error(&format!("read {}", what()), e))?
    else {
        return Ok(HostingRemoved {
            action: Action::Absent,
            managers: Vec::new(),
        });
    };
    if let Some(replaced) = Replaced::kept_in(&cm) {
        let owner = replaced.owner().to_string();
        if mode.announce(Action::Restored, &format!("{} as {owner} wrote it", what())) {
            if !replaced.yaml.is_empty() {
                let data = BTreeMap::from([(HOSTING_KEY.to_string(), replaced.yaml.clone())]);
                apply_as(cluster, &owner, Some(data), None).await?;
            }
            // brrt lets go of every field: its annotations go, and so does the key unless the
            // other tool owns it again.
            apply_as(cluster, FIELD_MANAGER, None, None).await?;
        }
        return Ok(HostingRemoved {
            action: Action::Restored,
            managers: replaced.managers,
        });
    }
    let managers = managers(&cm);
    if !managers.iter().any(|m| m == FIELD_MANAGER) {
        return Ok(HostingRemoved {
            action: Action::Unchanged,
            managers,
        });
    }
    let mut action = Action::Removed;
    if mode.announce(Action::Removed, &what()) {
        match api(cluster).delete(HOSTING_NAME, &Default::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => action = Action::Absent,
            Err(e) => return Err(cluster.error(&format!("delete {}", what()), e)),
        }
    }
    Ok(HostingRemoved { action, managers })
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
