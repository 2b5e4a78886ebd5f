//! Creating a cluster with the kind CLI so that a create that is stopped half-way (Ctrl-C, a
//! save under `--watch --on-busy restart`) never leaves a half-made cluster the next run takes
//! for a finished one.
//!
//! While `kind create cluster` runs, brrt holds a marker of its own: a file named after the
//! engine and the cluster, locked by the creating process. If the run is stopped, kind is
//! stopped and `kind delete cluster` takes away what it had made, in a task of its own that
//! brrt waits for before it exits ([`creates_settled`]); the marker goes once the cluster is
//! deleted or finished. A marker that is left and not locked (brrt was killed, or the delete
//! failed) means the cluster never finished: [`unfinished`] says so, and [`create`] deletes it
//! and creates it again.

use super::cli::KindCli;
use super::config::check_name;
use super::marker::{holder, marker_path, Marker};
use super::network::{KIND_DEFAULT_NETWORK, KIND_NETWORK_VAR};
use crate::ops::{Action, Error, Mode, Result};
use std::fs::{OpenOptions, TryLockError};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

/// Held by the task that creates a cluster, and by its clean-up when the run was stopped.
static CREATING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Waits until no create (or the clean-up of a stopped one) is under way. Whoever stops the
/// runtime calls this first, so that a stopped create never leaves a half-made cluster behind.
pub async fn creates_settled() {
    drop(CREATING.lock().await);
}

/// Creates the cluster with `config` (a kind config's YAML), unless kind has one of that name:
/// then it is `unchanged`, whatever its config. brrt never re-creates a finished cluster;
/// registries and mirrors are changed in the running nodes instead. A cluster brrt began to
/// create and never finished is deleted and created again (`recreated`). `network` other than
/// `kind` is passed to kind as `KIND_EXPERIMENTAL_DOCKER_NETWORK`, so the nodes join the
/// registries' network; for `kind`, that variable is taken out of kind's environment, so the
/// nodes go where brrt says.
pub async fn create(
    cli: &KindCli,
    name: &str,
    config: &str,
    network: &str,
    mode: Mode,
) -> Result<Action> {
    check_name(name)?;
    let left = unfinished(name).await?;
    let exists = super::cli::exists(cli, name).await?;
    if exists && left.is_none() {
        return Ok(Action::Unchanged);
    }
    let action = if exists {
        Action::Recreated
    } else {
        Action::Created
    };
    if !mode.announce(action, &format!("kind cluster {name}")) {
        return Ok(action);
    }
    if let (true, Some(why)) = (exists, &left) {
        tracing::warn!(
            "kind cluster {name} was never finished: {why}; deleting it and creating it again"
        );
        super::cli::delete(cli, name, mode).await?;
    }
    let marker = Marker::take(name)?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let job = CreateJob {
        cli: cli.clone(),
        name: name.to_string(),
        config: config.to_string(),
        network: (!network.is_empty() && network != KIND_DEFAULT_NETWORK)
            .then(|| network.to_string()),
        marker,
    };
    // The task runs to its end even when this future is dropped (the run was stopped): then
    // `stop` is dropped with it, and the task cleans up instead of finishing.
    let guard = CREATING.lock().await;
    let task = tokio::spawn(async move {
        let _creating = guard;
        job.run(stopped).await
    });
    let _stop = stop;
    task.await
        .map_err(|e| Error::KindCli(format!("creating kind cluster {name} failed: {e}")))??;
    Ok(action)
}

