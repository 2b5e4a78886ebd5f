//! What a warm-up tells its caller: each image's result, the whole run's summary, and the
//! [`Progress`] it reports to as it goes. Below [`super::fetch`] and the warm-up itself, which
//! both speak in these terms.

use serde::Serialize;

/// How one image went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Fetched into its cache now.
    Warmed,
    /// Already in its cache; nothing was fetched.
    Cached,
    /// Would be fetched (`--dry-run`).
    Planned,
    /// Not warmed, by design: its upstream has no cache here.
    Skipped,
    Failed,
}

/// One image's result.
#[derive(Debug, Clone, Serialize)]
pub struct ImageResult {
    /// The reference, normalised when it parsed, else as written.
    pub image: String,
    /// Where it was named.
    pub source: String,
    pub upstream: String,
    pub status: Status,
    /// Bytes fetched now (warmed), or held (cached).
    pub bytes: u64,
    /// Why it was skipped or failed; what was fetched.
    pub detail: String,
}

/// The whole run, for the summary line.
#[derive(Debug, Clone, Serialize)]
pub struct WarmSummary {
    pub images: usize,
    pub warmed: usize,
    pub planned: usize,
    pub cached: usize,
    pub skipped: usize,
    pub failed: usize,
    /// Bytes fetched into the caches by this run.
    pub bytes: u64,
    pub seconds: f64,
    pub results: Vec<ImageResult>,
}

/// Hears how the images go, to show progress. Ids are indexes into the deduplicated list.
pub trait Progress: Send + Sync {
    /// An image is being looked at.
    fn begin(&self, id: usize, image: &str);
    /// Its blobs are known: `total` bytes, `present` of them already cached.
    fn sized(&self, id: usize, total: u64, present: u64);
    /// A blob of `bytes` arrived in the cache.
    fn advance(&self, id: usize, bytes: u64);
    fn end(&self, id: usize, result: &ImageResult);
}

/// A progress that shows nothing.
pub struct Quiet;

impl Progress for Quiet {
    fn begin(&self, _: usize, _: &str) {}
    fn sized(&self, _: usize, _: u64, _: u64) {}
    fn advance(&self, _: usize, _: u64) {}
    fn end(&self, _: usize, _: &ImageResult) {}
}
