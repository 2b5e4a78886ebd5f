//! Checking a cache's volume against what the old registry held: a throwaway registry serves
//! the volume read-only with no upstream, so nothing missing can be fetched and pass.

use super::copy::{check_cache_volume, check_role};
use super::legacy::legacy;
use super::stored::{held_blobs, stored_index, StoredIndex};
use super::VERIFY_ROLE;
use crate::ops::docker::{self, MANAGED_LABEL};
use crate::ops::registry::cache_spec::CacheSpec;
use crate::ops::registry::container::{labels, volume_name, DATA_DIR};
use crate::ops::{Error, Mode, Result};
use bollard::Docker;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// What the cache's volume served, offline, of what the old registry held.
#[derive(Debug, Clone, Serialize)]
pub struct Served {
    pub images: usize,
    pub manifests: usize,
    pub blobs: usize,
}

/// Checks the volume of the cache `spec` against what the old registry `from` (stopped or not,
/// usually the one put aside) holds in its own storage: every tag with the same digest, every
/// manifest and every blob, served by a throwaway registry that reads the volume read-only and
/// has no upstream, so nothing missing can be fetched and pass. Fails on the first that is
/// missing, naming it.
pub async fn verify(d: &Docker, from: &str, spec: &CacheSpec) -> Result<Served> {
    let old = legacy(d, from).await?;
    verify_storage(d, from, &old.data.path, spec).await
}

/// Checks the volume of the cache `spec` against the storage at `path` in the container
/// `from` (stopped or not), as [`verify`] does.
pub(in crate::ops::registry) async fn verify_storage(
    d: &Docker,
    from: &str,
    path: &str,
    spec: &CacheSpec,
) -> Result<Served> {
    let index = stored_index(d, from, path).await?;
    let held = held_blobs(d, from, path, &index).await?;
    let cache = spec.name();
    let volume = volume_name(&cache);
    if docker::inspect_volume(d, &volume).await?.is_none() {
        return Err(Error::Other(format!(
            "{cache} has no volume {volume}: nothing of {from} was carried over"
        )));
    }
    check_cache_volume(d, &volume).await?;
    let checker = format!("{cache}-{VERIFY_ROLE}");
    check_role(d, &checker, VERIFY_ROLE).await?;
    docker::remove_keeping_volumes(d, &checker).await?;
    let mut checker_labels = labels(VERIFY_ROLE, Some(&spec.set), None);
    checker_labels.insert(MANAGED_LABEL.into(), "true".into());
    let container = docker::ContainerSpec {
        name: checker.clone(),
        image: spec.image.clone(),
        ports: vec!["127.0.0.1::5000".into()],
        mounts: vec![format!("{volume}:{DATA_DIR}:ro")],
        restart: Some("no".into()),
        labels: checker_labels,
        ..Default::default()
    };
    let ready = docker::Ready::Http {
        container_port: "5000/tcp",
        path: "/v2/",
        within: Duration::from_secs(15),
    };
    docker::ensure_container_ready(d, &container, Mode::default(), &ready).await?;
    let checked = check_served(d, &checker, &cache, &index, &held).await;
    let _ = docker::remove_container(d, &checker, Mode::default()).await;
    checked
}

async fn check_served(
    d: &Docker,
    checker: &str,
    cache: &str,
    index: &StoredIndex,
    held: &BTreeMap<String, u64>,
) -> Result<Served> {
    let api = crate::ops::registry::api_for(d, checker).await?;
    let missing = |what: String| {
        Error::Other(format!(
            "{cache}'s volume does not hold {what}, which the old registry holds"
        ))
    };
    let mut served = Served {
        images: 0,
        manifests: 0,
        blobs: 0,
    };
    for t in &index.tags {
        let found = api.manifest(&t.repo, &t.tag).await.ok();
        if found.as_ref().map(|m| m.digest.as_str()) != Some(t.digest.as_str()) {
            return Err(missing(format!("{}:{} ({})", t.repo, t.tag, t.digest)));
        }
        served.images += 1;
    }
    let mut manifests = BTreeSet::new();
    for (repo, digests) in &index.revisions {
        for digest in digests.iter().filter(|d| held.contains_key(*d)) {
            if api.manifest_json(repo, digest).await.is_err() {
                return Err(missing(format!("the manifest {repo}@{digest}")));
            }
            manifests.insert(digest);
        }
    }
    served.manifests = manifests.len();
    let mut blobs = BTreeSet::new();
    for (repo, digests) in &index.layers {
        for digest in digests.iter().filter(|d| held.contains_key(*d)) {
            if !api.blob_exists(repo, digest).await? {
                return Err(missing(format!("the blob {digest} of {repo}")));
            }
            blobs.insert(digest);
        }
    }
    served.blobs = blobs.len();
    Ok(served)
}
