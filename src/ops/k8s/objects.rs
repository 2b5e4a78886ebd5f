//! Any object, by kind: server-side apply of YAML (several documents at once), get and delete.
//! The kind is looked up in the API server's discovery documents, as kubectl does, so any
//! kind the cluster serves works.

use super::{Cluster, FIELD_MANAGER};
use crate::ops::{Action, Error, Mode, Result};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::gvk::{GroupVersion, GroupVersionKind};
use kube::discovery::{ApiCapabilities, ApiResource, Scope};
use serde::Serialize;
use serde_json::Value;

/// What applying one document did.
#[derive(Debug, Clone, Serialize)]
pub struct Applied {
    pub kind: String,
    /// Empty for cluster-scoped kinds.
    pub namespace: String,
    pub name: String,
    pub action: Action,
}

/// The documents of a YAML text: empty documents are skipped, each other one must be a map.
pub fn documents(text: &str) -> Result<Vec<Value>> {
    let mut docs = Vec::new();
    for (i, doc) in yaml_serde::Deserializer::from_str(text).enumerate() {
        let value: Value = serde::Deserialize::deserialize(doc).map_err(|e| {
            Error::InvalidSpec(format!(
                "k8s::apply: document {} is not valid YAML: {e}",
                i + 1
            ))
        })?;
        match value {
            Value::Null => {}
            Value::Object(_) => docs.push(value),
            other => {
                return Err(Error::InvalidSpec(format!(
                    "k8s::apply: document {} is not an object (found {other})",
                    i + 1
                )))
            }
        }
    }
    Ok(docs)
}

/// Checks that every document names its apiVersion, kind and name, before anything is sent.
pub fn check_objects(docs: &[Value]) -> Result<()> {
    for (i, doc) in docs.iter().enumerate() {
        identity(doc, i + 1)?;
    }
    Ok(())
}

