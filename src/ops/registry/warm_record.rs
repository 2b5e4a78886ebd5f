//! brrt's own note, in a cache's volume, of the blobs `cache warm` fetched into it since its
//! container started, and which of them it hung up on: what `cache stats` needs to read the
//! cache's counters right.

use super::storage::Storage;
use crate::ops::docker;
use crate::ops::{Error, Result};
use bollard::Docker;
use serde::{Deserialize, Serialize};

/// brrt's own note of what `cache warm` fetched, in the cache's volume.
const WARM_RECORD: &str = "brrt-warm.json";

/// What `cache warm` fetched into a cache since its container started: counters restart with
/// the container, so a note from an earlier start is stale.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarmRecord {
    /// The container's start time, as the engine reports it.
    pub started_at: String,
    /// `repo@digest` of every blob `cache warm` fetched.
    pub blobs: Vec<String>,
    /// Of those, the ones whose fetch the cache did not also stream to `cache warm` (it hung
    /// up first), so that the counters hold only their storage copy.
    #[serde(default)]
    pub no_client_copy: Vec<String>,
}

impl WarmRecord {
    /// Adds what one run fetched (`repo@digest` each) to the cache's note, starting a new note
    /// if the container restarted since the last.
    pub async fn add(
        d: &Docker,
        container: &str,
        blobs: &[String],
        no_client_copy: &[String],
    ) -> Result<()> {
        if blobs.is_empty() {
            return Ok(());
        }
        let Some(state) = docker::inspect_container(d, container).await? else {
            return Ok(());
        };
        let storage = Storage::new(d, container);
        let mut record = WarmRecord::read(&storage, &state.started_at).await;
        record.started_at = state.started_at;
        for (list, new) in [
            (&mut record.blobs, blobs),
            (&mut record.no_client_copy, no_client_copy),
        ] {
            list.extend(new.iter().cloned());
            list.sort();
            list.dedup();
        }
        let text = serde_json::to_vec(&record).map_err(|e| Error::Other(e.to_string()))?;
        storage.write_own(WARM_RECORD, &text).await
    }

    /// The note for the container's current start (empty if there is none).
    pub(super) async fn read(storage: &Storage, started_at: &str) -> WarmRecord {
        let bytes = storage.read_own(WARM_RECORD).await.ok().flatten();
        bytes
            .and_then(|b| serde_json::from_slice::<WarmRecord>(&b).ok())
            .filter(|r| r.started_at == started_at)
            .unwrap_or_default()
    }
}
