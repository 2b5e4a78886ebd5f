//! The ensure that makes the engine match a spec, without ever losing a working container.
//!
//! Everything that can fail early does, before anything changes: the spec is checked, the
//! image is pulled, the ports are checked, and the name the old container goes aside under
//! must be free or brrt's own. A container whose spec changed is renamed aside (a refused
//! rename changes nothing) and then stopped, the new one is started and must become ready and
//! stay up for [`SETTLE`], and only then is the old one removed; if the new one does not, it
//! goes and the old one is renamed back and started again. A new container that does not
//! start is removed, so no crash-looping leftover looks "unchanged" to the next run.
//!
//! A switch runs to its end even when the run that started it is stopped (a new save under
//! `--watch`, Ctrl-C): it is a task of its own, and brrt waits for [`switches_settled`] before
//! it exits. One cut short by SIGKILL is finished by the next run ([`finish_switch`]).

use super::image::ensure_image;
use super::ports::check_ports_free;
use super::remove::{remove, stop};
use super::{
    inspect_container, logs, ContainerSpec, ContainerState, MANAGED_LABEL, SPEC_HASH_LABEL,
};
use crate::ops::{Action, Error, Mode, Result};
use bollard::query_parameters::{CreateContainerOptionsBuilder, RenameContainerOptionsBuilder};
use bollard::Docker;
use serde::Serialize;
use std::time::{Duration, Instant};

/// The report of [`ensure_container`].
#[derive(Debug, Clone, Serialize)]
pub struct ContainerOutcome {
    pub name: String,
    pub action: Action,
    pub id: String,
}

/// When a started container counts as up.
#[derive(Debug, Clone)]
pub enum Ready {
    /// The engine says it runs.
    Running,
    /// `GET path` on the loopback port published for `container_port` (`5000/tcp`) gets an
    /// HTTP answer within `within`.
    Http {
        container_port: &'static str,
        path: &'static str,
        within: Duration,
    },
}

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

/// Makes the container match `spec`: create it if absent, start it if stopped, re-create it if
/// its spec changed, and otherwise leave it alone. A started container must run.
pub async fn ensure_container(
    docker: &Docker,
    spec: &ContainerSpec,
    mode: Mode,
) -> Result<ContainerOutcome> {
    ensure_container_ready(docker, spec, mode, &Ready::Running).await
}

/// [`ensure_container`], where a (re)started container must also pass `ready`.
pub async fn ensure_container_ready(
    docker: &Docker,
    spec: &ContainerSpec,
    mode: Mode,
    ready: &Ready,
) -> Result<ContainerOutcome> {
    spec.validate()?;
    let what = format!("container {}", spec.name);
    let outcome = |action, id: &str| ContainerOutcome {
        name: spec.name.clone(),
        action,
        id: id.to_string(),
    };
    if !mode.dry_run {
        finish_switch(docker, &spec.name, ready).await?;
    }
    let Some(current) = inspect_container(docker, &spec.name).await? else {
        if !mode.announce(Action::Created, &what) {
            return Ok(outcome(Action::Created, ""));
        }
        ensure_image(docker, &spec.image).await?;
        check_ports_free(docker, &spec.name, &spec.ports, None).await?;
        let id = create_and_start(docker, spec, &[]).await?;
        if let Err(reason) = wait_ready(docker, &spec.name, ready).await {
            let tail = logs(docker, &spec.name, 200).await.unwrap_or_default();
            remove(docker, &spec.name).await?;
            return Err(Error::NotStarted {
                container: spec.name.clone(),
                reason,
                logs: tail,
                old_restored: false,
            });
        }
        return Ok(outcome(Action::Created, &id));
    };
    if !current.labels.contains_key(MANAGED_LABEL) {
        return Err(Error::NotOurs {
            what: "container".into(),
            name: spec.name.clone(),
            advice: format!(
                "pick another name for brrt's container in the config, or remove that one \
                 yourself (`docker rm -f {}`) if it is yours to lose",
                spec.name
            ),
        });
    }
    if current.labels.get(SPEC_HASH_LABEL) != Some(&spec.hash())
        || !spec.secrets_match(&current.env)
    {
        if !mode.announce(Action::Recreated, &what) {
            return Ok(outcome(Action::Recreated, &current.id));
        }
        ensure_image(docker, &spec.image).await?;
        // Check before touching the old one: a taken port must not cost the user a container.
        check_ports_free(docker, &spec.name, &spec.ports, Some(&current)).await?;
        check_aside_free(docker, &spec.name).await?;
        let id = replace(docker, spec, &current, ready).await?;
        return Ok(outcome(Action::Recreated, &id));
    }
    if !current.running {
        if mode.announce(Action::Started, &what) {
            start(docker, &spec.name).await?;
            if let Err(reason) = wait_ready(docker, &spec.name, ready).await {
                return Err(Error::NotStarted {
                    container: spec.name.clone(),
                    reason,
                    logs: logs(docker, &spec.name, 200).await.unwrap_or_default(),
                    old_restored: false,
                });
            }
        }
        return Ok(outcome(Action::Started, &current.id));
    }
    if let Some(network) = spec.network.as_deref() {
        // Someone disconnected it: the spec hash cannot tell, the endpoint list can.
        if !current.networks.iter().any(|n| n == network) {
            crate::ops::docker::connect_network(docker, network, &spec.name, mode).await?;
            return Ok(outcome(Action::Updated, &current.id));
        }
    }
    Ok(outcome(Action::Unchanged, &current.id))
}

