//! The image references a Kubernetes manifest names, read one way for `cache warm` and
//! `brrt init`: YAML (block or flow style, several documents per file) or JSON, parsed rather
//! than read line by line. In a Pod, and in the Pod template of a Deployment, StatefulSet,
//! DaemonSet, ReplicaSet, ReplicationController, Job or CronJob (and of a `List`'s items), the
//! `image` of each container and init container; in any other document (a custom resource, a
//! Compose file), every `image` field that holds a string.
//!
//! A file this cannot read says why, as an [`Unreadable`]: larger than the caller reads, not
//! text, a template (`{{ … }}`, as Helm's are) that is no manifest until rendered, or not valid
//! YAML or JSON, with the line and column. References are returned as written; the caller
//! checks them (`cache warm` fails only the image whose reference is bad).

use crate::ops::config_file::Format;
use crate::ops::{human_bytes, ConfigError, Error};
use serde::Deserialize;
use std::fmt;
use std::path::Path;
use yaml_serde::Value;

/// A reference as found, with where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundRef {
    pub text: String,
    /// `images.txt:3`, `k8s/web.yaml: Deployment web, container app`, `brrt.toml: cache.warm`.
    pub source: String,
}

impl FoundRef {
    /// A value a template fills in (`{{ .Values.image }}`): no reference yet.
    pub fn is_templated(&self) -> bool {
        self.text.contains("{{")
    }
}

/// Why a file gave no references.
#[derive(Debug)]
pub enum Unreadable {
    /// Larger than the caller reads.
    TooLarge { bytes: u64, limit: u64 },
    /// It could not be read, or is not UTF-8 text.
    Io(std::io::Error),
    /// A template (`{{ … }}`) that is no manifest until it is rendered: the line of its first
    /// `{{`, or of the image field it fills in.
    Template { line: usize },
    /// Not valid YAML or JSON: where, and what the parser said.
    Invalid(ConfigError),
}

impl Unreadable {
    /// As an error of a command that was told to read the file (`cache warm`).
    pub fn into_error(self, shown: &str) -> Error {
        match self {
            Unreadable::Invalid(e) => Error::Config(e),
            other => Error::Other(format!("{shown}{other}")),
        }
    }
}

/// What follows the file's name: `: too large (…)`, `:4:12: not valid YAML: …`.
impl fmt::Display for Unreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unreadable::TooLarge { bytes, limit } => write!(
                f,
                ": too large ({}; manifests are read up to {})",
                human_bytes(*bytes),
                human_bytes(*limit)
            ),
            Unreadable::Io(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                write!(f, ": not UTF-8 text, so no manifest")
            }
            Unreadable::Io(e) => write!(f, ": cannot read: {e}"),
            Unreadable::Template { line } => write!(
                f,
                ":{line}: a template ({{{{ … }}}}), no manifest until it is rendered: its images \
                 are not guessed (render it, e.g. with `helm template`, to read them)"
            ),
            Unreadable::Invalid(e) => match (e.line, e.column) {
                (Some(l), Some(c)) => write!(f, ":{l}:{c}: {}", e.message),
                (Some(l), None) => write!(f, ":{l}: {}", e.message),
                _ => write!(f, ": {}", e.message),
            },
        }
    }
}

/// The manifest format of a file, by its extension: `.yaml`, `.yml` or `.json`.
pub fn manifest_format(path: &Path) -> Option<Format> {
    Format::of(path).filter(|f| *f != Format::Toml)
}

/// The references in a manifest file (see [`manifest_format`]; anything else is read as YAML),
/// named `shown` in messages.
pub fn read_manifest_file(path: &Path, shown: &str) -> Result<Vec<FoundRef>, Unreadable> {
    let text = std::fs::read_to_string(path).map_err(Unreadable::Io)?;
    from_manifests(&text, shown, manifest_format(path).unwrap_or(Format::Yaml))
}

/// The references in manifests: one or more YAML documents, or one JSON value.
pub fn from_manifests(
    text: &str,
    shown: &str,
    format: Format,
) -> Result<Vec<FoundRef>, Unreadable> {
    let mut found = Vec::new();
    for value in parse(text, shown, format)? {
        objects(&value, shown, &mut found);
    }
    Ok(found)
}

