//! Where `cache warm` finds image references: Kubernetes manifests (YAML or JSON, several
//! documents per file; the containers and initContainers of Pods, Deployments, StatefulSets,
//! DaemonSets, ReplicaSets, Jobs and CronJobs, and of `List` items), and plain lists with one
//! reference per line. A folder is read for its `.yaml`, `.yml` and `.json` files, recursively.
//!
//! References are collected as written; [`super::ImageRef`] checks them, so that one bad
//! reference fails only that image.

use crate::ops::{ConfigError, Error, Result};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use yaml_serde::Value;

/// A reference as found, with where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundRef {
    pub text: String,
    /// `images.txt:3`, `k8s/web.yaml: Deployment web, container app`, `brrt.toml: cache.warm`.
    pub source: String,
}

/// Reads every path (file or folder) for references. `shown` turns a path into what messages
/// show; `read` is told of every file and folder read (so `--watch` can follow them). A path
/// that does not exist, or a manifest that is not valid YAML, is an error naming the file (and
/// the line and column).
pub fn collect(
    paths: &[PathBuf],
    shown: &dyn Fn(&Path) -> String,
    read: &mut dyn FnMut(&Path),
) -> Result<Vec<FoundRef>> {
    let mut found = Vec::new();
    for path in paths {
        read(path);
        if path.is_dir() {
            for file in manifest_files(path)? {
                // Its folder too, so that a file added beside it is seen (`--watch`).
                if let Some(dir) = file.parent() {
                    read(dir);
                }
                read(&file);
                found.extend(from_manifest_file(&file, &shown(&file))?);
            }
        } else if path.is_file() {
            if is_manifest(path) {
                found.extend(from_manifest_file(path, &shown(path))?);
            } else {
                let text = read_text(path, &shown(path))?;
                found.extend(from_list(&text, &shown(path)));
            }
        } else {
            return Err(Error::Other(format!(
                "{}: no such file or folder (cache warm reads Kubernetes manifests, folders of \
                 them, and lists of images)",
                shown(path)
            )));
        }
    }
    Ok(found)
}

fn is_manifest(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml" | "json")
    )
}

/// The manifest files under a folder, sorted, skipping hidden entries.
fn manifest_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d)
            .map_err(|e| Error::Other(format!("{}: cannot read the folder: {e}", d.display())))?;
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else if is_manifest(&path) {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

fn read_text(path: &Path, shown: &str) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::Other(format!("{shown}: cannot read: {e}")))
}

/// References in a plain list: one per line; blank lines and `#` comments are skipped.
pub fn from_list(text: &str, shown: &str) -> Vec<FoundRef> {
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let line = match line.find(" #") {
                Some(at) => &line[..at],
                None => line,
            }
            .trim();
            (!line.is_empty() && !line.starts_with('#')).then(|| FoundRef {
                text: line.to_string(),
                source: format!("{shown}:{}", i + 1),
            })
        })
        .collect()
}

fn from_manifest_file(path: &Path, shown: &str) -> Result<Vec<FoundRef>> {
    from_manifests(&read_text(path, shown)?, shown)
}

/// References in Kubernetes manifests (one or more YAML documents). A syntax error names the
/// file, line and column.
pub fn from_manifests(text: &str, shown: &str) -> Result<Vec<FoundRef>> {
    let mut found = Vec::new();
    for doc in yaml_serde::Deserializer::from_str(text) {
        let value = Value::deserialize(doc).map_err(|e| {
            let offset = e.location().map_or(0, |l| l.index());
            let message = e.to_string();
            // serde_yaml ends its message with " at line L column C"; the place is shown first.
            let message = message
                .split(" at line ")
                .next()
                .unwrap_or(&message)
                .to_string();
            Error::Config(ConfigError::at(
                shown,
                text,
                offset,
                format!("not valid YAML: {message}"),
            ))
        })?;
        objects(&value, shown, &mut found);
    }
    Ok(found)
}

/// The references of one Kubernetes object (and of the items of a `List`).
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
            None
        }
        _ => None,
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

    #[test]
    fn every_workload_kind_gives_its_containers_and_init_containers() {
        let found = from_manifests(MANIFESTS, "k8s/web.yaml").unwrap();
        let texts: Vec<&str> = found.iter().map(|f| f.text.as_str()).collect();
        assert_eq!(
            texts,
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

    #[test]
    fn a_yaml_syntax_error_names_file_line_and_column() {
        let text = "kind: Pod\nspec:\n  containers:\n    - name: a\n      image: [redis\n";
        let e = from_manifests(text, "k8s/bad.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("k8s/bad.yaml:"), "{e}");
        assert!(e.contains("not valid YAML"), "{e}");
        let place: Vec<&str> = e.splitn(4, ':').collect();
        assert!(
            place[1].parse::<usize>().is_ok() && place[2].parse::<usize>().is_ok(),
            "{e}"
        );
    }

    #[test]
    fn lists_skip_blanks_and_comments_and_name_lines() {
        let found = from_list(
            "# team images\npostgres:16\n\nredis:7  # cache\n",
            "images.txt",
        );
        assert_eq!(found.len(), 2);
        assert_eq!(
            (found[1].text.as_str(), found[1].source.as_str()),
            ("redis:7", "images.txt:4")
        );
    }
}
