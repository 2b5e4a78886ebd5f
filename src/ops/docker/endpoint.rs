//! Which engine brrt talks to, found the way the docker CLI (and so kind) finds it: Docker
//! Desktop, colima, rootless Docker and remote engines are reached through a Docker context.
//!
//! The order is the docker CLI's (`resolveContextName` in docker/cli): a non-empty
//! `DOCKER_HOST` wins and means the default context; then `DOCKER_CONTEXT`; then
//! `currentContext` in `config.json`; then the default context, the engine's socket
//! `/var/run/docker.sock`. The config folder is `DOCKER_CONFIG`, else `~/.docker`. A context
//! lives in `contexts/meta/<sha256 of its name>/meta.json` there, and its Docker endpoint is
//! `Endpoints.docker.Host`.

use crate::ops::digest::sha256_hex;
use crate::ops::{Error, Result};
use std::fmt;
use std::path::{Path, PathBuf};

/// The engine's socket when nothing says otherwise (the docker CLI's default on Linux/macOS).
pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";
/// The name of the context that means "`DOCKER_HOST`, or the default socket".
const DEFAULT_CONTEXT: &str = "default";

/// The engine brrt talks to, and how it was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The engine's address: `unix:///…`, `tcp://…`.
    pub host: String,
    /// The Docker context it came from, unless that is the default context.
    pub context: Option<String>,
    /// What chose it: `DOCKER_HOST`, `DOCKER_CONTEXT`, the config.json that names the current
    /// context, or `the default socket`.
    pub source: String,
    /// The context has TLS material (`contexts/tls/<id>/docker/`).
    pub tls: bool,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.context {
            Some(name) => write!(f, "{} (Docker context {name})", self.host),
            None => f.write_str(&self.host),
        }
    }
}

/// What the resolution reads from the process: its environment variables.
pub(crate) trait Env {
    fn var(&self, key: &str) -> Option<String>;
}

/// The real environment.
struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, key: &str) -> Option<String> {
        std::env::var(key).ok()
    }
}

/// The engine brrt talks to, resolved now from the environment and the docker CLI's files.
pub fn endpoint() -> Result<Endpoint> {
    resolve(&ProcessEnv)
}

/// [`endpoint`], from `env`.
pub(crate) fn resolve(env: &dyn Env) -> Result<Endpoint> {
    let set = |key: &str| env.var(key).filter(|v| !v.is_empty());
    if let Some(host) = set("DOCKER_HOST") {
        return Ok(Endpoint {
            host,
            context: None,
            source: "DOCKER_HOST".into(),
            tls: false,
        });
    }
    let dir = config_dir(env);
    let (name, source) = match set("DOCKER_CONTEXT") {
        Some(name) => (name, "DOCKER_CONTEXT".to_string()),
        None => match current_context(&dir.join("config.json"))? {
            Some(name) => (name, dir.join("config.json").display().to_string()),
            None => (
                DEFAULT_CONTEXT.to_string(),
                "the default socket".to_string(),
            ),
        },
    };
    if name == DEFAULT_CONTEXT {
        return Ok(Endpoint {
            host: DEFAULT_HOST.into(),
            context: None,
            source,
            tls: false,
        });
    }
    let id = sha256_hex(&name);
    let meta = dir.join("contexts/meta").join(&id).join("meta.json");
    let text = std::fs::read_to_string(&meta).map_err(|e| {
        let why = if e.kind() == std::io::ErrorKind::NotFound {
            format!("there is no {}", meta.display())
        } else {
            format!("cannot read {}: {e}", meta.display())
        };
        let unset = if source == "DOCKER_CONTEXT" {
            "unset DOCKER_CONTEXT".to_string()
        } else {
            format!("`docker context use default` (it is named in {source})")
        };
        Error::Other(format!(
            "Docker context \"{name}\" (from {source}) does not exist: {why}. `docker context ls` \
             lists the contexts; create it, or {unset}"
        ))
    })?;
    let host = context_host(&text).ok_or_else(|| {
        Error::Other(format!(
            "Docker context \"{name}\" (from {source}) has no Docker endpoint in {}; \
             `docker context inspect {name}` shows it, `docker context update {name} --docker \
             host=…` sets one",
            meta.display()
        ))
    })?;
    let tls = dir.join("contexts/tls").join(&id).join("docker").is_dir();
    Ok(Endpoint {
        host,
        context: Some(name),
        source,
        tls,
    })
}

