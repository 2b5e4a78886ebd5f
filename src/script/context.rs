//! What native functions share during one run: the tokio handle, the mode, the Docker client,
//! the files the run depends on, and what it changed.

use crate::ops::run_lock::{LockKey, LockWait, RunLock};
use crate::ops::{self, Action, Mode};
use crate::plugin;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
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

/// How a run goes, as the command line asked.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunSettings {
    pub mode: Mode,
    /// The run is one of `--watch`'s: configs may be mid-save when read.
    pub watching: bool,
    /// Whether to wait for another run that holds the config's lock (`--no-wait`).
    pub lock_wait: LockWait,
}

/// How long a config read waits for an editor's save to finish: a one-off run waits a little;
/// under `--watch`, where every save starts a run, it waits longer.
const PATIENCE_ONCE: Duration = Duration::from_millis(200);
const PATIENCE_WATCHING: Duration = Duration::from_millis(1000);

/// State shared by the native functions of one run.
pub struct ScriptContext {
    pub handle: Handle,
    pub mode: Mode,
    pub settings: RunSettings,
    pub project_dir: PathBuf,
    pub cancel: Cancel,
    /// Locks taken by `config::brrt`, held until the run ends.
    locks: Mutex<Vec<RunLock>>,
    docker: Mutex<Option<ops::docker::Engine>>,
    docker_unavailable: Mutex<Option<String>>,
    /// Files the run depends on, with what they looked like when it first read them.
    tracked: Mutex<BTreeMap<PathBuf, Option<Fingerprint>>>,
    sources: Mutex<BTreeMap<String, String>>,
    changes: Mutex<Vec<Change>>,
    /// Asked by an operation: run the flow again after this long, and why (an upstream to
    /// check again). `--watch` honours it; a one-off run ignores it.
    recheck: Mutex<Option<(Duration, String)>>,
    /// Fuel and memory of the WASM plugins the run imports.
    plugin_limits: Mutex<plugin::Limits>,
    /// Under `--watch`: the warnings the runs before this one gave and still stand.
    warned_before: Mutex<BTreeSet<String>>,
    /// The warnings this run gave (said or, being said before, kept quiet).
    warned: Mutex<BTreeSet<String>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl ScriptContext {
    pub fn new(
        handle: Handle,
        settings: RunSettings,
        project_dir: PathBuf,
        cancel: Cancel,
    ) -> Arc<Self> {
        Arc::new(ScriptContext {
            handle,
            mode: settings.mode,
            settings,
            project_dir,
            cancel,
            locks: Mutex::new(Vec::new()),
            docker: Mutex::new(None),
            docker_unavailable: Mutex::new(None),
            tracked: Mutex::new(BTreeMap::new()),
            sources: Mutex::new(BTreeMap::new()),
            changes: Mutex::new(Vec::new()),
            recheck: Mutex::new(None),
            plugin_limits: Mutex::new(plugin::Limits::default()),
            warned_before: Mutex::new(BTreeSet::new()),
            warned: Mutex::new(BTreeSet::new()),
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
    pub fn docker(&self) -> ops::Result<ops::docker::Engine> {
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

    /// How long a config read may wait for a save in progress to finish.
    pub fn patience(&self) -> Duration {
        if self.settings.watching {
            PATIENCE_WATCHING
        } else {
            PATIENCE_ONCE
        }
    }

    /// Takes the run locks for what the config `config` names (its push registry, the set of
    /// caches it shares with every config that names it, and its cluster's nodes) on the engine
    /// brrt talks to (DOCKER_HOST, or the Docker context's endpoint), unless this run holds
    /// them already. They are held until the run ends.
    pub fn lock_config(
        &self,
        config: &Path,
        registry: &str,
        caches: &str,
        cluster: &str,
    ) -> ops::Result<()> {
        let engine = match lock(&self.docker).as_ref() {
            Some(d) => d.endpoint().host.clone(),
            None => ops::docker::endpoint()
                .map(|e| e.host)
                .unwrap_or_else(|_| ops::docker::docker_host()),
        };
        let mut keys = vec![
            LockKey::registry(&engine, registry),
            LockKey::caches(&engine, caches),
            LockKey::cluster(&engine, cluster),
        ];
        // Always in the same order, so two runs never wait for each other's second lock.
        keys.sort();
        let shown = config.display().to_string();
        for key in keys {
            if lock(&self.locks).iter().any(|l| l.key == key.name()) {
                continue;
            }
            let cancel = self.cancel.clone();
            let taken = self.block_on(ops::run_lock::acquire(
                &key,
                &shown,
                self.settings.lock_wait,
                move || cancel.is_cancelled(),
            ))?;
            lock(&self.locks).push(taken);
        }
        Ok(())
    }

    /// Lets go of the run locks this run took: the run is over. (`--watch` keeps the context
    /// of the last run while it waits for the next change, and must not keep other flows on
    /// the same config waiting meanwhile.)
    pub fn release_locks(&self) {
        lock(&self.locks).clear();
    }

    /// Notes that the engine could not be reached, at connect or later in the run.
    pub fn note_docker_unavailable(&self, line: String) {
        lock(&self.docker_unavailable).get_or_insert(line);
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

    /// A warning from the flow. Under `--watch` one the runs before gave word for word, and
    /// that still stands, is not said again: a kubeconfig without the cluster's context says so
    /// once, not on every save. It is said again once a run went without it.
    pub fn warn(&self, text: &str) {
        let new = lock(&self.warned).insert(text.to_string());
        if new && !(self.settings.watching && lock(&self.warned_before).contains(text)) {
            tracing::warn!(target: "script", "{text}");
        }
    }

    /// The warnings the runs before gave (for `--watch`, before this run starts).
    pub fn set_warned_before(&self, warned: BTreeSet<String>) {
        *lock(&self.warned_before) = warned;
    }

    /// What this run warned about. A run that did not get to its end also keeps what the runs
    /// before warned about: it may not have reached the point where it would say it again.
    pub fn warned(&self, finished: bool) -> BTreeSet<String> {
        let mut warned = lock(&self.warned).clone();
        if !finished {
            warned.extend(lock(&self.warned_before).iter().cloned());
        }
        warned
    }

    /// Asks `--watch` to run the flow again within `after`, saying `why`.
    pub fn recheck_in(&self, after: Duration, why: impl Into<String>) {
        let mut slot = lock(&self.recheck);
        if slot.as_ref().is_none_or(|(d, _)| after < *d) {
            *slot = Some((after, why.into()));
        }
    }

    /// When (and why) the flow asked to run again, if it did.
    pub fn recheck(&self) -> Option<(Duration, String)> {
        lock(&self.recheck).clone()
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