/// An object's `apiVersion`, `kind` and `metadata.name`, or what is missing.
fn identity(doc: &Value, index: usize) -> Result<(GroupVersionKind, String)> {
    let field = |path: &[&str]| {
        path.iter()
            .try_fold(doc, |v, k| v.get(k))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let missing = |what: &str| {
        Error::InvalidSpec(format!(
            "k8s::apply: document {index} has no {what}; every object needs apiVersion, kind and metadata.name"
        ))
    };
    let api_version = field(&["apiVersion"]).ok_or_else(|| missing("apiVersion"))?;
    let kind = field(&["kind"]).ok_or_else(|| missing("kind"))?;
    let name = field(&["metadata", "name"]).ok_or_else(|| missing("metadata.name"))?;
    let gv: GroupVersion = api_version.parse().map_err(|_| {
        Error::InvalidSpec(format!(
            "k8s::apply: document {index}: `{api_version}` is not an apiVersion (like v1 or apps/v1)"
        ))
    })?;
    Ok((gv.with_kind(kind), name.to_string()))
}

/// The resource of a group, version and kind, from the server's discovery.
async fn resource(
    cluster: &Cluster,
    gvk: &GroupVersionKind,
) -> Result<(ApiResource, ApiCapabilities)> {
    match kube::discovery::pinned_kind(&cluster.client, gvk).await {
        Ok(found) => Ok(found),
        Err(kube::Error::Discovery(_)) => Err(unknown_kind(gvk)),
        Err(kube::Error::Api(s)) if s.code == 404 => Err(unknown_kind(gvk)),
        Err(e) => Err(cluster.error(&format!("look up the kind {}", gvk.kind), e)),
    }
}

fn unknown_kind(gvk: &GroupVersionKind) -> Error {
    let api_version = if gvk.group.is_empty() {
        gvk.version.clone()
    } else {
        format!("{}/{}", gvk.group, gvk.version)
    };
    Error::InvalidSpec(format!(
        "the cluster serves no kind {} in {api_version}",
        gvk.kind
    ))
}

/// A kind as a script names it: `ConfigMap` (or `configmaps`, `configmap`) for the core
/// group, or `apps/v1/Deployment` with its group and version.
async fn named_resource(cluster: &Cluster, kind: &str) -> Result<(ApiResource, ApiCapabilities)> {
    if let Some((api_version, kind)) = kind.rsplit_once('/') {
        let gv: GroupVersion = api_version.parse().map_err(|_| {
            Error::InvalidSpec(format!(
                "`{api_version}` is not an apiVersion; name a kind like ConfigMap or apps/v1/Deployment"
            ))
        })?;
        return resource(cluster, &gv.with_kind(kind)).await;
    }
    let core = kube::discovery::pinned_group(&cluster.client, &GroupVersion::gv("", "v1"))
        .await
        .map_err(|e| cluster.error("read the core API's kinds", e))?;
    core.recommended_resources()
        .into_iter()
        .find(|(r, _)| {
            r.kind.eq_ignore_ascii_case(kind)
                || r.plural.eq_ignore_ascii_case(kind)
                || r.plural.eq_ignore_ascii_case(&format!("{kind}s"))
        })
        .ok_or_else(|| {
            Error::InvalidSpec(format!(
                "no kind `{kind}` in the core API (v1); name a kind of another group with its \
                 group and version, e.g. apps/v1/Deployment"
            ))
        })
}

/// The API for one kind, in `namespace` when the kind lives in namespaces (`default` when
/// none is given).
fn dynamic_api(
    cluster: &Cluster,
    found: &(ApiResource, ApiCapabilities),
    namespace: &str,
) -> (Api<DynamicObject>, String) {
    let (ar, caps) = found;
    match caps.scope {
        Scope::Namespaced => {
            let ns = if namespace.is_empty() {
                "default"
            } else {
                namespace
            };
            (
                Api::namespaced_with(cluster.client.clone(), ns, ar),
                ns.to_string(),
            )
        }
        Scope::Cluster => (Api::all_with(cluster.client.clone(), ar), String::new()),
    }
}

fn shown(kind: &str, namespace: &str, name: &str) -> String {
    if namespace.is_empty() {
        format!("{kind} {name}")
    } else {
        format!("{kind} {namespace}/{name}")
    }
}

/// Server-side applies each document (field manager `brrt`), in order, as `kubectl apply
/// --server-side` does: the server merges it, and a field brrt set before that the document no
/// longer sets is removed (unless another manager owns it too). The action is what the server
/// did: `created`, `updated`, or `unchanged` when the object the server answers with is the
/// object it had. Under `--dry-run` the server applies it as a dry run (so it validates it too)
/// and stores nothing.
pub async fn apply(cluster: &Cluster, docs: &[Value], mode: Mode) -> Result<Vec<Applied>> {
    let mut targets = Vec::new();
    // Every document is checked before the first is sent.
    for (i, doc) in docs.iter().enumerate() {
        let (gvk, name) = identity(doc, i + 1)?;
        targets.push((gvk, name, doc));
    }
    let mut params = PatchParams::apply(FIELD_MANAGER);
    params.dry_run = mode.dry_run;
    let mut report = Vec::new();
    for (gvk, name, doc) in targets {
        let found = resource(cluster, &gvk).await?;
        let namespace = doc
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let (api, namespace) = dynamic_api(cluster, &found, namespace);
        let what = shown(&gvk.kind, &namespace, &name);
        let before = api
            .get_opt(&name)
            .await
            .map_err(|e| cluster.error(&format!("read {what}"), e))?;
        let mut body = doc.clone();
        if !namespace.is_empty() {
            body["metadata"]["namespace"] = namespace.clone().into();
        }
        let after = api
            .patch(&name, &params, &Patch::Apply(&body))
            .await
            .map_err(|e| cluster.error(&format!("apply {what}"), e))?;
        let action = match &before {
            None => Action::Created,
            Some(before) if same_object(before, &after) => Action::Unchanged,
            Some(_) => Action::Updated,
        };
        if action.is_change() {
            mode.announce(action, &what);
        }
        report.push(Applied {
            kind: gvk.kind.clone(),
            namespace,
            name,
            action,
        });
    }
    Ok(report)
}

/// Whether an apply left the object as it was, apart from the server's bookkeeping (its
/// resourceVersion and managedFields: the second apply of an object that had no managedFields
/// records its existing fields under `before-first-apply`, a write that changes nothing a user
/// sees). A dry run's answer is compared the same way.
fn same_object(before: &DynamicObject, after: &DynamicObject) -> bool {
    let content = |o: &DynamicObject| {
        let mut o = o.clone();
        o.metadata.managed_fields = None;
        o.metadata.resource_version = None;
        serde_json::to_value(o).ok()
    };
    content(before) == content(after)
}

/// An object as the server has it (without its `managedFields`), or `None`.
pub async fn get(
    cluster: &Cluster,
    kind: &str,
    namespace: &str,
    name: &str,
) -> Result<Option<Value>> {
    let found = named_resource(cluster, kind).await?;
    let (api, namespace) = dynamic_api(cluster, &found, namespace);
    let what = shown(&found.0.kind, &namespace, name);
    let Some(mut obj) = api
        .get_opt(name)
        .await
        .map_err(|e| cluster.error(&format!("read {what}"), e))?
    else {
        return Ok(None);
    };
    obj.metadata.managed_fields = None;
    serde_json::to_value(&obj)
        .map(Some)
        .map_err(|e| Error::Other(e.to_string()))
}

/// Deletes an object: `removed`, or `absent` when there was none.
pub async fn delete(
    cluster: &Cluster,
    kind: &str,
    namespace: &str,
    name: &str,
    mode: Mode,
) -> Result<Action> {
    let found = named_resource(cluster, kind).await?;
    let (api, namespace) = dynamic_api(cluster, &found, namespace);
    let what = shown(&found.0.kind, &namespace, name);
    let exists = api
        .get_opt(name)
        .await
        .map_err(|e| cluster.error(&format!("read {what}"), e))?
        .is_some();
    if !exists {
        return Ok(Action::Absent);
    }
    if mode.announce(Action::Removed, &what) {
        match api.delete(name, &Default::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => return Ok(Action::Absent),
            Err(e) => return Err(cluster.error(&format!("delete {what}"), e)),
        }
    }
    Ok(Action::Removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn documents_skip_empty_ones_and_refuse_what_is_not_an_object() {
        let docs =
            documents("---\napiVersion: v1\nkind: ConfigMap\n---\n---\nkind: Namespace\n").unwrap();
        assert_eq!(docs.len(), 2);
        let e = documents("apiVersion: v1\n---\n- a list\n").unwrap_err();
        assert!(e.to_string().contains("document 2 is not an object"), "{e}");
        let e = documents("a: [1\n").unwrap_err();
        assert!(
            e.to_string().contains("document 1 is not valid YAML"),
            "{e}"
        );
    }

    #[test]
    fn identity_names_what_is_missing() {
        let e = identity(&json!({"apiVersion": "v1", "kind": "ConfigMap"}), 3).unwrap_err();
        assert!(
            e.to_string().contains("document 3 has no metadata.name"),
            "{e}"
        );
        let (gvk, name) = identity(
            &json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}),
            1,
        )
        .unwrap();
        assert_eq!(
            (gvk.group.as_str(), gvk.version.as_str(), name.as_str()),
            ("apps", "v1", "web")
        );
    }
}
