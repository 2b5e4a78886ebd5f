//! One image into its cache: read the cache's storage to see what it holds, and have it fetch
//! the rest from its upstream through its registry API. How depends on the cache's release:
//!
//! - distribution v3 (`registry:3`, and a cache whose release cannot be told) writes a blob it
//!   lacks into its storage from the same upstream fetch that streams it to the client, and
//!   drops the write if the client hangs up. So each blob is read to its end and thrown away:
//!   one upstream fetch. A read that ends early, or stalls, is an error at once.
//! - distribution 2.8 (`registry:2`) fetches a blob it lacks twice when a client reads it: once
//!   into its storage, in a task of its own, and once to the client. Only the storage copy is
//!   wanted, so each blob is asked for, the answer's headers are read, and the connection is
//!   closed; the cache goes on storing the blob, and the blob's link appearing in the storage
//!   says it arrived. The cache's log tells when a fetch into the storage failed.
//!
//! - this file: the link to one cache, and the fetches
//! - [`errors`]: a failed request in a user's words
//! - [`cache_log`]: the cache's log, followed while a warm runs

mod cache_log;
mod errors;

use cache_log::{lock, watch_log, Heard};

use super::held::Holdings;
use super::reference::ImageRef;
use super::report::Progress;
use crate::ops::registry::activity::short_digest;
use crate::ops::registry::manifest::{BlobRef, Manifest, Platform};
use crate::ops::registry::storage::Storage;
use crate::ops::registry::{self, Distribution, RegistryApi, MODE_LABEL};
use crate::ops::{docker, human_bytes};
use bollard::Docker;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often a blob's arrival in the storage is checked.
const POLL: Duration = Duration::from_millis(250);
/// How long the end of a run waits for the cache's log to tell how its last requests ended.
const SETTLE: Duration = Duration::from_secs(3);
/// The slowest upstream a blob fetch is waited for (plus [`MIN_WAIT`]) before it is given up.
const SLOWEST: u64 = 64 * 1024;
const MIN_WAIT: Duration = Duration::from_secs(600);
/// How long a v3 cache is given, once a blob is read to its end, to link it into the storage.
const STORE_WAIT: Duration = Duration::from_secs(10);
/// How often a blob is read through a v3 cache before brrt gives up on it being stored: a read
/// that meets another client's fetch of the same blob is served straight from the upstream
/// and stored by neither.
const STREAM_ATTEMPTS: u32 = 3;

/// How an image went into its cache.
pub enum Fetched {
    /// It was there already: its bytes.
    Already(u64),
    /// Fetched now: bytes and blobs fetched (blobs it already had are not counted).
    Now { bytes: u64, blobs: usize },
    /// Not in the cache, and not fetched (`--dry-run`).
    NotYet,
}

/// A running cache, ready to warm images into.
pub struct CacheLink {
    upstream: String,
    container: String,
    api: RegistryApi,
    storage: Storage,
    /// What the cache holds already, from one read of its storage.
    holdings: Holdings,
    /// Read each blob to its end (v3), rather than hang up and wait for the storage copy (2.x).
    stream: bool,
    /// Why the cache cannot fetch anything new, when it serves offline.
    offline: Option<String>,
    /// One fetch per digest at a time: distribution stores a blob that is being fetched for one
    /// repository only there, so a second repository asks again once the first has it.
    fetching: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// What the cache's log says: blobs it could not store, and whether it streamed the blobs
    /// this run asked for to this run.
    heard: Arc<Mutex<Heard>>,
    /// `repo@digest` of every blob this run fetched.
    warmed: Mutex<Vec<String>>,
    _watch: Option<AbortOnDrop>,
}

