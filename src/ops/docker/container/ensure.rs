//! The ensure that makes the engine match a spec: create a container if absent, start it if
//! stopped, re-create it if its spec changed (through a [switch](super::switch)), and otherwise
//! leave it alone.
//!
//! Everything that can fail early does, before anything changes: the spec is checked, the
//! image is pulled, the ports are checked, and the name the old container goes aside under
//! must be free or brrt's own. A new container that does not start is removed, so no
//! crash-looping leftover looks "unchanged" to the next run.

use super::create::{create_and_start, start};
use super::image::ensure_image;
use super::ports::check_ports_free;
use super::ready::{wait_ready, Ready};
use super::remove::remove;
use super::switch::{check_aside_free, finish_switch, replace};
use super::{
    inspect_container, logs, ContainerSpec, ContainerState, MANAGED_LABEL, SPEC_HASH_LABEL,
};
use crate::ops::{Action, Error, Mode, Result};
use bollard::Docker;
use serde::Serialize;

/// The report of [`ensure_container`].
#[derive(Debug, Clone, Serialize)]
pub struct ContainerOutcome {
    pub name: String,
    pub action: Action,
    pub id: String,
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
