//! The old registry as `migrate` finds it: where it keeps its data and its config, the remote it
//! proxies, and the refusal of any registry that is not an old proxy brrt may take over.

use super::stored::{stored_index, StoredTag};
use super::ASIDE_SUFFIX;
use crate::ops::docker::{self, MANAGED_LABEL};
use crate::ops::registry::container::DATA_DIR;
use crate::ops::{upstream, Error, Result};
use bollard::Docker;
use serde::Serialize;
use std::collections::BTreeMap;

/// Where a registry keeps its data.
#[derive(Debug, Clone, Serialize)]
pub struct DataSource {
    /// `volume`, `anonymous volume`, `bind mount` or `container filesystem`.
    pub kind: String,
    /// The volume's name, for a volume.
    pub volume: Option<String>,
    /// Where the data is on the engine's host, when known.
    pub source: Option<String>,
    /// The path inside the container: `/var/lib/registry`.
    pub path: String,
}

/// A registry container found at a name, as `migrate` sees it.
#[derive(Debug, Clone, Serialize)]
pub struct LegacyRegistry {
    /// Its name now: the registry's name, or with [`ASIDE_SUFFIX`] when a migration put it aside.
    pub name: String,
    /// Whether it is the one a migration put aside.
    pub aside: bool,
    pub id: String,
    pub image: String,
    pub running: bool,
    pub status: String,
    /// brrt created it (then there is nothing to migrate).
    pub managed: bool,
    /// The remote it proxies (`REGISTRY_PROXY_REMOTEURL`, or `proxy.remoteurl` in its config
    /// file), without any user or password it holds; `None` when it is no pull-through cache.
    pub remote: Option<String>,
    /// It logs in to its upstream (`REGISTRY_PROXY_USERNAME`/`_PASSWORD`, or a user in its
    /// remote URL). The credentials themselves never leave ops.
    pub logs_in: bool,
    /// The upstream host that remote stands for (`https://registry-1.docker.io` → `docker.io`).
    pub upstream: Option<String>,
    pub data: DataSource,
    /// Bytes of data; -1 when they cannot be measured from here (a remote engine).
    pub size: i64,
    /// What its storage holds.
    pub tags: Vec<StoredTag>,
    pub networks: Vec<String>,
    pub ports: BTreeMap<String, String>,
}

impl LegacyRegistry {
    fn is_proxy(&self) -> bool {
        self.remote.is_some()
    }
}

/// The registry at `name`, unless brrt made it and a migration of `name` put the old one aside
/// (a migration to resume); `None` when neither exists. `remotes` (the config's
/// `cache.remotes`) maps a remote back to its upstream first.
pub async fn inspect(
    d: &Docker,
    name: &str,
    remotes: &BTreeMap<String, String>,
) -> Result<Option<LegacyRegistry>> {
    let at_name = inspect_one(d, name, remotes).await?;
    if at_name.as_ref().is_some_and(|r| !r.managed) {
        return Ok(at_name);
    }
    match inspect_one(d, &aside_name(name), remotes).await? {
        Some(old) if !old.managed => Ok(Some(LegacyRegistry { aside: true, ..old })),
        _ => Ok(at_name),
    }
}

/// `kind-registry` → `kind-registry-pre-brrt`.
pub fn aside_name(name: &str) -> String {
    format!("{name}{ASIDE_SUFFIX}")
}

pub(super) async fn inspect_one(
    d: &Docker,
    name: &str,
    remotes: &BTreeMap<String, String>,
) -> Result<Option<LegacyRegistry>> {
    let raw = match d.inspect_container(name, None).await {
        Ok(c) => c,
        Err(e) if docker::is_not_found(&e) => return Ok(None),
        Err(e) => return Err(Error::docker(format!("inspect container {name}"), e)),
    };
    let Some(state) = docker::inspect_container(d, name).await? else {
        return Ok(None);
    };
    let config = raw.config.unwrap_or_default();
    let env = config.env.unwrap_or_default();
    let env_value = |key: &str| {
        env.iter()
            .find_map(|e| e.strip_prefix(&format!("{key}=")))
            .map(str::to_string)
    };
    let path = env_value("REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY")
        .unwrap_or_else(|| DATA_DIR.to_string());
    let remote = match env_value("REGISTRY_PROXY_REMOTEURL") {
        Some(r) => Some(r),
        None => {
            let files = config_files(
                env_value("REGISTRY_CONFIGURATION_PATH").as_deref(),
                config.entrypoint.as_deref().unwrap_or_default(),
                config.cmd.as_deref().unwrap_or_default(),
            );
            remote_in_config_file(d, name, &files).await
        }
    };
    let (remote, in_url) = match remote {
        Some(r) => {
            let (plain, had) = upstream::without_credentials(&r);
            (Some(plain), had)
        }
        None => (None, false),
    };
    let logs_in = in_url || env_value("REGISTRY_PROXY_USERNAME").is_some();
    let upstream = remote
        .as_deref()
        .and_then(|r| upstream::host_for_remote(r, remotes));
    let mount = raw
        .mounts
        .unwrap_or_default()
        .into_iter()
        .find(|m| m.destination.as_deref() == Some(path.as_str()));
    let data = match mount {
        Some(m) if m.typ.as_deref() == Some("volume") => {
            let volume = m.name.unwrap_or_default();
            let anonymous = volume.len() == 64 && volume.chars().all(|c| c.is_ascii_hexdigit());
            DataSource {
                kind: if anonymous {
                    "anonymous volume"
                } else {
                    "volume"
                }
                .to_string(),
                volume: Some(volume),
                source: m.source,
                path: path.clone(),
            }
        }
        Some(m) => DataSource {
            kind: "bind mount".to_string(),
            volume: None,
            source: m.source,
            path: path.clone(),
        },
        None => DataSource {
            kind: "container filesystem".to_string(),
            volume: None,
            source: None,
            path: path.clone(),
        },
    };
    let size = match (&data.volume, &data.source) {
        (Some(v), _) => docker::volume_size(d, v).await?,
        (None, Some(dir)) if data.kind == "bind mount" => docker::path_size(dir).await,
        _ => None,
    }
    .map_or(-1, |b| i64::try_from(b).unwrap_or(i64::MAX));
    let tags = stored_index(d, name, &path).await?.tags;
    Ok(Some(LegacyRegistry {
        name: name.to_string(),
        aside: false,
        id: state.id,
        image: state.image,
        running: state.running,
        status: state.status,
        managed: state.labels.contains_key(MANAGED_LABEL),
        remote,
        logs_in,
        upstream,
        data,
        size,
        tags,
        networks: state.networks,
        ports: state.ports,
    }))
}

