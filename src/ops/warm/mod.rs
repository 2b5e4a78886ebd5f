//! `cache warm`: pulls images into the caches before a cluster needs them, so that the first
//! pull of every image is no longer cold, on the critical path of a cluster start.
//!
//! - [`reference`]: image references, normalised as containerd reads them
//! - [`sources`]: references from Kubernetes manifests and plain lists
//! - [`held`]: what a cache holds already, for a whole list of images from one read
//! - [`fetch`]: one image into its cache, through the cache's registry API
//! - [`report`]: how each image went, as it goes and at the end
//!
//! Each reference goes to the cache of its upstream. An image already in the cache is told by
//! reading the cache's storage (no request to the cache, so no upstream is asked and no counter
//! moves; one read per cache, however many images); one that is not is fetched through the
//! cache, which stores it. Images are warmed in
//! parallel, with a bound on images and one on blob fetches. One image's failure (a bad
//! reference, an unreachable upstream) fails that image only.

mod fetch;
mod held;
pub mod reference;
pub mod report;
pub mod sources;

pub use reference::ImageRef;
pub use report::{ImageResult, Progress, Quiet, Status, WarmSummary};
pub use sources::{collect, FoundRef};

use crate::ops::registry::manifest::Platform;
use crate::ops::registry::warm_record::WarmRecord;
use crate::ops::Result;
use bollard::Docker;
use fetch::CacheLink;
use futures_util::StreamExt;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

/// What to warm, and where images go.
#[derive(Debug, Clone)]
pub struct WarmPlan {
    pub refs: Vec<FoundRef>,
    /// The running cache container of each upstream host.
    pub caches: BTreeMap<String, String>,
    /// Upstreams served by a team cache (`[cache.shared]`), with its endpoint: not warmed here.
    pub shared: BTreeMap<String, String>,
    /// The nodes' platform: an index is resolved to its image for this one.
    pub platform: Platform,
    /// How many images are warmed at once.
    pub jobs: usize,
    /// How many blobs are fetched at once, over all images.
    pub blob_jobs: usize,
    /// Only look: say what would be fetched, fetch nothing.
    pub dry_run: bool,
}

/// A reference to warm, or why it cannot be.
enum Item {
    Image { image: ImageRef, source: String },
    Bad(ImageResult),
}

/// The references, parsed and deduplicated (the first place an image is named is kept).
fn items(refs: &[FoundRef]) -> Vec<Item> {
    let mut seen = BTreeSet::new();
    let mut items = Vec::new();
    for found in refs {
        match ImageRef::parse(&found.text) {
            Ok(image) => {
                if seen.insert(image.to_string()) {
                    items.push(Item::Image {
                        image,
                        source: found.source.clone(),
                    });
                }
            }
            Err(why) => {
                if seen.insert(found.text.clone()) {
                    items.push(Item::Bad(ImageResult {
                        image: found.text.clone(),
                        source: found.source.clone(),
                        upstream: String::new(),
                        status: Status::Failed,
                        bytes: 0,
                        detail: format!("`{}` is not an image reference: {why}", found.text),
                    }));
                }
            }
        }
    }
    items
}

