//! Replacing a container without ever losing a working one.
//!
//! A container whose spec changed is renamed aside (a refused rename changes nothing) and then
//! stopped, the new one is started and must become ready and stay up for [`SETTLE`], and only
//! then is the old one removed; if the new one does not, it goes and the old one is renamed
//! back and started again.
//!
//! A switch runs to its end even when the run that started it is stopped (a new save under
//! `--watch`, Ctrl-C): it is a task of its own, and brrt waits for [`switches_settled`] before
//! it exits. One cut short by SIGKILL is finished by the next run ([`finish_switch`]).

use super::create::{create_and_start, start};
use super::ready::{stays_up, wait_ready, Ready};
use super::remove::{remove, stop};
use super::{inspect_container, logs, ContainerSpec, ContainerState, MANAGED_LABEL};
use crate::ops::{Error, Result};
use bollard::query_parameters::RenameContainerOptionsBuilder;
use bollard::Docker;
use serde::Serialize;
use std::time::Duration;

/// The suffix of a container renamed aside while its replacement starts.
pub const ASIDE: &str = "-brrt-old";

/// How long a new container must stay up after it first passed its readiness check before the
/// one it replaces is removed: a registry that answers once and then crashes (a bad config
/// read late, a port it cannot bind) must not cost the user the working one.
pub const SETTLE: Duration = Duration::from_secs(3);

/// Held for the whole of a switch, and while a container left aside is put back.
static SWITCHING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Held by a change that must run to its end even when the run that started it is stopped
/// (a switch, migrate's copy): take it before spawning the task that makes the change, and
/// move it in, so brrt's exit waits for the task ([`switches_settled`]).
pub async fn switch_guard() -> tokio::sync::MutexGuard<'static, ()> {
    SWITCHING.lock().await
}

/// Waits until no switch is under way. Whoever stops the runtime calls this first, so that an
/// interrupted run never leaves the old container aside and nothing serving under its name.
pub async fn switches_settled() {
    drop(SWITCHING.lock().await);
}

/// Starts the new container in the old one's place, in a task that outlives a cancelled caller.
pub(super) async fn replace(
    docker: &Docker,
    spec: &ContainerSpec,
    old: &ContainerState,
    ready: &Ready,
) -> Result<String> {
    let (docker, spec, old, ready) = (docker.clone(), spec.clone(), old.clone(), ready.clone());
    let switching = switch_guard().await;
    let task = tokio::spawn(async move {
        let _switching = switching;
        switch(&docker, &spec, &old, &ready).await
    });
    task.await
        .map_err(|e| Error::Other(format!("replacing a container failed: {e}")))?
}

/// The switch itself: the old container stays, renamed aside and stopped, until the new one is
/// ready and has stayed up for [`SETTLE`]. Returns the new container's id.
async fn switch(
    docker: &Docker,
    spec: &ContainerSpec,
    old: &ContainerState,
    ready: &Ready,
) -> Result<String> {
    let aside = aside_name(&spec.name);
    set_aside(docker, old, &aside).await?;
    let started = match create_and_start(docker, spec, &networks_to_join(spec, old)).await {
        Ok(id) => match wait_ready(docker, &spec.name, ready).await {
            Ok(()) => stays_up(docker, &spec.name, SETTLE).await.map(|()| id),
            Err(reason) => Err(reason),
        },
        Err(e) => Err(e.to_string()),
    };
    match started {
        Ok(id) => {
            remove(docker, &aside).await?;
            Ok(id)
        }
        Err(reason) => {
            let tail = logs(docker, &spec.name, 200).await.unwrap_or_default();
            remove(docker, &spec.name).await?;
            rename(docker, &aside, &spec.name).await?;
            // "Back and serving" is said only once it answers again, as a new one must.
            let serving = if old.running {
                start(docker, &spec.name).await?;
                wait_ready(docker, &spec.name, ready).await.is_ok()
            } else {
                true
            };
            Err(Error::NotStarted {
                container: spec.name.clone(),
                reason,
                logs: tail,
                old_restored: serving,
            })
        }
    }
}

/// The networks a replacement of a container that joins networks is connected to beside its
/// own: every network the old one was on, each serving someone (a cluster on that network)
/// the spec does not name.
fn networks_to_join(spec: &ContainerSpec, old: &ContainerState) -> Vec<String> {
    if !spec.joins_networks {
        return Vec::new();
    }
    old.networks
        .iter()
        .filter(|n| spec.network.as_ref() != Some(*n))
        .cloned()
        .collect()
}

/// `<name>-brrt-old`: where a container waits while its replacement starts.
pub fn aside_name(name: &str) -> String {
    format!("{name}{ASIDE}")
}