/// The container, when it already is exactly what `spec` asks for: created by brrt from this
/// spec, with these secrets, running, and on its network. One inspect, no change.
pub async fn current_container(
    docker: &Docker,
    spec: &ContainerSpec,
) -> Result<Option<ContainerState>> {
    let Some(state) = inspect_container(docker, &spec.name).await? else {
        return Ok(None);
    };
    Ok(is_current(&state, spec).then_some(state))
}

/// Whether a container, as just inspected, already is exactly what `spec` asks for (see
/// [`current_container`]).
pub fn is_current(state: &ContainerState, spec: &ContainerSpec) -> bool {
    state.running
        && state.labels.contains_key(MANAGED_LABEL)
        && state.labels.get(SPEC_HASH_LABEL) == Some(&spec.hash())
        && spec.secrets_match(&state.env)
        && spec
            .network
            .as_ref()
            .is_none_or(|n| state.networks.contains(n))
}

/// Starts the new container in the old one's place, in a task that outlives a cancelled caller.
async fn replace(
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
async fn check_aside_free(docker: &Docker, name: &str) -> Result<()> {
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

/// Creates the container, connects it to `join` beside its own network (before it starts, so
/// that nothing it does at start, a name it resolves, races a network being added), and
/// starts it.
async fn create_and_start(
    docker: &Docker,
    spec: &ContainerSpec,
    join: &[String],
) -> Result<String> {
    let body = spec.create_body()?;
    let opts = CreateContainerOptionsBuilder::default()
        .name(&spec.name)
        .build();
    let created = docker
        .create_container(Some(opts), body)
        .await
        .map_err(|e| Error::docker(format!("create container {}", spec.name), e))?;
    for network in join {
        let joined =
            crate::ops::docker::connect_network(docker, network, &spec.name, Mode::default()).await;
        if let Err(e) = joined {
            let _ = remove(docker, &spec.name).await;
            return Err(e);
        }
    }
    if let Err(e) = start(docker, &spec.name).await {
        // Created but not startable (a port taken in the meantime, a bad mount): leave nothing.
        let _ = remove(docker, &spec.name).await;
        return Err(e);
    }
    Ok(created.id)
}

/// Starts a stopped container.
pub async fn start(docker: &Docker, name: &str) -> Result<()> {
    docker
        .start_container(name, None)
        .await
        .map_err(|e| Error::docker(format!("start container {name}"), e))
}

/// Watches a container that has just passed its readiness check for `period`: it must keep
/// running without a restart, or the reason is returned.
async fn stays_up(docker: &Docker, name: &str, period: Duration) -> Result<(), String> {
    let until = Instant::now() + period;
    loop {
        let state = inspect_container(docker, name)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "it disappeared".to_string())?;
        if state.restart_count > 0 || state.status == "restarting" {
            return Err(format!(
                "it answered, then restarted within {} s",
                period.as_secs()
            ));
        }
        if !state.running {
            return Err(format!(
                "it answered, then stopped within {} s ({})",
                period.as_secs(),
                state.status
            ));
        }
        if Instant::now() >= until {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until a started container passes `ready`, or says why it did not. A container that
/// stopped or restarted in the meantime has failed.
async fn wait_ready(docker: &Docker, name: &str, ready: &Ready) -> Result<(), String> {
    let (container_port, path, within) = match ready {
        Ready::Running => (None, "", Duration::from_secs(2)),
        Ready::Http {
            container_port,
            path,
            within,
        } => (Some(*container_port), *path, *within),
    };
    let deadline = Instant::now() + within;
    let http = crate::ops::http_client::builder()
        .timeout(Duration::from_secs(1))
        .build()
        .map_err(|e| e.to_string())?;
    loop {
        let state = inspect_container(docker, name)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "it disappeared".to_string())?;
        if state.restart_count > 0 || state.status == "restarting" {
            return Err("it keeps restarting".into());
        }
        if !state.running {
            return Err(format!("it stopped ({})", state.status));
        }
        let Some(port) = container_port else {
            return Ok(());
        };
        if let Some(addr) = state.ports.get(port) {
            let answered = http
                .get(format!(
                    "{}{path}",
                    crate::ops::loopback::loopback_url(addr)
                ))
                .send()
                .await
                .is_ok_and(|r| r.status().as_u16() < 500);
            if answered {
                return Ok(());
            }
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "it did not answer {path} within {} s",
                within.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
