//! The images a repository names, and the registries they come from: what `brrt init` caches;
//! and the files it could not read for them, which it reports.
//!
//! Manifests (`.yaml`, `.yml`, `.json`) are read by [`crate::ops::image_refs`], the reader
//! `cache warm` uses; a Tiltfile names images in strings
//! (`local_resource(serve_cmd='docker run postgres:16')`). A reference is normalised as
//! containerd and Docker do ([`crate::ops::warm::ImageRef`]): with no registry host in front,
//! it is Docker Hub's (`postgres:16` → `docker.io/library/postgres:16`).

use crate::ops::config_file::Format;
use crate::ops::image_refs::{self, manifest_format, Unreadable};
use crate::ops::warm::ImageRef;
use std::io::Read as _;
use std::path::{Path, PathBuf};

/// One image reference found in the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundImage {
    /// As written: `postgres:16-alpine`.
    pub reference: String,
    /// The registry it is pulled from: `docker.io`.
    pub host: String,
    /// The file it was found in, relative to the repository.
    pub file: String,
}

/// A file that may name images but could not be read for them, and why: what follows the
/// file's name in the report (`: too large (…)`, `:7: a template …`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unread {
    pub file: String,
    pub why: String,
}

impl std::fmt::Display for Unread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", self.file, self.why)
    }
}

/// The note that names the files that could not be read, and what that means for brrt.toml.
pub fn unread_note(unread: &[Unread]) -> Option<String> {
    if unread.is_empty() {
        return None;
    }
    let mut note = format!(
        "could not read {} file(s) for the images they name, so brrt.toml's caches are for what \
         the other files name (add the registries of theirs to [cache] upstreams):",
        unread.len()
    );
    for u in unread {
        note.push_str(&format!("\n  {u}"));
    }
    Some(note)
}

/// What the repository's files name.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    pub images: Vec<FoundImage>,
    pub unread: Vec<Unread>,
}

/// Folders never searched: version control, build output, dependencies.
const SKIPPED_DIRS: &[&str] = &["target", "node_modules", "vendor", "dist", "build"];
/// How deep into the repository manifests are looked for.
const MAX_DEPTH: usize = 8;
/// Files larger than this are not manifests a human wrote: reported, not read.
pub const MAX_FILE: u64 = 2 << 20;
/// How much of a larger file is looked at to tell whether it names images at all.
const PEEK: u64 = 1 << 20;

/// Every image reference in the repository's manifests and Tiltfiles, in file order, and the
/// files that may name images but could not be read. A file that does not hold the word
/// `image` (and, for a Tiltfile, `:` or `@`) names none and is not read further: a
/// package.json or a CI file is no manifest, and is not reported.
pub fn scan(root: &Path) -> Scan {
    let mut files = Vec::new();
    collect(root, 0, &mut files);
    files.sort();
    let mut scan = Scan::default();
    for path in files {
        let shown = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .display()
            .to_string();
        let tiltfile = is_tiltfile(&path);
        let refs = match read(&path, tiltfile) {
            Ok(None) => continue,
            Ok(Some(text)) if tiltfile => tiltfile_refs(&text),
            Ok(Some(text)) => {
                let format = manifest_format(&path).unwrap_or(Format::Yaml);
                match image_refs::from_manifests(&text, &shown, format) {
                    Ok(found) => {
                        if let Some(t) = found.iter().find(|f| f.is_templated()) {
                            let line = text
                                .lines()
                                .position(|l| l.contains(t.text.as_str()))
                                .map_or(1, |i| i + 1);
                            scan.unread
                                .push(unread(&shown, Unreadable::Template { line }));
                        }
                        found.into_iter().map(|f| f.text).collect()
                    }
                    Err(e) => {
                        scan.unread.push(unread(&shown, e));
                        continue;
                    }
                }
            }
            Err(e) => {
                scan.unread.push(unread(&shown, e));
                continue;
            }
        };
        for reference in refs {
            if let Some(host) = registry_host(&reference) {
                scan.images.push(FoundImage {
                    reference,
                    host,
                    file: shown.clone(),
                });
            }
        }
    }
    scan
}

fn unread(shown: &str, why: Unreadable) -> Unread {
    Unread {
        file: shown.to_string(),
        why: why.to_string(),
    }
}

