//! One cache per upstream serves every cluster on the engine, so the configs that use a cache
//! all have a say in its settings (image, remote, TTL, offline, login). A config that wants a
//! cache otherwise while another cluster uses it must not switch it back and forth on every
//! run: the change is refused before anything changes, naming the setting, both values and the
//! other cluster, unless that cluster's config (named in its nodes' mirrors) wants the same now.

use super::cache_container::{LOGIN_LABEL, MODE_LABEL, MODE_OFFLINE, REMOTE_LABEL, TTL_LABEL};
use super::cache_spec::CacheSpec;
use super::users::{users_of, ClusterUse};
use crate::ops::brrt_config::{self, BrrtConfig};
use crate::ops::docker::{ContainerState, MANAGED_LABEL};
use crate::ops::{upstream, Error, Result};
use bollard::Docker;

/// The settings of a cache that come from the configs using it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheSettings {
    pub image: String,
    pub remote: String,
    pub ttl: Option<String>,
    pub offline: bool,
}

impl CacheSettings {
    /// What a spec asks for.
    pub fn of_spec(spec: &CacheSpec) -> Result<CacheSettings> {
        Ok(CacheSettings {
            image: spec.image.clone(),
            remote: spec.resolve_upstream()?.remote,
            ttl: spec.ttl.clone(),
            offline: spec.offline,
        })
    }

    /// What a cache container runs with, from its labels and its image (an inspected state:
    /// a listing may show an image by its id). `None` for a cache from before brrt labelled
    /// its settings.
    pub fn of_container(state: &ContainerState) -> Option<CacheSettings> {
        Some(CacheSettings {
            image: state.image.clone(),
            remote: state.labels.get(REMOTE_LABEL)?.clone(),
            ttl: state.labels.get(TTL_LABEL).cloned(),
            offline: state.labels.get(MODE_LABEL).map(String::as_str) == Some(MODE_OFFLINE),
        })
    }

    /// What a config wants for the cache of `host` in the set `set`; `None` when it wants no
    /// such cache (caches off, the upstream not listed, a team cache, another set).
    pub fn of_config(config: &BrrtConfig, set: &str, host: &str) -> Option<CacheSettings> {
        let cache = &config.cache;
        let wanted = cache.enabled
            && cache.name == set
            && cache.upstreams.iter().any(|u| u == host)
            && !cache.team_caches.contains_key(host);
        if !wanted {
            return None;
        }
        Some(CacheSettings {
            image: cache.image.clone(),
            remote: upstream::resolve(host, &cache.remotes).ok()?.remote,
            ttl: cache.ttl.clone(),
            offline: cache.offline,
        })
    }

    /// Each setting that differs, as brrt.toml names it: `(key, ours, theirs)`.
    fn differences(&self, theirs: &CacheSettings, host: &str) -> Vec<(String, String, String)> {
        let shown = |v: &Option<String>| match v {
            Some(v) => format!("{v:?}"),
            None => "unset".to_string(),
        };
        let mut out = Vec::new();
        if self.image != theirs.image {
            out.push((
                "cache.image".to_string(),
                format!("{:?}", self.image),
                format!("{:?}", theirs.image),
            ));
        }
        if self.remote != theirs.remote {
            out.push((
                format!("the remote of {host} ([cache.remotes])"),
                format!("{:?}", self.remote),
                format!("{:?}", theirs.remote),
            ));
        }
        if self.ttl != theirs.ttl {
            out.push((
                "cache.ttl".to_string(),
                shown(&self.ttl),
                shown(&theirs.ttl),
            ));
        }
        if self.offline != theirs.offline {
            out.push((
                "cache.offline".to_string(),
                self.offline.to_string(),
                theirs.offline.to_string(),
            ));
        }
        out
    }
}

