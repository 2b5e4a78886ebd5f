//! Watching a set of files the way editors save them.
//!
//! Editors often write a new file and rename it over the old one, or delete and re-create it; a
//! watch on the file itself goes quiet after the first such save. So each *parent directory* is
//! watched and events are filtered by path. `notify-debouncer-full` batches the events: each
//! one is handed over [`QUIET`] after it happened, with renames stitched together, and what
//! arrives together is one batch, so a burst of saves becomes one change.

use notify::event::{AccessKind, AccessMode, EventKind};
use notify::{RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{new_debouncer, DebounceEventResult, Debouncer, RecommendedCache};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::mpsc;

/// How long an event waits before it is handed over, so that the events of one save (or one
/// burst of saves) arrive together.
pub const QUIET: Duration = Duration::from_millis(50);

/// A watcher over a changing set of files.
pub struct FileWatcher {
    debouncer: Debouncer<RecommendedWatcher, RecommendedCache>,
    events: mpsc::UnboundedReceiver<Vec<PathBuf>>,
    files: BTreeSet<PathBuf>,
    dirs: BTreeSet<PathBuf>,
    /// Changes seen but not yet handed out: a batch interrupted by a finished run is kept.
    pending: BTreeSet<PathBuf>,
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

/// Whether an event changes a file's content or presence. Reads (brrt's own, when a run reads
/// its config) are not changes.
fn is_change(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::Create(_)
            | EventKind::Modify(_)
            | EventKind::Remove(_)
            | EventKind::Access(AccessKind::Close(AccessMode::Write))
    )
}

impl FileWatcher {
    pub fn new() -> notify::Result<Self> {
        let (tx, events) = mpsc::unbounded_channel();
        let debouncer = new_debouncer(QUIET, None, move |result: DebounceEventResult| {
            let Ok(batch) = result else { return };
            let paths: Vec<PathBuf> = batch
                .into_iter()
                .filter(|e| is_change(&e.kind))
                .flat_map(|e| e.event.paths)
                .collect();
            if !paths.is_empty() {
                let _ = tx.send(paths);
            }
        })?;
        Ok(FileWatcher {
            debouncer,
            events,
            files: BTreeSet::new(),
            dirs: BTreeSet::new(),
            pending: BTreeSet::new(),
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
            let _ = self.debouncer.unwatch(gone);
        }
        for new in dirs.difference(&self.dirs) {
            if let Err(e) = self.debouncer.watch(new, RecursiveMode::NonRecursive) {
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

    /// Keeps the watched files among `paths`.
    fn take(&mut self, paths: Vec<PathBuf>) {
        for path in paths {
            if self.matches(&path) {
                self.pending.insert(path);
            }
        }
    }

    /// Waits for the next batch of changes to watched files; returns the changed files.
    /// Safe to cancel: what was collected stays for the next call.
    pub async fn next_batch(&mut self) -> BTreeSet<PathBuf> {
        while self.pending.is_empty() {
            match self.events.recv().await {
                Some(paths) => self.take(paths),
                None => std::future::pending::<()>().await,
            }
        }
        // Batches that arrived meanwhile belong to the same change.
        while let Ok(paths) = self.events.try_recv() {
            self.take(paths);
        }
        std::mem::take(&mut self.pending)
    }
}
