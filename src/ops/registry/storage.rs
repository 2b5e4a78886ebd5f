//! A registry's storage, read through the engine as distribution lays it out on disk: tags,
//! manifest revisions, blobs linked into a repository, and a cache's record of what it fetched.
//!
//! Nothing here makes a request to the registry itself. That matters for a cache: a `HEAD` or
//! `GET` on a blob it lacks makes it fetch the blob from its upstream (distribution 2.8 does so
//! even for `HEAD`), and every request it answers moves its counters. Reading the volume tells
//! what it holds without either.

use super::container::DATA_DIR;
use crate::ops::docker::{self, PathStat};
use crate::ops::{Error, Result};
use bollard::Docker;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

/// Where distribution keeps repositories and blobs under its root directory.
const V2: &str = "docker/registry/v2";
/// The cache's TTL record: every blob and manifest it fetched from its upstream, with when it
/// expires. distribution writes it every 5 seconds, and keeps it across restarts.
const SCHEDULER_STATE: &str = "scheduler-state.json";

/// Every link of a registry's repositories at one moment, read in one go: which tags point
/// where, and which manifests and blobs each repository holds. What `cache warm` checks a
/// whole list of images against without a read per image.
#[derive(Debug, Clone, Default)]
pub struct Links {
    /// (repo, tag) → the manifest digest the tag points to.
    tags: BTreeMap<(String, String), String>,
    /// (repo, digest) of every manifest revision a repository holds.
    manifests: BTreeSet<(String, String)>,
    /// (repo, digest) of every blob linked into a repository.
    layers: BTreeSet<(String, String)>,
}

impl Links {
    /// The links in the files of a `repositories` folder (path relative to it → content).
    fn from_files(files: &BTreeMap<String, Vec<u8>>) -> Links {
        let mut links = Links::default();
        for (path, content) in files {
            let Some(stem) = path.strip_suffix("/link") else {
                continue;
            };
            let text = String::from_utf8_lossy(content).trim().to_string();
            let key = |repo: &str, rest: &str| {
                let (algo, hex) = rest.split_once('/')?;
                let digest = format!("{algo}:{hex}");
                digest_parts(&digest).ok()?;
                Some((repo.to_string(), digest))
            };
            if let Some((repo, rest)) = stem.split_once("/_layers/") {
                links.layers.extend(key(repo, rest));
            } else if let Some((repo, rest)) = stem.split_once("/_manifests/revisions/") {
                links.manifests.extend(key(repo, rest));
            } else if let Some((repo, rest)) = stem.split_once("/_manifests/tags/") {
                if let Some(tag) = rest.strip_suffix("/current") {
                    if digest_parts(&text).is_ok() {
                        links.tags.insert((repo.to_string(), tag.to_string()), text);
                    }
                }
            }
        }
        links
    }

    /// The digest `repo:tag` points to.
    pub fn tag(&self, repo: &str, tag: &str) -> Option<&str> {
        self.tags
            .get(&(repo.to_string(), tag.to_string()))
            .map(String::as_str)
    }

    /// Whether `repo` holds manifest `digest`.
    pub fn has_manifest(&self, repo: &str, digest: &str) -> bool {
        self.manifests
            .contains(&(repo.to_string(), digest.to_string()))
    }

    /// Whether blob `digest` is linked into `repo`.
    pub fn has_blob(&self, repo: &str, digest: &str) -> bool {
        self.layers
            .contains(&(repo.to_string(), digest.to_string()))
    }

    /// Every manifest digest some repository holds.
    pub fn manifest_digests(&self) -> BTreeSet<&str> {
        self.manifests.iter().map(|(_, d)| d.as_str()).collect()
    }
}

/// One registry container's storage.
#[derive(Clone)]
pub struct Storage {
    docker: Docker,
    container: String,
}

/// An entry of a cache's TTL record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedEntry {
    pub repo: String,
    pub digest: String,
    /// A blob (else a manifest).
    pub blob: bool,
    /// When it expires, in nanoseconds since the epoch.
    pub expires: i128,
}

#[derive(Deserialize)]
struct RawEntry {
    #[serde(rename = "Key")]
    key: String,
    #[serde(rename = "ExpiryData")]
    expiry: String,
    #[serde(rename = "EntryType")]
    entry_type: i64,
}

/// `sha256:<hex>` as the two path parts distribution stores it under, after checking that it is
/// a digest (it comes from manifests, so from the network: it must not walk the file system).
fn digest_parts(digest: &str) -> Result<(&str, &str)> {
    let bad = || Error::InvalidSpec(format!("`{digest}` is not a digest (algorithm:hex)"));
    let (algo, hex) = digest.split_once(':').ok_or_else(bad)?;
    let algo_ok = !algo.is_empty() && algo.chars().all(|c| c.is_ascii_alphanumeric());
    let hex_ok = hex.len() >= 32 && hex.chars().all(|c| c.is_ascii_hexdigit());
    if algo_ok && hex_ok {
        Ok((algo, hex))
    } else {
        Err(bad())
    }
}