/// Stops the log watch when the warm ends, or is stopped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl CacheLink {
    /// The cache `container` of `upstream`, or why images cannot be warmed into it.
    pub async fn open(d: &Docker, upstream: &str, container: &str) -> Result<CacheLink, String> {
        let state = docker::inspect_container(d, container)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("the cache {container} does not exist; run dev-up"))?;
        let api = registry::api_for(d, container)
            .await
            .map_err(|e| e.to_string())?;
        let offline = match state.labels.get(MODE_LABEL).map(String::as_str) {
            Some("offline") => Some(format!(
                "the cache {container} serves offline (cache.offline = true), so it fetches \
                 nothing new; only images it already holds count as warm"
            )),
            Some("offline-auto") => Some(format!(
                "the upstream {upstream} was unreachable when {container} started, so it serves \
                 what it holds and fetches nothing new; run dev-up once {upstream} is back"
            )),
            _ => None,
        };
        // A cache whose release cannot be told is read as v3 is: that works on 2.x too, at
        // the cost of a second upstream fetch.
        let release: Option<Distribution> =
            registry::distribution(d, container).await.ok().flatten();
        let stream = release.as_ref().is_none_or(|r| !r.stores_after_hang_up());
        let storage = Storage::new(d, container);
        let holdings = Holdings::load(&storage).await;
        let heard = Arc::new(Mutex::new(Heard::default()));
        let watch = if offline.is_none() {
            Some(AbortOnDrop(tokio::spawn(watch_log(
                d.clone(),
                container.to_string(),
                heard.clone(),
            ))))
        } else {
            None
        };
        Ok(CacheLink {
            upstream: upstream.to_string(),
            container: container.to_string(),
            api,
            storage,
            holdings,
            stream,
            offline,
            fetching: Mutex::new(HashMap::new()),
            heard,
            warmed: Mutex::new(Vec::new()),
            _watch: watch,
        })
    }

    pub fn container(&self) -> &str {
        &self.container
    }

    /// Keeps what this run learnt of the cache's manifests for the next run.
    pub async fn save(&self) {
        if let Err(e) = self.holdings.save().await {
            tracing::debug!(
                "could not keep the manifests read from {}: {e}",
                self.container
            );
        }
    }

    /// The blobs this run fetched into the cache (`repo@digest`), and of those the ones the
    /// cache did not also stream to this run (it hung up first). Waits a moment for the cache's
    /// log to tell the last of them.
    pub async fn fetched(&self) -> (Vec<String>, Vec<String>) {
        let warmed = lock(&self.warmed).clone();
        if self.stream {
            // Every blob was read to its end: the cache streamed each to brrt.
            return (warmed, Vec::new());
        }
        let digest = |key: &String| key.rsplit_once('@').map_or(key.clone(), |(_, d)| d.into());
        let deadline = Instant::now() + SETTLE;
        while Instant::now() < deadline
            && warmed
                .iter()
                .any(|k| !lock(&self.heard).streamed.contains_key(&digest(k)))
        {
            tokio::time::sleep(POLL).await;
        }
        let heard = lock(&self.heard);
        let uncopied = warmed
            .iter()
            .filter(|k| heard.streamed.get(&digest(k)) != Some(&true))
            .cloned()
            .collect();
        (warmed, uncopied)
    }

    /// Warms one image; the error says why it could not be, in a user's words.
    pub async fn warm_image(
        &self,
        image: &ImageRef,
        platform: &Platform,
        dry_run: bool,
        id: usize,
        progress: &dyn Progress,
        blob_slots: &tokio::sync::Semaphore,
    ) -> Result<Fetched, String> {
        if let Some(bytes) = self
            .holdings
            .held(image, platform)
            .await
            .map_err(|e| e.to_string())?
        {
            progress.sized(id, bytes, bytes);
            return Ok(Fetched::Already(bytes));
        }
        if let Some(why) = &self.offline {
            return Err(why.clone());
        }
        if dry_run {
            return Ok(Fetched::NotYet);
        }
        let repo = &image.repo;
        let bytes = self.api.manifest_bytes(repo, image.reference()).await;
        let (digest, bytes) = match bytes {
            Ok(found) => found,
            Err(e) => return Err(self.explain(image, e).await),
        };
        self.holdings.remember(&digest, &bytes);
        let mut manifest = Manifest::parse(&bytes).map_err(|e| e.to_string())?;
        if let Manifest::Index(_) = manifest {
            let entry = manifest.for_platform(platform).ok_or_else(|| {
                format!(
                    "the image has no {platform} variant (it has: {}); pass --platform to warm \
                     another",
                    manifest.platforms().join(", ")
                )
            })?;
            let (_, child) = match self.api.manifest_bytes(repo, &entry.digest).await {
                Ok(found) => found,
                Err(e) => return Err(self.explain(image, e).await),
            };
            self.holdings.remember(&entry.digest, &child);
            manifest = Manifest::parse(&child).map_err(|e| e.to_string())?;
            if let Manifest::Index(_) = manifest {
                return Err("the index's image for the platform is an index again".into());
            }
        }
        let blobs = manifest.blobs();
        let mut missing = Vec::new();
        let mut present = 0;
        for blob in &blobs {
            if self.has(repo, blob).await? {
                present += size(blob);
            } else {
                missing.push(blob.clone());
            }
        }
        let total = blobs.iter().map(size).sum();
        progress.sized(id, total, present);
        let fetches = missing.iter().map(|blob| async move {
            let fetched = self
                .fetch_blob(image, blob, blob_slots, &|n| progress.advance(id, n))
                .await?;
            Ok::<_, String>(if fetched { size(blob) } else { 0 })
        });
        let mut bytes = 0;
        let mut first_error = None;
        for outcome in futures_util::future::join_all(fetches).await {
            match outcome {
                Ok(b) => bytes += b,
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        Ok(Fetched::Now {
            bytes,
            blobs: missing.len(),
        })
    }

    async fn has(&self, repo: &str, blob: &BlobRef) -> Result<bool, String> {
        Ok(self
            .storage
            .layer_link(repo, &blob.digest)
            .await
            .map_err(|e| e.to_string())?
            .is_some())
    }

    /// Has the cache fetch one blob into its storage and waits until it is there, telling
    /// `advance` the bytes as they arrive. Returns whether this run fetched it (another fetch
    /// may have brought it meanwhile).
    async fn fetch_blob(
        &self,
        image: &ImageRef,
        blob: &BlobRef,
        blob_slots: &tokio::sync::Semaphore,
        advance: &(dyn Fn(u64) + Sync),
    ) -> Result<bool, String> {
        let repo = &image.repo;
        let one_at_a_time = lock(&self.fetching)
            .entry(blob.digest.clone())
            .or_default()
            .clone();
        let _fetching = one_at_a_time.lock().await;
        if self.has(repo, blob).await? {
            advance(size(blob));
            return Ok(false);
        }
        let _slot = blob_slots
            .acquire()
            .await
            .map_err(|_| "stopped".to_string())?;
        if self.stream {
            return self.stream_blob(image, blob, advance).await;
        }
        let fetched = self.hang_up_and_wait(image, blob).await;
        if fetched.is_ok() {
            advance(size(blob));
        }
        fetched
    }

    /// distribution v3: reads the blob through the cache to its end, which stores it, then
    /// waits (briefly) for its link in the storage.
    async fn stream_blob(
        &self,
        image: &ImageRef,
        blob: &BlobRef,
        advance: &(dyn Fn(u64) + Sync),
    ) -> Result<bool, String> {
        let repo = &image.repo;
        let short = short_digest(&blob.digest);
        for attempt in 1..=STREAM_ATTEMPTS {
            // Progress counts the first read only.
            let read = self
                .api
                .read_blob(repo, &blob.digest, |n| {
                    if attempt == 1 {
                        advance(n);
                    }
                })
                .await;
            match read {
                Ok(n) if blob.size <= 0 || n == size(blob) => {}
                Ok(n) => {
                    return Err(format!(
                        "{} sent {} of blob {short}, which is {}",
                        self.container,
                        human_bytes(n),
                        human_bytes(size(blob))
                    ))
                }
                Err(e) => return Err(self.read_failed(image, blob, e).await),
            }
            // v3 links the blob into the repository just after its last byte went out.
            let deadline = Instant::now() + STORE_WAIT;
            loop {
                if self.has(repo, blob).await? {
                    lock(&self.warmed).push(format!("{repo}@{}", blob.digest));
                    return Ok(true);
                }
                if Instant::now() >= deadline {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Err(format!(
            "{} streamed blob {short} ({}) to brrt {STREAM_ATTEMPTS} times without storing it: \
             another client was fetching it at the same moment (distribution v3 serves such a \
             client straight from the upstream), or its storage failed; see `docker logs {}`",
            self.container,
            human_bytes(size(blob)),
            self.container
        ))
    }

    /// distribution 2.x: asks for the blob, hangs up once the cache answers, and waits for the
    /// cache's own fetch to land in its storage.
    async fn hang_up_and_wait(&self, image: &ImageRef, blob: &BlobRef) -> Result<bool, String> {
        let repo = &image.repo;
        let short = short_digest(&blob.digest);
        lock(&self.heard).failures.remove(&blob.digest);
        if let Err(e) = self.api.start_blob_fetch(repo, &blob.digest).await {
            return Err(self.explain(image, e).await);
        }
        let started = Instant::now();
        let patience =
            MIN_WAIT + Duration::from_secs(u64::try_from(blob.size.max(0)).unwrap_or(0) / SLOWEST);
        loop {
            tokio::time::sleep(POLL).await;
            if self.has(repo, blob).await? {
                lock(&self.warmed).push(format!("{repo}@{}", blob.digest));
                return Ok(true);
            }
            if let Some(why) = lock(&self.heard).failures.get(&blob.digest) {
                return Err(format!(
                    "{} could not store blob {short} ({}) from {}: {why}",
                    self.container,
                    human_bytes(size(blob)),
                    self.upstream
                ));
            }
            if started.elapsed() > patience {
                return Err(format!(
                    "{} did not store blob {short} ({}) within {} s; see `docker logs {}`",
                    self.container,
                    human_bytes(size(blob)),
                    patience.as_secs(),
                    self.container
                ));
            }
        }
    }
}

fn size(blob: &BlobRef) -> u64 {
    u64::try_from(blob.size).unwrap_or(0)
}
