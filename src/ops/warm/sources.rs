//! Where `cache warm` finds image references: Kubernetes manifests (YAML or JSON, read by
//! [`crate::ops::image_refs`], the reader `brrt init` uses too), and plain lists with one
//! reference per line. A folder is read for its `.yaml`, `.yml` and `.json` files, recursively.
//!
//! References are collected as written; [`super::ImageRef`] checks them, so that one bad
//! reference fails only that image.

pub use crate::ops::image_refs::FoundRef;
use crate::ops::image_refs::{self, manifest_format};
use crate::ops::{Error, Result};
use std::path::{Path, PathBuf};

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
            if manifest_format(path).is_some() {
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
            } else if manifest_format(&path).is_some() {
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
    image_refs::read_manifest_file(path, shown).map_err(|e| e.into_error(shown))
}

#[cfg(test)]
mod tests {
    use super::*;

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
