//! The old registry's name: putting it aside for brrt's push registry, putting it back after a
//! migration that could not finish, and removing it once its data is verified in the cache.

use super::legacy::{aside_name, check_legacy, inspect_one, legacy};
use super::verify::{verify, Served};
use crate::ops::docker::{self};
use crate::ops::registry::cache_spec::CacheSpec;
use crate::ops::{Action, Error, Mode, Result};
use bollard::Docker;
use serde::Serialize;
use std::collections::BTreeMap;

/// What putting the old registry aside did.
#[derive(Debug, Clone, Serialize)]
pub struct AsideOutcome {
    pub name: String,
    pub action: Action,
}

/// Stops the old registry `name` and renames it aside ([`aside_name`]), so that brrt's push
/// registry can take its name. `Unchanged` when it is aside already.
pub async fn set_aside(d: &Docker, name: &str, mode: Mode) -> Result<AsideOutcome> {
    let aside = aside_name(name);
    if let Some(found) = inspect_one(d, &aside, &BTreeMap::new()).await? {
        check_legacy(&found)?;
        return Ok(AsideOutcome {
            name: aside,
            action: Action::Unchanged,
        });
    }
    legacy(d, name).await?;
    if mode.announce(Action::Updated, &format!("rename {name} to {aside}")) {
        docker::stop_container(d, name).await?;
        docker::rename_container(d, name, &aside).await?;
    }
    Ok(AsideOutcome {
        name: aside,
        action: Action::Updated,
    })
}

/// Puts the old registry back under its name and starts it, after a migration that could not
/// finish. Refused while another container holds the name.
pub async fn put_back(d: &Docker, name: &str, mode: Mode) -> Result<Action> {
    let aside = aside_name(name);
    legacy(d, &aside).await?;
    if let Some(other) = docker::inspect_container(d, name).await? {
        return Err(Error::Other(format!(
            "{aside} cannot get its name back: {} holds it now",
            other.name
        )));
    }
    if mode.announce(
        Action::Updated,
        &format!("rename {aside} back to {name} and start it"),
    ) {
        docker::rename_container(d, &aside, name).await?;
        docker::start_container(d, name).await?;
    }
    Ok(Action::Updated)
}

/// What removing the old registry did.
#[derive(Debug, Clone, Serialize)]
pub struct RemovedLegacy {
    pub name: String,
    pub action: Action,
    /// Its data volume, kept: `docker volume rm` frees the space once the migration is trusted.
    pub kept_volume: Option<String>,
    /// What the check before the removal found the cache's volume to serve.
    pub served: Option<Served>,
}

/// Removes the old registry put aside, keeping its data volume, once [`verify`] finds that the
/// volume of the cache `spec` serves everything it held: never before, whatever calls this (its
/// data may live only in its own filesystem).
pub async fn remove_aside(
    d: &Docker,
    name: &str,
    spec: &CacheSpec,
    mode: Mode,
) -> Result<RemovedLegacy> {
    let aside = aside_name(name);
    let Some(found) = inspect_one(d, &aside, &BTreeMap::new()).await? else {
        return Ok(RemovedLegacy {
            name: aside,
            action: Action::Absent,
            kept_volume: None,
            served: None,
        });
    };
    check_legacy(&found)?;
    if !mode.announce(Action::Removed, &format!("container {aside}")) {
        return Ok(RemovedLegacy {
            name: aside,
            action: Action::Removed,
            kept_volume: found.data.volume,
            served: None,
        });
    }
    let served = verify(d, &aside, spec).await?;
    docker::remove_keeping_volumes(d, &aside).await?;
    Ok(RemovedLegacy {
        name: aside,
        action: Action::Removed,
        kept_volume: found.data.volume,
        served: Some(served),
    })
}
