//! `brrt run --watch`: re-apply a flow whenever its script, an import, a loaded config or a
//! `watch(path)` file changes.
//!
//! Policy: a change during a run is queued (the run finishes, then one more run reads the latest
//! files), or with `--on-busy restart` stops the run at its next operation and starts again.
//! A failed run keeps the last applied state: nothing is torn down, and the next save retries.
//! Docker going away is reported once and retried with backoff.

mod files;

use crate::script::{runner, Cancel, Failure, RunRequest, RunSettings, ScriptContext};
use files::FileWatcher;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// What to do with a change that arrives while a run is still going on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnBusy {
    /// Let the run finish, then run once more with the latest files.
    #[default]
    Queue,
    /// Stop the run at its next operation, then start again with the latest files.
    Restart,
}

/// What `--watch` runs, and how.
#[derive(Debug, Clone)]
pub struct WatchRequest {
    pub run: RunRequest,
    /// How each run goes (`watching` is set for every run).
    pub settings: RunSettings,
    pub on_busy: OnBusy,
    pub project_dir: PathBuf,
}

const FIRST_RETRY: Duration = Duration::from_secs(1);
const MAX_RETRY: Duration = Duration::from_secs(10);
const SYNC_DURING_RUN: Duration = Duration::from_millis(100);

/// Runs the watch loop until `shutdown` is cancelled (Ctrl-C, SIGTERM); then exits 0.
pub async fn watch(req: WatchRequest, shutdown: Cancel) -> ExitCode {
    let watcher = match FileWatcher::new() {
        Ok(w) => w,
        Err(e) => {
            crate::logging::report(format_args!("error: cannot watch files: {e}"));
            return ExitCode::FAILURE;
        }
    };
    let mut loop_ = WatchLoop::new(req, watcher);
    loop {
        let Some((ctx, result, changed_meanwhile)) = loop_.run_once(&shutdown).await else {
            return stopped();
        };
        loop_.settle(&ctx, &result);
        loop_.report(&ctx, &result);
        if !changed_meanwhile.is_empty() {
            loop_.trigger = describe(&ctx, &changed_meanwhile);
            continue;
        }
        if !loop_.wait_for_change(&ctx, &shutdown).await {
            return stopped();
        }
    }
}

fn stopped() -> ExitCode {
    tracing::info!("{} stopped", now());
    ExitCode::SUCCESS
}

/// What the watch loop carries from one run to the next.
struct WatchLoop {
    req: WatchRequest,
    watcher: FileWatcher,
    /// The files whose change starts the next run.
    watched: BTreeSet<PathBuf>,
    /// What started the next run, for its summary line: "start", "brrt.toml changed".
    trigger: String,
    /// The next wait while Docker is away, growing up to [`MAX_RETRY`].
    retry: Option<Duration>,
    /// What the runs warned about: a warning that still stands is not said on every save.
    warned: BTreeSet<String>,
}

/// One run's context, its result, and the files that changed while it ran.
type RunOutcome = (
    std::sync::Arc<ScriptContext>,
    Result<(), Failure>,
    BTreeSet<PathBuf>,
);

impl WatchLoop {
    fn new(req: WatchRequest, mut watcher: FileWatcher) -> Self {
        // A built-in flow cannot change: its config and the files it loads are watched once the
        // first run has read them. A local script is watched from the start.
        let watched: BTreeSet<PathBuf> = runner::script_file(&req.project_dir, &req.run.script)
            .into_iter()
            .collect();
        watcher.set_files(&watched);
        WatchLoop {
            req,
            watcher,
            watched,
            trigger: "start".to_string(),
            retry: None,
            warned: BTreeSet::new(),
        }
    }

    /// Runs the flow once, watching the files it starts to depend on while it runs; `None`
    /// when `shutdown` stopped it.
    async fn run_once(&mut self, shutdown: &Cancel) -> Option<RunOutcome> {
        let cancel = Cancel::default();
        let ctx = ScriptContext::new(
            tokio::runtime::Handle::current(),
            RunSettings {
                watching: true,
                ..self.req.settings
            },
            self.req.project_dir.clone(),
            cancel.clone(),
        );
        ctx.set_warned_before(std::mem::take(&mut self.warned));
        let (job_ctx, run) = (ctx.clone(), self.req.run.clone());
        let mut job = tokio::task::spawn_blocking(move || runner::run(&job_ctx, &run));
        let mut changed_meanwhile = BTreeSet::new();
        let restart = self.req.on_busy == OnBusy::Restart;
        // Files the run starts to depend on are watched while it runs, so that a change to
        // them during the run is not missed.
        let mut sync = tokio::time::interval(SYNC_DURING_RUN);
        let result = loop {
            tokio::select! {
                res = &mut job => break res.unwrap_or(Err(Failure::Interrupted)),
                _ = sync.tick() => {
                    let mut now_used = self.watched.clone();
                    now_used.extend(ctx.tracked());
                    self.watcher.set_files(&now_used);
                    let stale = ctx.changed_since_read();
                    if !stale.is_empty() && restart {
                        cancel.cancel();
                    }
                    changed_meanwhile.extend(stale);
                }
                batch = self.watcher.next_batch() => {
                    changed_meanwhile.extend(batch);
                    if restart {
                        cancel.cancel();
                    }
                }
                () = shutdown.cancelled() => {
                    cancel.cancel();
                    let _ = (&mut job).await;
                    return None;
                }
            }
        };
        changed_meanwhile.extend(ctx.changed_since_read());
        Some((ctx, result, changed_meanwhile))
    }