/// The documents of a file. A file that holds `{{` and does not parse, or parses only as a
/// template does, is a template.
fn parse(text: &str, shown: &str, format: Format) -> Result<Vec<Value>, Unreadable> {
    let invalid = |e: ConfigError| match text.find("{{") {
        Some(at) => Unreadable::Template {
            line: text[..at].matches('\n').count() + 1,
        },
        None => Unreadable::Invalid(e),
    };
    if format == Format::Json {
        return serde_json::from_str::<Value>(text)
            .map(|v| vec![v])
            .map_err(|e| {
                let message = e.to_string();
                let message = message.split(" at line ").next().unwrap_or(&message);
                let (line, column) = (e.line(), e.column());
                invalid(ConfigError {
                    path: shown.to_string(),
                    line: Some(line),
                    column: Some(column),
                    snippet: text.lines().nth(line.saturating_sub(1)).map(str::to_string),
                    message: format!("not valid JSON: {message}"),
                })
            });
    }
    let docs = yaml_serde::Deserializer::from_str(text)
        .map(|doc| {
            Value::deserialize(doc).map_err(|e| {
                let offset = e.location().map_or(0, |l| l.index());
                let message = e.to_string();
                // serde_yaml ends its message with " at line L column C"; the place is shown first.
                let message = message.split(" at line ").next().unwrap_or(&message);
                invalid(ConfigError::at(
                    shown,
                    text,
                    offset,
                    format!("not valid YAML: {message}"),
                ))
            })
        })
        .collect::<Result<Vec<Value>, Unreadable>>()?;
    // An action a template writes unquoted (`name: {{ .Release.Name }}`) parses as a mapping
    // whose key is a mapping, which no manifest holds: the file is a template all the same.
    match text.find("{{") {
        Some(at) if docs.iter().any(has_mapping_key) => Err(Unreadable::Template {
            line: text[..at].matches('\n').count() + 1,
        }),
        _ => Ok(docs),
    }
}

fn has_mapping_key(value: &Value) -> bool {
    match value {
        Value::Mapping(map) => map
            .iter()
            .any(|(k, v)| matches!(k, Value::Mapping(_)) || has_mapping_key(v)),
        Value::Sequence(items) => items.iter().any(has_mapping_key),
        Value::Tagged(tagged) => has_mapping_key(&tagged.value),
        _ => false,
    }
}

/// The references of one document: a Kubernetes object's containers (and those of a `List`'s
/// items), or the `image` fields of anything else.
fn objects(value: &Value, shown: &str, found: &mut Vec<FoundRef>) {
    let kind = value.get("kind").and_then(Value::as_str).unwrap_or("");
    let name = value
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("(unnamed)");
    let spec = value.get("spec");
    let template = |spec: Option<&Value>| {
        spec.and_then(|s| s.get("template"))
            .and_then(|t| t.get("spec"))
            .cloned()
    };
    let pod_spec = match kind {
        "Pod" => spec.cloned(),
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "ReplicationController"
        | "Job" => template(spec),
        "CronJob" => template(
            spec.and_then(|s| s.get("jobTemplate"))
                .and_then(|j| j.get("spec")),
        ),
        "List" => {
            if let Some(items) = value.get("items").and_then(Value::as_sequence) {
                for item in items {
                    objects(item, shown, found);
                }
            }
            return;
        }
        _ => {
            let object = if kind.is_empty() {
                String::new()
            } else {
                format!("{kind} {name}, ")
            };
            image_fields(value, &mut Vec::new(), &mut |path, text| {
                found.push(FoundRef {
                    text: text.to_string(),
                    source: format!("{shown}: {object}{path}"),
                })
            });
            return;
        }
    };
    let Some(pod_spec) = pod_spec else { return };
    for list in ["initContainers", "containers"] {
        let Some(containers) = pod_spec.get(list).and_then(Value::as_sequence) else {
            continue;
        };
        for c in containers {
            let container = c.get("name").and_then(Value::as_str).unwrap_or("(unnamed)");
            let text = match c.get("image") {
                Some(Value::String(s)) => s.clone(),
                Some(other) => yaml_serde::to_string(other)
                    .unwrap_or_default()
                    .trim()
                    .to_string(),
                None => continue,
            };
            let what = if list == "initContainers" {
                "init container"
            } else {
                "container"
            };
            found.push(FoundRef {
                text,
                source: format!("{shown}: {kind} {name}, {what} {container}"),
            });
        }
    }
}

