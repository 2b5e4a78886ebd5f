//! The cache's log, followed while a warm runs: blobs it could not store, and which of brrt's
//! blob requests it streamed to the end or failed.

use crate::ops::registry::activity::{activity, Activity, Kind};
use crate::ops::registry::logfmt::parse_logfmt;
use crate::ops::registry::USER_AGENT;
use bollard::Docker;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Locks what the log watcher and the fetches share; a panicked holder leaves it readable.
pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What a cache's log told a warm run.
#[derive(Default)]
pub(super) struct Heard {
    /// Blobs the cache could not store: digest → its words.
    pub(super) failures: HashMap<String, String>,
    /// Blobs brrt asked for: digest → whether the cache streamed all of it to brrt (which the
    /// cache's counters then count as a second request).
    pub(super) streamed: HashMap<String, bool>,
    /// Blobs brrt asked for whose request ended in an error: digest → the cache's words.
    pub(super) errors: HashMap<String, String>,
}

/// Follows the cache's log until dropped, noting blobs it fails to store and how brrt's own
/// blob requests ended.
pub(super) async fn watch_log(d: Docker, container: String, heard: Arc<Mutex<Heard>>) {
    let mut logs = crate::ops::docker::follow(&d, &container);
    let mut pending = String::new();
    while let Some(Ok(chunk)) = logs.next().await {
        pending.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
        while let Some(nl) = pending.find('\n') {
            let line: String = pending.drain(..=nl).collect();
            let Some(fields) = parse_logfmt(&line) else {
                continue;
            };
            let ours = fields
                .get("http.request.useragent")
                .is_some_and(|ua| ua == USER_AGENT);
            match activity(&fields) {
                Some(Activity::StoreFailed {
                    digest, message, ..
                }) => {
                    lock(&heard).failures.insert(digest, message);
                }
                Some(Activity::Served {
                    kind: Kind::Blob,
                    reference,
                    status,
                    error,
                    ..
                }) if ours => {
                    let whole = error.is_none() && (200..300).contains(&status);
                    let mut heard = lock(&heard);
                    if let Some(why) = error {
                        heard.errors.insert(reference.clone(), why);
                    }
                    heard.streamed.insert(reference, whole);
                }
                _ => {}
            }
        }
    }
}
