//! The images a repository names, and the registries they come from: what `brrt init` caches.
//!
//! Kubernetes manifests name images in `image:` fields; a Tiltfile names them in strings
//! (`local_resource(serve_cmd='docker run postgres:16')`). A reference is normalised as
//! containerd and Docker do: with no registry host in front, it is Docker Hub's
//! (`postgres:16` → `docker.io/library/postgres:16`).

use std::path::{Path, PathBuf};

/// One image reference found in the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// As written: `postgres:16-alpine`.
    pub reference: String,
    /// The registry it is pulled from: `docker.io`.
    pub host: String,
    /// The file it was found in, relative to the repository.
    pub file: String,
}

/// Folders never searched: version control, build output, dependencies.
const SKIPPED_DIRS: &[&str] = &["target", "node_modules", "vendor", "dist", "build"];
/// How deep into the repository manifests are looked for.
const MAX_DEPTH: usize = 8;
/// Files larger than this are not manifests a human wrote.
const MAX_FILE: u64 = 2 << 20;

/// Every image reference in the repository's YAML files and Tiltfiles, in file order.
pub fn scan(root: &Path) -> Vec<ImageRef> {
    let mut files = Vec::new();
    collect(root, 0, &mut files);
    files.sort();
    let mut found = Vec::new();
    for path in files {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let shown = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .display()
            .to_string();
        let refs = if is_tiltfile(&path) {
            tiltfile_refs(&text)
        } else {
            yaml_refs(&text)
        };
        for reference in refs {
            if let Some(host) = registry_host(&reference) {
                found.push(ImageRef {
                    reference,
                    host,
                    file: shown.clone(),
                });
            }
        }
    }
    found
}

fn is_tiltfile(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n == "Tiltfile" || n.ends_with(".tiltfile"))
}

fn collect(dir: &Path, depth: usize, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            if depth < MAX_DEPTH && !name.starts_with('.') && !SKIPPED_DIRS.contains(&name.as_str())
            {
                collect(&path, depth + 1, files);
            }
        } else if kind.is_file()
            && (name.ends_with(".yaml") || name.ends_with(".yml") || is_tiltfile(&path))
            && entry.metadata().is_ok_and(|m| m.len() <= MAX_FILE)
        {
            files.push(path);
        }
    }
}

/// The values of `image:` keys, line by line: templated manifests (Helm, Kustomize) are not
/// YAML until rendered, so they are read as text. A templated value is skipped.
fn yaml_refs(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim_start().trim_start_matches("- ").trim_start();
            let value = line.strip_prefix("image:")?;
            let value = value.split(" #").next().unwrap_or("").trim();
            let value = value.trim_matches(|c| c == '"' || c == '\'');
            (!value.is_empty() && !value.contains("{{") && !value.contains('$'))
                .then(|| value.to_string())
        })
        .collect()
}

/// The words of a Tiltfile's string literals that look like image references with a tag or a
/// digest (`'postgres:16'`, `"docker run -d redis:7"`): a bare word such as a resource name is
/// no image, and a Tiltfile's own builds (`docker_build('app', '.')`) go to the push registry.
fn tiltfile_refs(text: &str) -> Vec<String> {
    let mut refs = Vec::new();
    for line in text.lines() {
        let code = line.split('#').next().unwrap_or("");
        let mut rest = code;
        while let Some(start) = rest.find(['"', '\'']) {
            let quote = rest.as_bytes()[start] as char;
            let after = &rest[start + 1..];
            let Some(end) = after.find(quote) else {
                break;
            };
            refs.extend(
                after[..end]
                    .split_whitespace()
                    .filter(|w| w.contains(':') || w.contains('@'))
                    .map(str::to_string),
            );
            rest = &after[end + 1..];
        }
    }
    refs
}

/// The registry an image reference is pulled from, normalised as containerd does; `None` for
/// what is not an image reference, or one of the push registry (`localhost:5001/app`).
pub fn registry_host(reference: &str) -> Option<String> {
    if reference.contains("://") || reference.starts_with(['/', '.', '-', '$', '{', ':']) {
        return None;
    }
    let name = reference.split('@').next()?;
    let (first, rest) = match name.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => {
            (Some(first), rest)
        }
        _ => (None, name),
    };
    // The tag follows the last `:` of the last component.
    let (path, tag) = match rest.rsplit_once('/') {
        Some((dir, last)) => match last.split_once(':') {
            Some((l, t)) => (format!("{dir}/{l}"), Some(t)),
            None => (rest.to_string(), None),
        },
        None => match rest.split_once(':') {
            Some((l, t)) => (l.to_string(), Some(t)),
            None => (rest.to_string(), None),
        },
    };
    let component = |c: &str| {
        !c.is_empty()
            && c.starts_with(|ch: char| ch.is_ascii_lowercase() || ch.is_ascii_digit())
            && c.chars().all(|ch| {
                ch.is_ascii_lowercase() || ch.is_ascii_digit() || matches!(ch, '.' | '_' | '-')
            })
    };
    if !path.split('/').all(component) || path.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if let Some(tag) = tag {
        let ok = !tag.is_empty()
            && tag.len() <= 128
            && tag
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if !ok {
            return None;
        }
    }
    let host = first.unwrap_or("docker.io").to_ascii_lowercase();
    let bare = host.split(':').next().unwrap_or("");
    if bare == "localhost" || bare == "127.0.0.1" || bare == "::1" {
        return None;
    }
    Some(match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            "docker.io".to_string()
        }
        _ => host,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_normalised_as_containerd_does() {
        for (reference, host) in [
            ("postgres:16", "docker.io"),
            ("postgres", "docker.io"),
            ("bitnami/redis:7.2", "docker.io"),
            ("docker.io/library/postgres:16-alpine", "docker.io"),
            ("index.docker.io/library/busybox", "docker.io"),
            ("quay.io/prometheus/prometheus:v2.48.0", "quay.io"),
            ("registry.k8s.io/pause:3.9", "registry.k8s.io"),
            ("ghcr.io/org/app@sha256:abc", "ghcr.io"),
            (
                "registry.example.com:5000/team/app:1",
                "registry.example.com:5000",
            ),
        ] {
            assert_eq!(
                registry_host(reference).as_deref(),
                Some(host),
                "{reference}"
            );
        }
        for not_pulled in [
            "localhost:5001/my-service:dev",
            "127.0.0.1:5001/app",
            "http://example.com:80",
            "8080:80",
            "./k8s:x",
            "Not:AnImage",
            "{{ .Values.image }}",
            "app:",
        ] {
            assert_eq!(registry_host(not_pulled), None, "{not_pulled}");
        }
    }

    #[test]
    fn manifests_and_tiltfiles_are_read_for_images() {
        let yaml = "spec:\n  containers:\n    - name: db\n      image: \"postgres:16-alpine\" # pinned\n    - image: '{{ .Values.image }}'\n  initContainers:\n  - image: busybox\n";
        assert_eq!(yaml_refs(yaml), ["postgres:16-alpine", "busybox"]);
        let tiltfile = "docker_build('my-app', '.')\nlocal_resource('db', serve_cmd='docker run -p 5432:5432 postgres:16')\n# 'redis:7' is commented out\nk8s_resource('app', port_forwards='8080:80')\n";
        let hosts: Vec<Option<String>> = tiltfile_refs(tiltfile)
            .iter()
            .map(|r| registry_host(r))
            .collect();
        assert_eq!(
            hosts,
            [None, Some("docker.io".to_string()), None],
            "{:?}",
            tiltfile_refs(tiltfile)
        );
    }
}