/// Every non-empty string under an `image` key, with its path (`services.db.image`).
fn image_fields(value: &Value, path: &mut Vec<String>, found: &mut dyn FnMut(&str, &str)) {
    match value {
        Value::Mapping(map) => {
            for (key, child) in map {
                let key = match key {
                    Value::String(s) => s.clone(),
                    other => yaml_serde::to_string(other)
                        .unwrap_or_default()
                        .trim()
                        .to_string(),
                };
                match child {
                    Value::String(s) if key == "image" && !s.trim().is_empty() => {
                        path.push(key);
                        found(&path.join("."), s.trim());
                        path.pop();
                    }
                    _ => {
                        path.push(key);
                        image_fields(child, path, found);
                        path.pop();
                    }
                }
            }
        }
        Value::Sequence(items) => {
            for (i, item) in items.iter().enumerate() {
                match path.last_mut() {
                    Some(last) => {
                        let before = last.clone();
                        last.push_str(&format!("[{i}]"));
                        image_fields(item, path, found);
                        *path.last_mut().expect("still there") = before;
                    }
                    None => {
                        path.push(format!("[{i}]"));
                        image_fields(item, path, found);
                        path.pop();
                    }
                }
            }
        }
        Value::Tagged(tagged) => image_fields(&tagged.value, path, found),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFESTS: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      initContainers:
        - {name: migrate, image: "flyway/flyway:10"}
      containers:
        - name: app
          image: ghcr.io/team/web:1.2
        - name: cache
          image: redis:7
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{name: job, image: "busybox:1.36"}]
---
kind: Service
metadata: {name: web}
spec: {ports: [{port: 80}]}
---
kind: List
items:
  - kind: Pod
    metadata: {name: debug}
    spec: {containers: [{name: sh, image: alpine}]}
"#;

    fn texts(found: &[FoundRef]) -> Vec<&str> {
        found.iter().map(|f| f.text.as_str()).collect()
    }

    #[test]
    fn every_workload_kind_of_a_multi_document_file_gives_its_containers() {
        let found = from_manifests(MANIFESTS, "k8s/web.yaml", Format::Yaml).unwrap();
        assert_eq!(
            texts(&found),
            [
                "flyway/flyway:10",
                "ghcr.io/team/web:1.2",
                "redis:7",
                "busybox:1.36",
                "alpine"
            ]
        );
        assert_eq!(
            found[0].source,
            "k8s/web.yaml: Deployment web, init container migrate"
        );
        assert_eq!(
            found[3].source,
            "k8s/web.yaml: CronJob nightly, container job"
        );
    }

    /// The example of issue 21, which the line-by-line reader of `brrt init` missed.
    #[test]
    fn flow_style_is_read_as_block_style_is() {
        let flow = "kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - {name: api, image: \"ghcr.io/acme/api:1.2\"}\n";
        let block = "kind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: api\n      image: ghcr.io/acme/api:1.2 # pinned\n";
        for text in [flow, block] {
            let found = from_manifests(text, "pod.yaml", Format::Yaml).unwrap();
            assert_eq!(texts(&found), ["ghcr.io/acme/api:1.2"], "{text}");
            assert_eq!(found[0].source, "pod.yaml: Pod p, container api");
        }
    }

    #[test]
    fn json_manifests_are_read() {
        let json = r#"{
	"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
	"spec": {"containers": [{"name": "api", "image": "quay.io/acme/api:2"}]}
}"#;
        let found = from_manifests(json, "pod.json", Format::Json).unwrap();
        assert_eq!(texts(&found), ["quay.io/acme/api:2"]);
        let e = from_manifests("{\"kind\": \"Pod\",\n}", "pod.json", Format::Json).unwrap_err();
        assert_eq!(
            e.to_string(),
            ":2:1: not valid JSON: trailing comma",
            "{e:?}"
        );
    }

    #[test]
    fn other_documents_give_their_image_fields() {
        let compose = "services:\n  db:\n    image: postgres:16\n  app:\n    build: .\n";
        let found = from_manifests(compose, "compose.yaml", Format::Yaml).unwrap();
        assert_eq!(texts(&found), ["postgres:16"]);
        assert_eq!(found[0].source, "compose.yaml: services.db.image");
        let task = "kind: Task\nmetadata: {name: t}\nspec:\n  steps:\n    - {name: a, image: alpine:3}\n  values: {image: {repository: x}}\n";
        let found = from_manifests(task, "task.yaml", Format::Yaml).unwrap();
        assert_eq!(texts(&found), ["alpine:3"]);
        assert_eq!(found[0].source, "task.yaml: Task t, spec.steps[0].image");
    }

    #[test]
    fn a_helm_template_is_a_template_and_its_values_are_templated() {
        let chart = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n{{- if .Values.x }}\nspec: {}\n{{- end }}\n";
        match from_manifests(chart, "t.yaml", Format::Yaml) {
            Err(Unreadable::Template { line: 4 }) => {}
            other => panic!("{other:?}"),
        }
        // Actions written unquoted parse as mappings keyed by mappings: a template still.
        let unquoted = "kind: Pod\nspec:\n  containers:\n    - image: {{ .Values.image }}\n";
        match from_manifests(unquoted, "t.yaml", Format::Yaml) {
            Err(Unreadable::Template { line: 4 }) => {}
            other => panic!("{other:?}"),
        }
        // A quoted action parses as a string: its value is no reference, and says so.
        let quoted = "kind: Pod\nspec:\n  containers:\n    - name: a\n      image: \"{{ .Values.image }}\"\n";
        let found = from_manifests(quoted, "t.yaml", Format::Yaml).unwrap();
        assert!(found[0].is_templated(), "{found:?}");
    }

    #[test]
    fn a_yaml_syntax_error_names_file_line_and_column() {
        let text = "kind: Pod\nspec:\n  containers:\n    - name: a\n      image: [redis\n";
        let e = from_manifests(text, "k8s/bad.yaml", Format::Yaml)
            .unwrap_err()
            .into_error("k8s/bad.yaml")
            .to_string();
        assert!(e.starts_with("k8s/bad.yaml:"), "{e}");
        assert!(e.contains("not valid YAML"), "{e}");
        let place: Vec<&str> = e.splitn(4, ':').collect();
        assert!(
            place[1].parse::<usize>().is_ok() && place[2].parse::<usize>().is_ok(),
            "{e}"
        );
    }
}