/// A repository path as image references name it (`library/redis`): lowercase components, no
/// `.`/`..` parts, so it stays inside the storage.
fn checked_repo(repo: &str) -> Result<&str> {
    let ok = !repo.is_empty()
        && repo.split('/').all(|part| {
            !part.is_empty()
                && part != "."
                && part != ".."
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
        });
    if ok {
        Ok(repo)
    } else {
        Err(Error::InvalidSpec(format!(
            "`{repo}` is not a repository name"
        )))
    }
}

impl Storage {
    pub fn new(docker: &Docker, container: &str) -> Self {
        Storage {
            docker: docker.clone(),
            container: container.to_string(),
        }
    }

    pub fn container(&self) -> &str {
        &self.container
    }

    fn repo_path(&self, repo: &str) -> Result<String> {
        Ok(format!(
            "{DATA_DIR}/{V2}/repositories/{}",
            checked_repo(repo)?
        ))
    }

    /// The digest a tag points to in this registry, if it holds the tag.
    pub async fn tag_digest(&self, repo: &str, tag: &str) -> Result<Option<String>> {
        if tag.contains('/') || tag.starts_with('.') {
            return Ok(None);
        }
        let path = format!(
            "{}/_manifests/tags/{tag}/current/link",
            self.repo_path(repo)?
        );
        let link = docker::read_file(&self.docker, &self.container, &path).await?;
        Ok(link
            .map(|l| String::from_utf8_lossy(&l).trim().to_string())
            .filter(|d| digest_parts(d).is_ok()))
    }

    /// The manifest `digest` of `repo`, if the registry holds it for that repository.
    pub async fn manifest(&self, repo: &str, digest: &str) -> Result<Option<Vec<u8>>> {
        let (algo, hex) = digest_parts(digest)?;
        let link = format!(
            "{}/_manifests/revisions/{algo}/{hex}/link",
            self.repo_path(repo)?
        );
        if docker::stat_path(&self.docker, &self.container, &link)
            .await?
            .is_none()
        {
            return Ok(None);
        }
        self.blob(digest).await
    }

    /// The content of a blob, wherever it is linked.
    pub async fn blob(&self, digest: &str) -> Result<Option<Vec<u8>>> {
        docker::read_file(&self.docker, &self.container, &self.blob_path(digest)?).await
    }

    fn blob_path(&self, digest: &str) -> Result<String> {
        let (algo, hex) = digest_parts(digest)?;
        let two = hex.get(..2).unwrap_or(hex);
        Ok(format!("{DATA_DIR}/{V2}/blobs/{algo}/{two}/{hex}/data"))
    }

    /// The size of a stored blob.
    pub async fn blob_size(&self, digest: &str) -> Result<Option<i64>> {
        Ok(
            docker::stat_path(&self.docker, &self.container, &self.blob_path(digest)?)
                .await?
                .map(|s| s.size),
        )
    }

    /// The link that makes a blob part of `repo`, which the registry needs to serve it there;
    /// its modification time is when the blob arrived. `None` when `repo` lacks it.
    pub async fn layer_link(&self, repo: &str, digest: &str) -> Result<Option<PathStat>> {
        let (algo, hex) = digest_parts(digest)?;
        let path = format!("{}/_layers/{algo}/{hex}/link", self.repo_path(repo)?);
        docker::stat_path(&self.docker, &self.container, &path).await
    }

    /// The link of a manifest revision of `repo`; its modification time is when it arrived.
    pub async fn manifest_link(&self, repo: &str, digest: &str) -> Result<Option<PathStat>> {
        let (algo, hex) = digest_parts(digest)?;
        let path = format!(
            "{}/_manifests/revisions/{algo}/{hex}/link",
            self.repo_path(repo)?
        );
        docker::stat_path(&self.docker, &self.container, &path).await
    }

    /// Every link of every repository, in one read of the storage (see [`Links`]). Uploads in
    /// progress are passed over.
    pub async fn links(&self) -> Result<Links> {
        let dir = format!("{DATA_DIR}/{V2}/repositories");
        let files = docker::read_small_files(
            &self.docker,
            &self.container,
            &dir,
            |path| path.ends_with("/link") && !path.contains("/_uploads/"),
            // A link holds a digest.
            512,
        )
        .await?;
        Ok(Links::from_files(&files))
    }