/// `DOCKER_CONFIG`, else `~/.docker`.
fn config_dir(env: &dyn Env) -> PathBuf {
    if let Some(dir) = env.var("DOCKER_CONFIG").filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    let home = env.var("HOME").unwrap_or_default();
    Path::new(&home).join(".docker")
}

/// `currentContext` in the docker CLI's config.json. A file that is missing names none; one
/// that is not JSON is said once and then ignored, as the docker CLI does.
fn current_context(path: &Path) -> Result<Option<String>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Error::Other(format!(
                "cannot read {}: {e}; it names the Docker context brrt (like the docker CLI) \
                 uses",
                path.display()
            )))
        }
    };
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(v) => Ok(v["currentContext"]
            .as_str()
            .filter(|c| !c.is_empty())
            .map(str::to_string)),
        Err(e) => {
            tracing::warn!(
                "{} is not valid JSON ({e}); brrt ignores it, as the docker CLI does",
                path.display()
            );
            Ok(None)
        }
    }
}

/// `Endpoints.docker.Host` of a context's meta.json.
fn context_host(meta: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(meta).ok()?;
    v["Endpoints"]["docker"]["Host"]
        .as_str()
        .filter(|h| !h.is_empty())
        .map(str::to_string)
}

/// Why brrt cannot speak to `endpoint`, when it cannot: it talks over unix sockets (and
/// Windows pipes) and plain TCP; a context with TLS material or an ssh:// endpoint needs a
/// socket forwarded to it.
pub fn unsupported(endpoint: &Endpoint) -> Option<String> {
    let forward =
        "forward the engine's socket (ssh -nNT -L /tmp/brrt-docker.sock:/var/run/docker.sock \
                   HOST) and set DOCKER_HOST=unix:///tmp/brrt-docker.sock";
    if endpoint.host.starts_with("ssh://") {
        return Some(format!(
            "brrt does not speak ssh to the engine {endpoint} (from {}); {forward}",
            endpoint.source
        ));
    }
    if endpoint.tls && !endpoint.host.starts_with("unix://") {
        return Some(format!(
            "the engine {endpoint} (from {}) wants TLS, which brrt does not speak; {forward}",
            endpoint.source
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Vars(HashMap<&'static str, String>);

    impl Env for Vars {
        fn var(&self, key: &str) -> Option<String> {
            self.0.get(key).cloned()
        }
    }

    /// A docker config folder with a config.json naming `current` and contexts `name → host`.
    fn config(current: Option<&str>, contexts: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        write_config(dir.path(), current, contexts);
        dir
    }

    fn write_config(dir: &Path, current: Option<&str>, contexts: &[(&str, &str)]) {
        std::fs::create_dir_all(dir).unwrap();
        if let Some(c) = current {
            std::fs::write(
                dir.join("config.json"),
                format!("{{\"auths\": {{}}, \"currentContext\": \"{c}\"}}"),
            )
            .unwrap();
        }
        for (name, host) in contexts {
            let meta = dir.join("contexts/meta").join(sha256_hex(name));
            std::fs::create_dir_all(&meta).unwrap();
            std::fs::write(
                meta.join("meta.json"),
                format!(
                    "{{\"Name\":\"{name}\",\"Metadata\":{{}},\"Endpoints\":{{\"docker\":\
                     {{\"Host\":\"{host}\",\"SkipTLSVerify\":false}}}}}}"
                ),
            )
            .unwrap();
        }
    }

    fn env(dir: &Path, vars: &[(&'static str, &str)]) -> Vars {
        let mut map: HashMap<&'static str, String> =
            vars.iter().map(|(k, v)| (*k, (*v).to_string())).collect();
        map.insert("DOCKER_CONFIG", dir.display().to_string());
        Vars(map)
    }

    #[test]
    fn the_order_is_the_docker_clis() {
        let dir = config(
            Some("colima"),
            &[("colima", "unix:///c.sock"), ("other", "unix:///o.sock")],
        );
        let e = resolve(&env(dir.path(), &[])).unwrap();
        assert_eq!(e.host, "unix:///c.sock");
        assert_eq!(e.context.as_deref(), Some("colima"));
        assert_eq!(e.to_string(), "unix:///c.sock (Docker context colima)");

        let e = resolve(&env(dir.path(), &[("DOCKER_CONTEXT", "other")])).unwrap();
        assert_eq!(
            (e.host.as_str(), e.source.as_str()),
            ("unix:///o.sock", "DOCKER_CONTEXT")
        );

        // DOCKER_HOST wins over both, and means the default context.
        let vars = [
            ("DOCKER_CONTEXT", "other"),
            ("DOCKER_HOST", "tcp://1.2.3.4:2375"),
        ];
        let e = resolve(&env(dir.path(), &vars)).unwrap();
        assert_eq!((e.host.as_str(), e.context), ("tcp://1.2.3.4:2375", None));

        // An empty variable is not set; "default" is the default socket.
        let vars = [("DOCKER_HOST", ""), ("DOCKER_CONTEXT", "default")];
        let e = resolve(&env(dir.path(), &vars)).unwrap();
        assert_eq!((e.host.as_str(), e.context), (DEFAULT_HOST, None));
    }

    #[test]
    fn no_config_is_the_default_socket_and_home_holds_it() {
        let home = tempfile::tempdir().unwrap();
        let vars = Vars(HashMap::from([("HOME", home.path().display().to_string())]));
        assert_eq!(resolve(&vars).unwrap().host, DEFAULT_HOST);
        write_config(
            &home.path().join(".docker"),
            Some("rootless"),
            &[("rootless", "unix:///run/user/1000/docker.sock")],
        );
        assert_eq!(
            resolve(&vars).unwrap().host,
            "unix:///run/user/1000/docker.sock"
        );
    }

    #[test]
    fn a_context_that_does_not_exist_says_where_it_was_named_and_what_to_do() {
        let dir = config(Some("gone"), &[]);
        let err = resolve(&env(dir.path(), &[])).unwrap_err().to_string();
        assert!(err.starts_with("Docker context \"gone\" (from "), "{err}");
        assert!(
            err.contains("config.json) does not exist: there is no "),
            "{err}"
        );
        assert!(err.contains("`docker context use default`"), "{err}");
        let err = resolve(&env(dir.path(), &[("DOCKER_CONTEXT", "nope")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("unset DOCKER_CONTEXT"), "{err}");
    }

    #[test]
    fn ssh_and_tls_endpoints_are_refused_with_a_way_round() {
        let dir = config(
            None,
            &[("remote", "ssh://me@box"), ("tls", "tcp://box:2376")],
        );
        let e = resolve(&env(dir.path(), &[("DOCKER_CONTEXT", "remote")])).unwrap();
        assert!(unsupported(&e).unwrap().contains("does not speak ssh"));
        let tls = dir.path().join("contexts/tls").join(sha256_hex("tls"));
        std::fs::create_dir_all(tls.join("docker")).unwrap();
        let e = resolve(&env(dir.path(), &[("DOCKER_CONTEXT", "tls")])).unwrap();
        assert!(unsupported(&e).unwrap().contains("wants TLS"));
        let local = resolve(&env(dir.path(), &[])).unwrap();
        assert_eq!(unsupported(&local), None);
    }
}
