//! What a registry's storage holds (tags, manifests, blobs), read from its link files through
//! the engine's archive API, so the registry need not run and is never asked.

use crate::ops::docker::{self};
use crate::ops::Result;
use bollard::Docker;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One tag a registry's storage holds.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StoredTag {
    pub repo: String,
    pub tag: String,
    pub digest: String,
}

/// What a registry's storage holds, as its link files say: per repository the tags, the
/// manifests (revisions) and the blobs (layers and configs).
#[derive(Debug, Default)]
pub(super) struct StoredIndex {
    pub(super) tags: Vec<StoredTag>,
    pub(super) revisions: BTreeMap<String, BTreeSet<String>>,
    pub(super) layers: BTreeMap<String, BTreeSet<String>>,
}

impl StoredIndex {
    /// Every blob digest the links name, manifests included.
    fn digests(&self) -> BTreeSet<&str> {
        self.revisions
            .values()
            .chain(self.layers.values())
            .flatten()
            .map(String::as_str)
            .collect()
    }
}

/// Reads a registry's index through the archive API (no process runs in the container; a
/// stopped one works too).
pub(super) async fn stored_index(d: &Docker, container: &str, data: &str) -> Result<StoredIndex> {
    let root = format!(
        "{}/docker/registry/v2/repositories",
        data.trim_end_matches('/')
    );
    let files = docker::read_dir_files(d, container, &root).await?;
    let mut index = StoredIndex::default();
    let digest_of = |rest: &str| {
        rest.strip_prefix("sha256/")
            .and_then(|r| r.strip_suffix("/link"))
            .map(|hex| format!("sha256:{hex}"))
    };
    for (path, link) in &files {
        if let Some((repo, rest)) = path.split_once("/_manifests/tags/") {
            if let Some(tag) = rest.strip_suffix("/current/link") {
                index.tags.push(StoredTag {
                    repo: repo.to_string(),
                    tag: tag.to_string(),
                    digest: link.trim().to_string(),
                });
            }
        } else if let Some((repo, rest)) = path.split_once("/_manifests/revisions/") {
            if let Some(digest) = digest_of(rest) {
                index
                    .revisions
                    .entry(repo.to_string())
                    .or_default()
                    .insert(digest);
            }
        } else if let Some((repo, rest)) = path.split_once("/_layers/") {
            if let Some(digest) = digest_of(rest) {
                index
                    .layers
                    .entry(repo.to_string())
                    .or_default()
                    .insert(digest);
            }
        }
    }
    index.tags.sort();
    Ok(index)
}

/// The blobs of `index` whose data a registry's storage holds, with their sizes: one stat each
/// through the archive API. A link whose blob is missing is left out (the registry itself
/// cannot serve it).
pub(super) async fn held_blobs(
    d: &Docker,
    container: &str,
    data: &str,
    index: &StoredIndex,
) -> Result<BTreeMap<String, u64>> {
    let mut held = BTreeMap::new();
    for digest in index.digests() {
        let Some(hex) = digest.strip_prefix("sha256:").filter(|h| h.len() > 2) else {
            continue;
        };
        let path = format!(
            "{}/docker/registry/v2/blobs/sha256/{}/{hex}/data",
            data.trim_end_matches('/'),
            &hex[..2]
        );
        if let Some(stat) = docker::stat_path(d, container, &path).await? {
            held.insert(
                digest.to_string(),
                u64::try_from(stat.size).unwrap_or_default(),
            );
        }
    }
    Ok(held)
}