    /// The cache's TTL record: what it fetched from its upstream. Empty for a registry that is
    /// not a cache, or one that has fetched nothing yet.
    pub async fn fetched(&self) -> Result<Vec<FetchedEntry>> {
        let path = format!("{DATA_DIR}/{SCHEDULER_STATE}");
        let Some(bytes) = docker::read_file(&self.docker, &self.container, &path).await? else {
            return Ok(Vec::new());
        };
        Ok(parse_fetched(&bytes))
    }

    /// A small file of brrt's own in the registry's volume (beside distribution's data, which
    /// it never looks at), so it lives and goes with the cache.
    pub async fn read_own(&self, name: &str) -> Result<Option<Vec<u8>>> {
        docker::read_file(&self.docker, &self.container, &format!("{DATA_DIR}/{name}")).await
    }

    pub async fn write_own(&self, name: &str, content: &[u8]) -> Result<()> {
        docker::put_file(
            &self.docker,
            &self.container,
            &format!("{DATA_DIR}/{name}"),
            content,
        )
        .await
    }
}

/// The entries of a `scheduler-state.json`; unreadable entries are skipped.
fn parse_fetched(bytes: &[u8]) -> Vec<FetchedEntry> {
    let Ok(raw) = serde_json::from_slice::<BTreeMap<String, RawEntry>>(bytes) else {
        return Vec::new();
    };
    raw.into_values()
        .filter_map(|e| {
            let (repo, digest) = e.key.rsplit_once('@')?;
            Some(FetchedEntry {
                repo: repo.to_string(),
                digest: digest.to_string(),
                blob: e.entry_type == 0,
                expires: crate::ops::timestamp::unix_nanos(&e.expiry)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_and_repos_stay_inside_the_storage() {
        let hex = "ec05c98f076bd19b0d85a2f9d022dde83224a7652750d69a157d388eb501df16";
        assert_eq!(
            digest_parts(&format!("sha256:{hex}")).unwrap(),
            ("sha256", hex)
        );
        for bad in [
            "sha256:../../etc",
            "sha256:abc",
            "../x:0123456789abcdef0123456789abcdef",
            "nohex",
        ] {
            assert!(digest_parts(bad).is_err(), "{bad}");
        }
        assert!(checked_repo("library/redis").is_ok());
        for bad in ["../x", "a//b", "Library/x", "a/./b", ""] {
            assert!(checked_repo(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn links_are_read_from_the_repositories_tree() {
        let hex = "ec05c98f076bd19b0d85a2f9d022dde83224a7652750d69a157d388eb501df16";
        let digest = format!("sha256:{hex}");
        let files = BTreeMap::from([
            (
                "library/hello/_manifests/tags/1/current/link".to_string(),
                digest.clone().into_bytes(),
            ),
            (
                "library/hello/_manifests/tags/1/index/sha256/{hex}/link".to_string(),
                digest.clone().into_bytes(),
            ),
            (
                format!("library/hello/_manifests/revisions/sha256/{hex}/link"),
                digest.clone().into_bytes(),
            ),
            (
                format!("team/a/b/_layers/sha256/{hex}/link"),
                digest.clone().into_bytes(),
            ),
            (
                "library/hello/_manifests/tags/2/current/link".into(),
                b"junk".to_vec(),
            ),
        ]);
        let links = Links::from_files(&files);
        assert_eq!(links.tag("library/hello", "1"), Some(digest.as_str()));
        assert_eq!(links.tag("library/hello", "2"), None);
        assert!(links.has_manifest("library/hello", &digest));
        assert!(links.has_blob("team/a/b", &digest) && !links.has_blob("library/hello", &digest));
    }

    #[test]
    fn the_ttl_record_lists_blobs_and_manifests() {
        let text = br#"{
          "library/big@sha256:146b02202fe60ab359ec90b70a7e8a84412d9fae7a2211f609ab4abd27fc80b7": {
            "Key": "library/big@sha256:146b02202fe60ab359ec90b70a7e8a84412d9fae7a2211f609ab4abd27fc80b7",
            "ExpiryData": "2026-12-06T19:47:57.37676939Z", "EntryType": 0 },
          "library/big@sha256:de6cb2689506dd27d767abb6b988c4428297d55467c8c9470c7ccf329b87068e": {
            "Key": "library/big@sha256:de6cb2689506dd27d767abb6b988c4428297d55467c8c9470c7ccf329b87068e",
            "ExpiryData": "2026-12-06T19:47:48.088684339Z", "EntryType": 1 }
        }"#;
        let entries = parse_fetched(text);
        assert_eq!(entries.len(), 2);
        assert!(entries[0].blob && !entries[1].blob);
        assert_eq!(entries[0].repo, "library/big");
        assert!(entries[0].digest.starts_with("sha256:146b"));
        assert!(parse_fetched(b"not json").is_empty());
    }
}