    /// After a run: its locks released, its warnings kept, and the watched set rebuilt:
    /// exactly what a good run used; after a failure, also what was watched before, so that
    /// fixing any of those files retries.
    fn settle(&mut self, ctx: &ScriptContext, result: &Result<(), Failure>) {
        // The run is over: another flow on the same config may go on while this one waits.
        ctx.release_locks();
        self.warned = ctx.warned(result.is_ok());
        let used = ctx.tracked();
        if result.is_ok() {
            self.watched = used;
        } else {
            self.watched.extend(used);
        }
        self.watcher.set_files(&self.watched);
    }

    /// One line on how the run went; Docker going away starts (or lengthens) the retry.
    fn report(&mut self, ctx: &ScriptContext, result: &Result<(), Failure>) {
        let trigger = &self.trigger;
        match result {
            Ok(()) => {
                if self.retry.take().is_some() {
                    tracing::info!("{} Docker is back", now());
                }
                tracing::info!("{} {trigger} → {}", now(), summary(ctx));
            }
            Err(Failure::Script(d)) => {
                self.retry = None;
                crate::logging::report(d);
                tracing::warn!("{} {trigger} → failed; the last applied state is kept. Waiting for the next change.", now());
            }
            Err(Failure::DockerUnavailable(line)) => {
                let next = match self.retry {
                    None => {
                        tracing::warn!("{} {line}. Retrying until it is back.", now());
                        FIRST_RETRY
                    }
                    Some(d) => (d * 2).min(MAX_RETRY),
                };
                self.retry = Some(next);
            }
            Err(Failure::Interrupted) => {
                tracing::info!(
                    "{} {trigger} → interrupted by a new change; starting again",
                    now()
                );
            }
        }
    }

    /// Waits for a change, a retry or a recheck the flow asked for, and notes which; `false`
    /// when `shutdown` came first.
    async fn wait_for_change(&mut self, ctx: &ScriptContext, shutdown: &Cancel) -> bool {
        // A flow may ask to run again after a while (a cache serving offline checks whether
        // its upstream is back); Docker being away has its own backoff.
        let retry = self.retry;
        let recheck = if retry.is_none() { ctx.recheck() } else { None };
        let wait_retry = async {
            match retry.or(recheck.as_ref().map(|(d, _)| *d)) {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            batch = self.watcher.next_batch() => self.trigger = describe(ctx, &batch),
            () = wait_retry => {
                self.trigger = match recheck {
                    Some((_, why)) if retry.is_none() => why,
                    _ => "retry".to_string(),
                }
            }
            () = shutdown.cancelled() => return false,
        }
        true
    }
}

/// "brrt.toml changed", "scripts/a.rhai, brrt.toml changed".
fn describe(ctx: &ScriptContext, changed: &BTreeSet<PathBuf>) -> String {
    let names: Vec<String> = changed.iter().map(|p| shown(ctx, p)).collect();
    format!("{} changed", names.join(", "))
}

fn shown(ctx: &ScriptContext, path: &Path) -> String {
    let root = std::fs::canonicalize(&ctx.project_dir).unwrap_or_else(|_| ctx.project_dir.clone());
    path.strip_prefix(&root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// One line of what a run changed, or that it changed nothing.
fn summary(ctx: &ScriptContext) -> String {
    let changes = ctx.changes();
    if changes.is_empty() {
        return "applied: nothing changed".to_string();
    }
    let first: Vec<String> = changes
        .iter()
        .take(6)
        .map(|c| format!("{} {}", c.action, c.what))
        .collect();
    let more = if changes.len() > 6 {
        format!(", and {} more", changes.len() - 6)
    } else {
        String::new()
    };
    format!(
        "applied {} change(s): {}{more}",
        changes.len(),
        first.join(", ")
    )
}

/// The local wall-clock time, `[HH:MM:SS]`.
fn now() -> String {
    jiff::Zoned::now().strftime("[%H:%M:%S]").to_string()
}
