//! The old registry's upstream credentials, handed to brrt's cache for the rest of the process
//! and never to a script, a label or the terminal.

use super::legacy::{aside_name, legacy};
use crate::ops::docker::{self, MANAGED_LABEL};
use crate::ops::{upstream, Error, Result};
use bollard::Docker;
use serde::Serialize;

/// What carrying an old registry's credentials over did.
#[derive(Debug, Clone, Serialize)]
pub struct CarriedCredentials {
    pub upstream: String,
    /// brrt's cache uses the old registry's credentials for the rest of this run.
    pub carried: bool,
    /// BRRT_<UPSTREAM>_USERNAME/_PASSWORD are set, and so used instead.
    pub from_environment: bool,
    pub username_var: String,
    pub password_var: String,
}

/// Hands the old registry's upstream credentials (`REGISTRY_PROXY_USERNAME`/`_PASSWORD`, or a
/// user and password in its remote URL) to brrt's cache for `host`, the upstream it stands
/// for, for the rest of this process, unless `BRRT_<UPSTREAM>_USERNAME`/`_PASSWORD` are set.
/// They never reach a script, a label or the terminal.
pub async fn carry_credentials(d: &Docker, name: &str, host: &str) -> Result<CarriedCredentials> {
    let at = match docker::inspect_container(d, name).await? {
        Some(c) if !c.labels.contains_key(MANAGED_LABEL) => name.to_string(),
        _ => aside_name(name),
    };
    legacy(d, &at).await?;
    let state = docker::inspect_container(d, &at)
        .await?
        .ok_or_else(|| Error::Other(format!("no container named {at}")))?;
    let env = |key: &str| {
        state
            .env
            .iter()
            .find_map(|e| e.strip_prefix(&format!("{key}=")))
            .map(str::to_string)
    };
    upstream::check_host(host).map_err(Error::InvalidSpec)?;
    let (username_var, password_var) = upstream::credential_vars(host);
    let from_environment =
        std::env::var_os(&username_var).is_some() && std::env::var_os(&password_var).is_some();
    let from_url = env("REGISTRY_PROXY_REMOTEURL").and_then(|url| {
        let (_, rest) = url.split_once("://")?;
        let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
        let (user_info, _) = authority.rsplit_once('@')?;
        let (user, pass) = user_info.split_once(':').unwrap_or((user_info, ""));
        Some((user.to_string(), pass.to_string()))
    });
    let found = match (
        env("REGISTRY_PROXY_USERNAME"),
        env("REGISTRY_PROXY_PASSWORD"),
    ) {
        (Some(user), pass) => Some((user, pass.unwrap_or_default())),
        (None, _) => from_url,
    };
    let carried = match found {
        Some((user, pass)) if !from_environment => {
            upstream::carry_credentials(host, user, pass);
            true
        }
        _ => false,
    };
    Ok(CarriedCredentials {
        upstream: host.to_string(),
        carried,
        from_environment,
        username_var,
        password_var,
    })
}
