//! What a cache already holds, told for a whole list of images at the cost of about one read of
//! its storage, so that `cache warm` run again over cached images takes a moment.
//!
//! Two reads per cache, whatever the number of images: every link of its repositories (which
//! tag points where, which manifests and blobs each repository holds), and brrt's record of the
//! manifests it has read from this cache before (`brrt-manifests.json` in its volume). A
//! manifest is named by the digest of its bytes, so a recorded one can never be out of date;
//! whether the cache still holds it (a TTL expired, a cache cleared) is always read from the
//! links. A manifest missing from the record is read from the storage once and recorded.
//! Nothing here sends a request to the cache: its upstream is not asked, no counter moves, and
//! it works while the upstream is down.

use super::ImageRef;
use crate::ops::digest::sha256_hex;
use crate::ops::registry::manifest::{Manifest, Platform};
use crate::ops::registry::storage::{Links, Storage};
use crate::ops::{Error, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

/// brrt's record of the manifests it read from a cache, in the cache's volume.
const MANIFEST_RECORD: &str = "brrt-manifests.json";

/// What one cache holds, read once per warm run.
pub struct Holdings {
    storage: Storage,
    links: tokio::sync::OnceCell<Links>,
    /// Manifest digest → its bytes, each checked against its digest.
    manifests: Mutex<BTreeMap<String, Vec<u8>>>,
    /// Digests recorded during this run.
    added: Mutex<BTreeSet<String>>,
    /// The record has entries the volume's copy lacks.
    changed: AtomicBool,
}

/// Whether `bytes` are what `digest` names (only sha256 digests are recorded).
fn matches(digest: &str, bytes: &[u8]) -> bool {
    digest.strip_prefix("sha256:") == Some(sha256_hex(bytes).as_str())
}

impl Holdings {
    /// Reads brrt's manifest record from the cache's volume (an unreadable one is empty).
    pub async fn load(storage: &Storage) -> Holdings {
        let record = storage
            .read_own(MANIFEST_RECORD)
            .await
            .ok()
            .flatten()
            .and_then(|bytes| serde_json::from_slice::<BTreeMap<String, String>>(&bytes).ok())
            .unwrap_or_default();
        let manifests = record
            .into_iter()
            .map(|(digest, text)| (digest, text.into_bytes()))
            .filter(|(digest, bytes)| matches(digest, bytes))
            .collect();
        Holdings {
            storage: storage.clone(),
            links: tokio::sync::OnceCell::new(),
            manifests: Mutex::new(manifests),
            added: Mutex::new(BTreeSet::new()),
            changed: AtomicBool::new(false),
        }
    }

    fn record(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Vec<u8>>> {
        self.manifests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Notes a manifest read from the cache (through its API), so that the next run need not
    /// read it from the storage.
    pub fn remember(&self, digest: &str, bytes: &[u8]) {
        if matches(digest, bytes)
            && self
                .record()
                .insert(digest.to_string(), bytes.to_vec())
                .is_none()
        {
            self.added
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(digest.to_string());
            self.changed.store(true, Ordering::Relaxed);
        }
    }

    /// The bytes of `image` when the cache holds all of it for `platform`: its manifest (and
    /// the platform's manifest, for an index) and every blob.
    pub async fn held(&self, image: &ImageRef, platform: &Platform) -> Result<Option<u64>> {
        let links = self.links.get_or_try_init(|| self.storage.links()).await?;
        let repo = &image.repo;
        let digest = match &image.digest {
            Some(d) => d.clone(),
            None => match links.tag(repo, image.tag.as_deref().unwrap_or("latest")) {
                Some(d) => d.to_string(),
                None => return Ok(None),
            },
        };
        let Some(mut manifest) = self.manifest(links, repo, &digest).await? else {
            return Ok(None);
        };
        if let Manifest::Index(_) = manifest {
            let Some(entry) = manifest.for_platform(platform) else {
                return Ok(None);
            };
            match self.manifest(links, repo, &entry.digest).await? {
                Some(m @ Manifest::Image { .. }) => manifest = m,
                _ => return Ok(None),
            }
        }
        let blobs = manifest.blobs();
        if !blobs.iter().all(|b| links.has_blob(repo, &b.digest)) {
            return Ok(None);
        }
        Ok(Some(
            blobs
                .iter()
                .map(|b| u64::try_from(b.size).unwrap_or(0))
                .sum(),
        ))
    }

    /// Manifest `digest` of `repo`, parsed, when the repository holds it: from the record, else
    /// from the storage (and then recorded).
    async fn manifest(&self, links: &Links, repo: &str, digest: &str) -> Result<Option<Manifest>> {
        if !links.has_manifest(repo, digest) {
            return Ok(None);
        }
        let known = self.record().get(digest).cloned();
        let bytes = match known {
            Some(b) => b,
            None => match self.storage.blob(digest).await? {
                Some(b) => {
                    self.remember(digest, &b);
                    b
                }
                None => return Ok(None),
            },
        };
        Ok(Manifest::parse(&bytes).ok())
    }

    /// Writes the record back when this run added to it, keeping only manifests the cache still
    /// holds (and those it fetched during the run).
    pub async fn save(&self) -> Result<()> {
        if !self.changed.load(Ordering::Relaxed) {
            return Ok(());
        }
        let held = self.links.get().map(Links::manifest_digests);
        let added = self
            .added
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let kept: BTreeMap<String, String> = self
            .record()
            .iter()
            .filter(|(d, _)| {
                added.contains(*d) || held.as_ref().is_none_or(|h| h.contains(d.as_str()))
            })
            .map(|(d, b)| (d.clone(), String::from_utf8_lossy(b).into_owned()))
            .collect();
        let text = serde_json::to_vec(&kept).map_err(|e| Error::Other(e.to_string()))?;
        self.storage.write_own(MANIFEST_RECORD, &text).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bytes_that_match_their_digest_are_recorded() {
        let bytes = br#"{"schemaVersion":2}"#;
        let digest = format!("sha256:{}", sha256_hex(bytes));
        assert!(matches(&digest, bytes));
        assert!(!matches(&digest, b"{}"));
        assert!(!matches("sha512:00", bytes));
    }
}