/// Where a registry container may keep its config file, most certain first:
/// `REGISTRY_CONFIGURATION_PATH`; the argument after `serve` in its entrypoint and command
/// (`registry serve /etc/distribution/config.yml`); a `.yml`/`.yaml` argument (the official
/// images' entrypoint script adds `serve` itself); then where each image keeps it, v3's
/// `/etc/distribution/config.yml` and 2.x's `/etc/docker/registry/config.yml`.
fn config_files(env_path: Option<&str>, entrypoint: &[String], cmd: &[String]) -> Vec<String> {
    let args: Vec<&String> = entrypoint.iter().chain(cmd).collect();
    let after_serve = args
        .iter()
        .position(|a| a.as_str() == "serve")
        .and_then(|at| args.get(at + 1))
        .map(|a| a.as_str());
    let yaml = args
        .iter()
        .rev()
        .find(|a| a.ends_with(".yml") || a.ends_with(".yaml"))
        .map(|a| a.as_str());
    let mut files: Vec<String> = Vec::new();
    for file in [
        env_path,
        after_serve,
        yaml,
        Some("/etc/distribution/config.yml"),
        Some("/etc/docker/registry/config.yml"),
    ]
    .into_iter()
    .flatten()
    {
        if file.starts_with('/') && !files.iter().any(|f| f == file) {
            files.push(file.to_string());
        }
    }
    files
}

/// `proxy.remoteurl` in the registry's config file, the first of `files` the container has,
/// for a proxy configured by file.
async fn remote_in_config_file(d: &Docker, container: &str, files: &[String]) -> Option<String> {
    for file in files {
        let Some((dir, name)) = file.rsplit_once('/') else {
            continue;
        };
        let found = docker::read_dir_files(d, container, dir).await.ok();
        let Some(text) = found.as_ref().and_then(|f| f.get(name)) else {
            continue;
        };
        let config: yaml_serde::Value = yaml_serde::from_str(text).ok()?;
        return config["proxy"]["remoteurl"]
            .as_str()
            .filter(|r| !r.is_empty())
            .map(str::to_string);
    }
    None
}

/// Refuses a container that is not an old proxy: brrt's own, or one that is no pull-through
/// cache (it may hold images pushed to it, which exist nowhere else).
pub(super) fn check_legacy(found: &LegacyRegistry) -> Result<()> {
    if found.managed {
        return Err(Error::Other(format!(
            "{} was created by brrt: there is nothing to migrate",
            found.name
        )));
    }
    if !found.is_proxy() {
        return Err(Error::Other(format!(
            "{} was not created by brrt and is no pull-through cache (it has no \
             REGISTRY_PROXY_REMOTEURL), so it may hold images pushed to it: brrt leaves it alone",
            found.name
        )));
    }
    Ok(())
}

pub(super) async fn legacy(d: &Docker, name: &str) -> Result<LegacyRegistry> {
    let found = inspect_one(d, name, &BTreeMap::new())
        .await?
        .ok_or_else(|| Error::Other(format!("no container named {name}")))?;
    check_legacy(&found)?;
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_string()).collect()
    }

    #[test]
    fn a_config_file_is_looked_for_where_each_image_keeps_it() {
        // registry:3 (its entrypoint script adds `serve`), then registry:2.
        let v3 = config_files(
            None,
            &strings(&["/entrypoint.sh"]),
            &strings(&["/etc/distribution/config.yml"]),
        );
        assert_eq!(v3[0], "/etc/distribution/config.yml");
        let v2 = config_files(
            None,
            &strings(&["/entrypoint.sh"]),
            &strings(&["/etc/docker/registry/config.yml"]),
        );
        assert_eq!(v2[0], "/etc/docker/registry/config.yml");
        // `serve` and its argument, in the entrypoint or the command.
        let served = config_files(
            None,
            &strings(&["/bin/registry", "serve"]),
            &strings(&["/srv/registry.conf"]),
        );
        assert_eq!(served[0], "/srv/registry.conf");
        // The environment says it plainly; nothing said: both images' places.
        let env = config_files(Some("/cfg/proxy.yml"), &[], &strings(&["serve", "/x.yml"]));
        assert_eq!(env[..2], ["/cfg/proxy.yml", "/x.yml"]);
        assert_eq!(
            config_files(None, &[], &[]),
            [
                "/etc/distribution/config.yml",
                "/etc/docker/registry/config.yml"
            ]
        );
    }
}