/// Refuses a switch whose aside name is held by a container brrt did not create, before
/// anything changes. A stopped aside of brrt's own is a leftover that [`finish_switch`] did
/// not settle (the current container was kept): it goes.
pub(super) async fn check_aside_free(docker: &Docker, name: &str) -> Result<()> {
    let aside = aside_name(name);
    match inspect_container(docker, &aside).await? {
        Some(c) if !c.labels.contains_key(MANAGED_LABEL) => Err(Error::NotOurs {
            what: "container".into(),
            name: aside,
            advice: format!(
                "brrt renames {name} to that name while its replacement starts; rename or \
                 remove that container, and run again ({name} was not touched)"
            ),
        }),
        _ => Ok(()),
    }
}

/// Renames the old container aside, then stops it. A refused rename changes nothing, so the
/// old container goes on serving; only one that is restarting, and so serves nothing, is
/// stopped first (Docker 20.10 cannot rename a restarting container: "sandbox not found").
async fn set_aside(docker: &Docker, old: &ContainerState, aside: &str) -> Result<()> {
    if let Some(left) = inspect_container(docker, aside).await? {
        if !left.labels.contains_key(MANAGED_LABEL) {
            return check_aside_free(docker, &old.name).await;
        }
        remove(docker, aside).await?;
    }
    if let Err(refused) = rename(docker, &old.id, aside).await {
        let now = inspect_container(docker, &old.id).await?;
        if !now.is_some_and(|c| c.status == "restarting" || !c.running) {
            return Err(refused);
        }
        stop(docker, &old.id).await?;
        if let Err(e) = rename(docker, &old.id, aside).await {
            // As it was: its restart policy takes over again.
            let _ = start(docker, &old.id).await;
            return Err(e);
        }
        return Ok(());
    }
    if let Err(e) = stop(docker, aside).await {
        let _ = rename(docker, aside, &old.name).await;
        return Err(e);
    }
    Ok(())
}

/// How [`finish_switch`] finished a switch a killed run left half done.
#[derive(Debug, Clone, Serialize)]
pub struct FinishedSwitch {
    /// The container that was left aside, `<name>-brrt-old`.
    pub name: String,
    /// `removed` (the new container serves) or `put back` (it did not, or there was none).
    pub action: String,
    /// The sentence said on stderr.
    pub said: String,
}

/// Finishes a switch that a run killed half-way left behind: `<name>-brrt-old`, brrt's, beside
/// `name` or instead of it. With nothing at `name`, the old container is put back and started.
/// With brrt's new container there, it is kept and the old one removed if it passes `ready`,
/// else the new one is removed and the old one put back. Says on stderr which it did; `None`
/// when there was nothing to finish.
pub async fn finish_switch(
    docker: &Docker,
    name: &str,
    ready: &Ready,
) -> Result<Option<FinishedSwitch>> {
    // A switch an interrupted run started may still be going: it finishes first.
    let _switching = SWITCHING.lock().await;
    let aside = aside_name(name);
    let Some(left) = inspect_container(docker, &aside).await? else {
        return Ok(None);
    };
    if !left.labels.contains_key(MANAGED_LABEL) {
        return Ok(None);
    }
    let (action, said) = match inspect_container(docker, name).await? {
        None => {
            rename(docker, &aside, name).await?;
            start(docker, name).await?;
            (
                "put back",
                format!(
                    "{aside} was left aside by an interrupted switch, with nothing at {name}: it \
                     is back as {name} and running"
                ),
            )
        }
        Some(new) if !new.labels.contains_key(MANAGED_LABEL) => {
            tracing::warn!(
                "{aside} was left aside by an interrupted switch, but {name} is a container brrt \
                 did not create: both are left as they are"
            );
            return Ok(None);
        }
        Some(new) => {
            let serves = if new.running {
                wait_ready(docker, name, ready).await
            } else {
                Err(format!("it is {}", new.status))
            };
            match serves {
                Ok(()) => {
                    remove(docker, &aside).await?;
                    (
                        "removed",
                        format!(
                            "{aside} was left aside by an interrupted switch; the new {name} \
                             serves, so {aside} was removed"
                        ),
                    )
                }
                Err(why) => {
                    remove(docker, name).await?;
                    rename(docker, &aside, name).await?;
                    start(docker, name).await?;
                    (
                        "put back",
                        format!(
                            "{aside} was left aside by an interrupted switch, and the new {name} \
                             does not serve ({why}): it was removed, and {aside} is back as \
                             {name} and running"
                        ),
                    )
                }
            }
        }
    };
    tracing::warn!("{said}");
    Ok(Some(FinishedSwitch {
        name: aside,
        action: action.into(),
        said,
    }))
}

/// Renames a container.
pub async fn rename(docker: &Docker, from: &str, to: &str) -> Result<()> {
    let opts = RenameContainerOptionsBuilder::default().name(to).build();
    docker
        .rename_container(from, opts)
        .await
        .map_err(|e| Error::docker(format!("rename container {from} to {to}"), e))
}
