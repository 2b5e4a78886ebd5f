//! Watching a set of files the way editors save them.
//!
//! Editors often write a new file and rename it over the old one, or delete and re-create it; a
//! watch on the file itself goes quiet after the first such save. So each *parent directory* is
//! watched and events are filtered by path. Events are batched: the first one opens a window that
//! stays open while more arrive (up to a cap), so a burst of saves becomes one change.

use notify::event::{AccessKind, AccessMode, EventKind};
use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// How long the batch stays open after the last event.
pub const QUIET: Duration = Duration::from_millis(50);
/// The longest a batch stays open while events keep coming.
pub const MAX_BATCH: Duration = Duration::from_millis(1000);

/// A watcher over a changing set of files.
pub struct FileWatcher {
    watcher: RecommendedWatcher,
    events: mpsc::UnboundedReceiver<PathBuf>,
    files: BTreeSet<PathBuf>,
    dirs: BTreeSet<PathBuf>,
    /// Changes seen but not yet handed out: a batch interrupted by a finished run is kept.
    pending: BTreeSet<PathBuf>,
    batch_started: Option<Instant>,
}

fn canonical(path: &Path) -> PathBuf {
    if let Ok(p) = std::fs::canonicalize(path) {
        return p;
    }
    // A file that does not exist (yet): canonicalize its folder and keep the name.
    match (path.parent(), path.file_name()) {
        (Some(dir), Some(name)) => std::fs::canonicalize(dir)
            .unwrap_or_else(|_| dir.to_path_buf())
            .join(name),
        _ => path.to_path_buf(),
    }
}

impl FileWatcher {
    pub fn new() -> notify::Result<Self> {
        let (tx, events) = mpsc::unbounded_channel();
        let watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            let Ok(event) = res else { return };
            let relevant = matches!(
                event.kind,
                EventKind::Create(_)
                    | EventKind::Modify(_)
                    | EventKind::Remove(_)
                    | EventKind::Access(AccessKind::Close(AccessMode::Write))
            );
            if relevant {
                for path in event.paths {
                    let _ = tx.send(path);
                }
            }
        })?;
        Ok(FileWatcher {
            watcher,
            events,
            files: BTreeSet::new(),
            dirs: BTreeSet::new(),
            pending: BTreeSet::new(),
            batch_started: None,
        })
    }

    /// Watches exactly `files` from now on (their folders, filtered to these names). A folder
    /// among them (one a flow read whole, such as a folder of manifests) is watched too, so a
    /// file added to it counts as a change.
    pub fn set_files(&mut self, files: &BTreeSet<PathBuf>) {
        self.files = files.iter().map(|f| canonical(f)).collect();
        let dirs: BTreeSet<PathBuf> = self
            .files
            .iter()
            .filter_map(|f| f.parent().map(Path::to_path_buf))
            .chain(self.files.iter().filter(|f| f.is_dir()).cloned())
            .collect();
        for gone in self.dirs.difference(&dirs) {
            let _ = self.watcher.unwatch(gone);
        }
        for new in dirs.difference(&self.dirs) {
            if let Err(e) = self.watcher.watch(new, RecursiveMode::NonRecursive) {
                tracing::warn!("cannot watch {}: {e}", new.display());
            }
        }
        self.dirs = dirs;
    }

    fn matches(&self, path: &Path) -> bool {
        let in_watched_folder = |p: &Path| {
            p.parent()
                .is_some_and(|dir| self.files.contains(dir) && dir.is_dir())
        };
        self.files.contains(path)
            || self.files.contains(&canonical(path))
            || in_watched_folder(path)
            || in_watched_folder(&canonical(path))
    }

    /// Waits for the next batch of changes to watched files; returns the changed files.
    /// Safe to cancel: what was collected stays for the next call.
    pub async fn next_batch(&mut self) -> BTreeSet<PathBuf> {
        while self.pending.is_empty() {
            match self.events.recv().await {
                Some(path) if self.matches(&path) => {
                    self.pending.insert(path);
                    self.batch_started = Some(Instant::now());
                }
                Some(_) => {}
                None => std::future::pending::<()>().await,
            }
        }
        let cap = self.batch_started.unwrap_or_else(Instant::now) + MAX_BATCH;
        loop {
            let quiet_end = (Instant::now() + QUIET).min(cap);
            match tokio::time::timeout_at(quiet_end, self.events.recv()).await {
                Ok(Some(path)) => {
                    if self.matches(&path) {
                        self.pending.insert(path);
                    }
                    if Instant::now() >= cap {
                        break;
                    }
                }
                Ok(None) | Err(_) => break,
            }
        }
        self.batch_started = None;
        std::mem::take(&mut self.pending)
    }
}