/// Refuses, before anything changes, to change a cache that another cluster uses when the
/// config asking for `spec` wants it otherwise than that cluster's config does, or when this
/// run would drop the login it pulls with. `current` is the cache container as inspected.
/// Settings that agree, a cache no other cluster uses, and one brrt did not create pass (the
/// last is refused elsewhere). The other clusters are read from their nodes only when a
/// setting differs.
pub async fn check_settings(d: &Docker, spec: &CacheSpec, current: &ContainerState) -> Result<()> {
    if agrees(spec, current)? {
        return Ok(());
    }
    let Some(running) = CacheSettings::of_container(current) else {
        return Ok(());
    };
    let ours = CacheSettings::of_spec(spec)?;
    let host = spec.upstream.as_str();
    let drops_login = drops_login(spec, current);
    let name = spec.name();
    let others: Vec<ClusterUse> = users_of(d, &name)
        .await?
        .into_iter()
        .filter(|u| spec.cluster.as_deref() != Some(u.cluster.as_str()))
        .collect();
    for other in &others {
        if drops_login {
            let (user_var, pass_var) = upstream::credential_vars(host);
            return Err(Error::Other(format!(
                "{name} logs in to {host} ({user_var} and {pass_var} were set for the run that \
                 made it) and serves kind cluster {} too; this run has neither, and would drop \
                 that login for every cluster it serves. Set {user_var} and {pass_var} here as \
                 well, then run again; nothing was changed",
                other.cluster
            )));
        }
        let (theirs, whose) = match &other.config {
            Some(path) => match read_config(path) {
                Ok(config) => match CacheSettings::of_config(&config, &spec.set, host) {
                    // Its next dev-up lets go of the cache: it has no say any more.
                    None => continue,
                    Some(wanted) => (wanted, format!("its config {path} wants")),
                },
                Err(why) => (
                    running.clone(),
                    format!("its config {path} cannot be read ({why}), and {name} runs with"),
                ),
            },
            None => (
                running.clone(),
                format!("an older brrt wired it, and {name} runs with"),
            ),
        };
        let differ = ours.differences(&theirs, host);
        if differ.is_empty() {
            continue;
        }
        let said: Vec<String> = differ
            .iter()
            .map(|(key, here, there)| format!("{key} {there}, where this config wants {here}"))
            .collect();
        let keys: Vec<&str> = differ.iter().map(|(k, _, _)| k.as_str()).collect();
        return Err(Error::Other(format!(
            "{name} serves kind cluster {} too, and {whose} {}. One cache per upstream serves \
             every cluster, so brrt changes nothing rather than switch it back and forth on \
             every run: give both configs the same {} (then either one's dev-up applies it), \
             or give this config caches of its own with another [cache] name (its clusters \
             then keep their own copy of every layer)",
            other.cluster,
            said.join("; "),
            keys.join(" and ")
        )));
    }
    Ok(())
}

/// Whether `spec` asks for nothing a cache container does not have already, as far as its
/// settings go (other differences, a port layout from an older brrt say, are brrt's own to
/// make); true too for one brrt did not create or from before brrt labelled its settings.
/// Works on a listing as well, where an image may show by its id: that reads as a difference,
/// and [`check_settings`] then looks closer.
pub fn agrees(spec: &CacheSpec, current: &ContainerState) -> Result<bool> {
    if !current.labels.contains_key(MANAGED_LABEL) {
        return Ok(true);
    }
    let Some(running) = CacheSettings::of_container(current) else {
        return Ok(true);
    };
    Ok(CacheSettings::of_spec(spec)? == running && !drops_login(spec, current))
}

/// Whether ensuring `spec` would drop the login to its upstream that the cache has: this run
/// has no credentials for it.
fn drops_login(spec: &CacheSpec, current: &ContainerState) -> bool {
    current.labels.contains_key(LOGIN_LABEL)
        && !spec.offline
        && upstream::credentials(&spec.upstream).is_none()
}

/// Another config, read and checked as brrt reads its own.
fn read_config(path: &str) -> std::result::Result<BrrtConfig, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    brrt_config::parse(path, &text).map_err(|e| {
        let first = e.to_string();
        first.lines().next().unwrap_or_default().to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> BrrtConfig {
        brrt_config::parse("brrt.toml", text).unwrap()
    }

    #[test]
    fn a_config_wants_a_cache_of_its_set_for_the_upstreams_it_lists() {
        let c = config(
            "[cache]\nupstreams = [\"docker.io\", \"quay.io\"]\nttl = \"24h\"\n\
             [cache.remotes]\n\"docker.io\" = \"https://mirror.example\"\n\
             [cache.shared]\n\"quay.io\" = \"https://team.example\"\n",
        );
        let wanted = CacheSettings::of_config(&c, "brrt-cache", "docker.io").unwrap();
        assert_eq!(wanted.remote, "https://mirror.example");
        assert_eq!(wanted.ttl.as_deref(), Some("24h"));
        assert_eq!(wanted.image, "registry:3");
        assert!(CacheSettings::of_config(&c, "brrt-cache", "quay.io").is_none());
        assert!(CacheSettings::of_config(&c, "brrt-cache", "ghcr.io").is_none());
        assert!(CacheSettings::of_config(&c, "other", "docker.io").is_none());
    }

    #[test]
    fn differences_are_named_as_brrt_toml_names_them() {
        let a = CacheSettings {
            image: "registry:3".into(),
            remote: "https://registry-1.docker.io".into(),
            ttl: Some("24h".into()),
            offline: false,
        };
        let b = CacheSettings {
            ttl: None,
            ..a.clone()
        };
        assert_eq!(
            a.differences(&b, "docker.io"),
            [(
                "cache.ttl".to_string(),
                "\"24h\"".to_string(),
                "unset".to_string()
            )]
        );
        assert!(a.differences(&a, "docker.io").is_empty());
    }
}
