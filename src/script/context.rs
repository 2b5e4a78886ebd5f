//! What native functions share during one run: the tokio handle, the mode, the Docker client,
//! the files the run depends on, and what it changed.

use crate::ops::{self, Action, Mode};
use crate::plugin;
use bollard::Docker;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::runtime::Handle;
use tokio::sync::watch;

/// A shared stop signal: Ctrl-C, SIGTERM, or a watch restart. Scripts stop at the next operation.
#[derive(Clone)]
pub struct Cancel {
    tx: Arc<watch::Sender<bool>>,
}

impl Default for Cancel {
    fn default() -> Self {
        Cancel {
            tx: Arc::new(watch::channel(false).0),
        }
    }
}

impl Cancel {
    pub fn cancel(&self) {
        self.tx.send_replace(true);
    }

    pub fn reset(&self) {
        self.tx.send_replace(false);
    }

    pub fn is_cancelled(&self) -> bool {
        *self.tx.borrow()
    }

    /// Resolves once cancelled.
    pub async fn cancelled(&self) {
        let mut rx = self.tx.subscribe();
        let _ = rx.wait_for(|c| *c).await;
    }
}

/// What a file looked like: enough to tell that it was saved again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint {
    modified: Option<std::time::SystemTime>,
    len: u64,
}

impl Fingerprint {
    fn of(path: &Path) -> Option<Fingerprint> {
        let meta = std::fs::metadata(path).ok()?;
        Some(Fingerprint {
            modified: meta.modified().ok(),
            len: meta.len(),
        })
    }
}

/// One thing a run changed, for the summary line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub action: Action,
    pub what: String,
}

/// State shared by the native functions of one run.
pub struct ScriptContext {
    pub handle: Handle,
    pub mode: Mode,
    pub project_dir: PathBuf,
    pub cancel: Cancel,
    docker: Mutex<Option<Docker>>,
    docker_unavailable: Mutex<Option<String>>,
    /// Files the run depends on, with what they looked like when it first read them.
    tracked: Mutex<BTreeMap<PathBuf, Option<Fingerprint>>>,
    sources: Mutex<BTreeMap<String, String>>,
    changes: Mutex<Vec<Change>>,
    /// Fuel and memory of the WASM plugins the run imports.
    plugin_limits: Mutex<plugin::Limits>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl ScriptContext {
    pub fn new(handle: Handle, mode: Mode, project_dir: PathBuf, cancel: Cancel) -> Arc<Self> {
        Arc::new(ScriptContext {
            handle,
            mode,
            project_dir,
            cancel,
            docker: Mutex::new(None),
            docker_unavailable: Mutex::new(None),
            tracked: Mutex::new(BTreeMap::new()),
            sources: Mutex::new(BTreeMap::new()),
            changes: Mutex::new(Vec::new()),
            plugin_limits: Mutex::new(plugin::Limits::default()),
        })
    }

    /// Sets the limits of the plugins imported from now on (`--plugin-fuel`, `--plugin-memory`).
    pub fn set_plugin_limits(&self, limits: plugin::Limits) {
        *lock(&self.plugin_limits) = limits;
    }

    pub fn plugin_limits(&self) -> plugin::Limits {
        *lock(&self.plugin_limits)
    }

    /// Runs an async operation to completion from the script thread, or stops it on cancel.
    pub fn block_on<T>(&self, fut: impl Future<Output = ops::Result<T>>) -> ops::Result<T> {
        if self.cancel.is_cancelled() {
            return Err(ops::Error::Interrupted);
        }
        let cancel = self.cancel.clone();
        self.handle.block_on(async move {
            tokio::select! {
                r = fut => r,
                () = cancel.cancelled() => Err(ops::Error::Interrupted),
            }
        })
    }

    /// The Docker client, connected on first use.
    pub fn docker(&self) -> ops::Result<Docker> {
        if let Some(d) = lock(&self.docker).as_ref() {
            return Ok(d.clone());
        }
        let result = self.block_on(ops::docker::connect());
        match &result {
            Ok(d) => *lock(&self.docker) = Some(d.clone()),
            Err(e @ ops::Error::DockerUnavailable { .. }) => {
                *lock(&self.docker_unavailable) = Some(e.to_string())
            }
            Err(_) => {}
        }
        result
    }

    /// Set when the run failed because Docker could not be reached.
    pub fn docker_unavailable(&self) -> Option<String> {
        lock(&self.docker_unavailable).clone()
    }

    /// Notes that the run depends on `path` (for `--watch`).
    pub fn track(&self, path: &Path) {
        let path = std::fs::canonicalize(path).unwrap_or_else(|_| self.project_dir.join(path));
        let print = Fingerprint::of(&path);
        lock(&self.tracked).entry(path).or_insert(print);
    }

    pub fn tracked(&self) -> BTreeSet<PathBuf> {
        lock(&self.tracked).keys().cloned().collect()
    }

    /// The tracked files that changed since the run first read them. This catches a save
    /// that lands while the run goes on, whatever the order of file events.
    pub fn changed_since_read(&self) -> BTreeSet<PathBuf> {
        lock(&self.tracked)
            .iter()
            .filter(|(path, seen)| Fingerprint::of(path) != **seen)
            .map(|(path, _)| path.clone())
            .collect()
    }

    /// Keeps a script's text so diagnostics can quote it.
    pub fn remember_source(&self, name: &str, text: &str) {
        lock(&self.sources).insert(name.to_string(), text.to_string());
    }

    pub fn sources(&self) -> BTreeMap<String, String> {
        lock(&self.sources).clone()
    }

    /// Records a change an operation made (or would make).
    pub fn record(&self, action: Action, what: impl Into<String>) {
        if action.is_change() {
            lock(&self.changes).push(Change {
                action,
                what: what.into(),
            });
        }
    }

    pub fn changes(&self) -> Vec<Change> {
        lock(&self.changes).clone()
    }

    /// A path as the user should see it: relative to the project when inside it.
    pub fn display_path(&self, path: &Path) -> String {
        path.strip_prefix(&self.project_dir)
            .unwrap_or(path)
            .display()
            .to_string()
    }

    /// Resolves a script-given path against the project directory.
    pub fn resolve(&self, path: &str) -> PathBuf {
        let p = Path::new(path);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.project_dir.join(p)
        }
    }
}