/// The text of a file that may name images; `None` when it cannot (see [`scan`]).
fn read(path: &Path, tiltfile: bool) -> Result<Option<String>, Unreadable> {
    let names_images = |text: &str| {
        text.contains("image") || (tiltfile && (text.contains(':') || text.contains('@')))
    };
    let bytes = std::fs::metadata(path).map_err(Unreadable::Io)?.len();
    if bytes > MAX_FILE {
        let mut head = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(PEEK).read_to_end(&mut head))
            .map_err(Unreadable::Io)?;
        return if names_images(&String::from_utf8_lossy(&head)) {
            Err(Unreadable::TooLarge {
                bytes,
                limit: MAX_FILE,
            })
        } else {
            Ok(None)
        };
    }
    let text = std::fs::read_to_string(path).map_err(Unreadable::Io)?;
    Ok(names_images(&text).then_some(text))
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
        } else if kind.is_file() && (manifest_format(&path).is_some() || is_tiltfile(&path)) {
            files.push(path);
        }
    }
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
    let image = ImageRef::parse(reference).ok()?;
    // A port mapping (`8080:80`) reads as a name and a tag; no image is named by a number.
    if image
        .repo
        .strip_prefix("library/")
        .is_some_and(|name| name.chars().all(|c| c.is_ascii_digit()))
    {
        return None;
    }
    if crate::ops::loopback::is_loopback_host(&image.host) {
        return None;
    }
    Some(match image.host.as_str() {
        "registry-1.docker.io" | "registry.hub.docker.com" => "docker.io".to_string(),
        _ => image.host,
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
            (
                "ghcr.io/org/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                "ghcr.io",
            ),
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
            "[::1]:5001/app",
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
    fn tiltfile_strings_that_are_references_are_read() {
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

    /// What the line-by-line reader missed is found (flow style, JSON); what cannot be read is
    /// named with why; what names no image is not read and not reported.
    #[test]
    fn a_repository_is_scanned_and_what_could_not_be_read_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let write = |file: &str, text: &str| {
            let path = dir.path().join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write(
            "k8s/api.yaml",
            "kind: Pod\nmetadata: {name: api}\nspec:\n  containers:\n    - {name: api, image: \"ghcr.io/acme/api:1.2\"}\n",
        );
        write(
            "k8s/db.json",
            r#"{"kind": "Pod", "spec": {"containers": [{"name": "db", "image": "postgres:16"}]}}"#,
        );
        write(
            "chart/templates/web.yaml",
            "kind: Deployment\nmetadata:\n  name: web\n{{- if .Values.on }}\nspec:\n  template:\n    spec:\n      containers:\n        - image: \"{{ .Values.image }}\"\n{{- end }}\n",
        );
        write(
            "k8s/broken.yaml",
            "kind: Pod\nspec:\n  containers: [{image: a\n",
        );
        let big = format!("kind: List\n# image\n{}\n", "#".repeat(MAX_FILE as usize));
        write("k8s/all.yaml", &big);
        write("package.json", "{\"name\": \"shop\", // no JSON\n}");
        write("node_modules/x/pod.yaml", "image: nope:1\n");
        let scan = scan(dir.path());
        let images: Vec<(&str, &str, &str)> = scan
            .images
            .iter()
            .map(|i| (i.reference.as_str(), i.host.as_str(), i.file.as_str()))
            .collect();
        assert_eq!(
            images,
            [
                ("ghcr.io/acme/api:1.2", "ghcr.io", "k8s/api.yaml"),
                ("postgres:16", "docker.io", "k8s/db.json"),
            ]
        );
        let unread: Vec<String> = scan.unread.iter().map(ToString::to_string).collect();
        assert_eq!(unread.len(), 3, "{unread:#?}");
        assert_eq!(
            unread[0],
            "chart/templates/web.yaml:4: a template ({{ … }}), no manifest until it is rendered: \
             its images are not guessed (render it, e.g. with `helm template`, to read them)"
        );
        assert_eq!(
            unread[1],
            "k8s/all.yaml: too large (2.0 MiB; manifests are read up to 2.0 MiB)"
        );
        assert_eq!(
            unread[2],
            "k8s/broken.yaml:4:1: not valid YAML: did not find expected ',' or '}'"
        );
    }
}