/// Why the cluster `name` counts as never finished, when brrt began to create it on this
/// engine and neither finished nor deleted it: `None` when it did not (or it is being created
/// right now by another brrt, which is then waited for).
pub async fn unfinished(name: &str) -> Result<Option<String>> {
    creates_settled().await;
    let path = marker_path(name)?;
    // Never through a symlink: the folder is this user's alone, and a link there is no marker.
    let Ok(mut file) = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
    else {
        return Ok(None);
    };
    let mut said = false;
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(TryLockError::WouldBlock) => {
                // Another brrt is creating it now: its result is what counts.
                if !said {
                    tracing::warn!(
                        "waiting: another brrt ({}) is creating kind cluster {name}",
                        holder(&mut file)
                    );
                    said = true;
                }
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                if !path.exists() {
                    return Ok(None);
                }
            }
            Err(TryLockError::Error(e)) => {
                return Err(Error::Other(format!("cannot read {}: {e}", path.display())))
            }
        }
    }
    if !path.exists() {
        return Ok(None);
    }
    Ok(Some(format!(
        "brrt began to create it ({}) and was stopped before kind finished",
        holder(&mut file)
    )))
}

/// What a create needs, moved into its task.
struct CreateJob {
    cli: KindCli,
    name: String,
    config: String,
    network: Option<String>,
    marker: Marker,
}

impl CreateJob {
    async fn run(self, stopped: tokio::sync::oneshot::Receiver<()>) -> Result<()> {
        let file = ConfigFile::write(&self.name, &self.config)?;
        let path = file.path.to_string_lossy().into_owned();
        let env = [(KIND_NETWORK_VAR, self.network.as_deref())];
        let args = [
            "create",
            "cluster",
            "--name",
            self.name.as_str(),
            "--config",
            path.as_str(),
        ];
        let created = tokio::select! {
            r = self.cli.run_with(&args, &env, true) => r,
            // The run was stopped: dropping kind's future kills it.
            _ = stopped => {
                self.clean_up().await;
                return Err(Error::Interrupted);
            }
        };
        match created {
            Ok(_) => {
                self.marker.remove();
                Ok(())
            }
            Err(e) => {
                // kind removes the nodes of a create that failed; if some are left, the marker
                // stays and the next run deletes them and creates the cluster again.
                if !super::cli::exists(&self.cli, &self.name)
                    .await
                    .unwrap_or(true)
                {
                    self.marker.remove();
                }
                Err(e)
            }
        }
    }

    /// Deletes what a stopped `kind create` made; the marker goes once that worked. A node
    /// whose `docker run` kind had already sent may appear after the first delete, so the
    /// delete is repeated (a few times at most) until kind knows no such cluster.
    async fn clean_up(self) {
        let name = &self.name;
        tracing::warn!(
            "stopped while kind was creating cluster {name}: deleting what it made \
             (kind delete cluster --name {name})"
        );
        for _ in 0..3 {
            if let Err(e) = self
                .cli
                .run(&["delete", "cluster", "--name", name], false)
                .await
            {
                tracing::error!(
                    "the unfinished kind cluster {name} could not be deleted ({e}); the next \
                     dev-up deletes it and creates it again, or run kind delete cluster --name \
                     {name}"
                );
                return;
            }
            if !super::cli::exists(&self.cli, name).await.unwrap_or(true) {
                self.marker.remove();
                tracing::warn!("deleted the unfinished kind cluster {name}");
                return;
            }
        }
        tracing::error!(
            "nodes of the unfinished kind cluster {name} keep appearing; the next dev-up \
             deletes it and creates it again, or run kind delete cluster --name {name}"
        );
    }
}

/// The config handed to `kind create cluster --config`, removed when dropped. It is written in
/// brrt's private folder (`0600`, never through a symlink), so nobody else can swap or read it.
struct ConfigFile {
    path: PathBuf,
}

impl ConfigFile {
    fn write(name: &str, config: &str) -> Result<Self> {
        let file_name = format!("kind-{name}-{}.yaml", std::process::id());
        let (mut file, path) = crate::ops::private_dir::open(&file_name)?;
        let written = ConfigFile { path };
        // A run killed before it removed its file, with this pid, may have left one.
        file.set_len(0)
            .and_then(|()| file.write_all(config.as_bytes()))
            .map_err(|e| Error::Other(format!("cannot write {}: {e}", written.path.display())))?;
        Ok(written)
    }
}

impl Drop for ConfigFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