/// Warms every image of the plan and says how each went. Only a failure to reach the engine is
/// an error; everything about one image is in its result.
pub async fn warm(d: &Docker, plan: &WarmPlan, progress: &dyn Progress) -> Result<WarmSummary> {
    let started = Instant::now();
    let items = items(&plan.refs);
    let wanted: BTreeSet<&str> = items
        .iter()
        .filter_map(|i| match i {
            Item::Image { image, .. } => Some(image.host.as_str()),
            Item::Bad(_) => None,
        })
        .filter(|h| plan.caches.contains_key(*h))
        .collect();
    let mut links = BTreeMap::new();
    for host in wanted {
        let container = &plan.caches[host];
        links.insert(host.to_string(), CacheLink::open(d, host, container).await);
    }
    let blob_slots = Arc::new(tokio::sync::Semaphore::new(plan.blob_jobs.max(1)));
    let results: Vec<ImageResult> = futures_util::stream::iter(items.into_iter().enumerate())
        .map(|(id, item)| {
            let links = &links;
            let blob_slots = blob_slots.clone();
            async move {
                let result = match item {
                    Item::Bad(result) => {
                        progress.begin(id, &result.image);
                        result
                    }
                    Item::Image { image, source } => {
                        progress.begin(id, &image.to_string());
                        warm_one(plan, links, &image, source, id, progress, &blob_slots).await
                    }
                };
                progress.end(id, &result);
                (id, result)
            }
        })
        .buffer_unordered(plan.jobs.max(1))
        .collect::<BTreeMap<usize, ImageResult>>()
        .await
        .into_values()
        .collect();
    for (host, link) in &links {
        if let Ok(link) = link {
            if !plan.dry_run {
                link.save().await;
            }
            let (fetched, uncopied) = link.fetched().await;
            if let Err(e) = WarmRecord::add(d, &plan.caches[host], &fetched, &uncopied).await {
                tracing::warn!(
                    "could not note what was warmed into {}: {e}",
                    plan.caches[host]
                );
            }
        }
    }
    let count = |s: Status| results.iter().filter(|r| r.status == s).count();
    Ok(WarmSummary {
        images: results.len(),
        warmed: count(Status::Warmed),
        planned: count(Status::Planned),
        cached: count(Status::Cached),
        skipped: count(Status::Skipped),
        failed: count(Status::Failed),
        bytes: results
            .iter()
            .filter(|r| r.status == Status::Warmed)
            .map(|r| r.bytes)
            .sum(),
        seconds: started.elapsed().as_secs_f64(),
        results,
    })
}

/// One image: its cache, or why it has none here.
async fn warm_one(
    plan: &WarmPlan,
    links: &BTreeMap<String, std::result::Result<CacheLink, String>>,
    image: &ImageRef,
    source: String,
    id: usize,
    progress: &dyn Progress,
    blob_slots: &tokio::sync::Semaphore,
) -> ImageResult {
    let result = |status, bytes, detail: String| ImageResult {
        image: image.to_string(),
        source: source.clone(),
        upstream: image.host.clone(),
        status,
        bytes,
        detail,
    };
    if let Some(endpoint) = plan.shared.get(&image.host) {
        return result(
            Status::Skipped,
            0,
            format!(
                "{} is served by the team cache {endpoint} ([cache.shared]); brrt warms only \
                 its local caches",
                image.host
            ),
        );
    }
    let Some(link) = links.get(&image.host) else {
        let running: Vec<&str> = plan.caches.keys().map(String::as_str).collect();
        return result(
            Status::Skipped,
            0,
            format!(
                "no cache for {} (caches run for: {}); add it to cache.upstreams in brrt.toml \
                 and run dev-up, or nodes pull it straight from {}",
                image.host,
                if running.is_empty() {
                    "none".to_string()
                } else {
                    running.join(", ")
                },
                image.host
            ),
        );
    };
    let link = match link {
        Ok(l) => l,
        Err(why) => return result(Status::Failed, 0, why.clone()),
    };
    match link
        .warm_image(
            image,
            &plan.platform,
            plan.dry_run,
            id,
            progress,
            blob_slots,
        )
        .await
    {
        Ok(fetch::Fetched::NotYet) => result(
            Status::Planned,
            0,
            format!("not in {}; would fetch it", link.container()),
        ),
        Ok(fetch::Fetched::Already(bytes)) => result(
            Status::Cached,
            bytes,
            format!("already in {}", link.container()),
        ),
        Ok(fetch::Fetched::Now { bytes, blobs }) => result(
            Status::Warmed,
            bytes,
            format!("{blobs} blob(s) fetched into {}", link.container()),
        ),
        Err(why) => result(Status::Failed, 0, why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_deduplicated_and_bad_ones_named() {
        let found = |text: &str, source: &str| FoundRef {
            text: text.into(),
            source: source.into(),
        };
        let items = items(&[
            found("postgres:16", "a.txt:1"),
            found(
                "docker.io/library/postgres:16",
                "k8s/db.yaml: Pod db, container db",
            ),
            found("Postgres:16", "a.txt:2"),
        ]);
        assert_eq!(items.len(), 2);
        match &items[1] {
            Item::Bad(r) => {
                assert_eq!(r.status, Status::Failed);
                assert!(
                    r.detail
                        .starts_with("`Postgres:16` is not an image reference"),
                    "{}",
                    r.detail
                );
                assert_eq!(r.source, "a.txt:2");
            }
            Item::Image { .. } => panic!("a bad reference was accepted"),
        }
    }
}
