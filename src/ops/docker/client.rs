//! Connecting to the engine, with one clear line when it is not there.

use super::endpoint::{endpoint, unsupported, Endpoint};
use crate::ops::{Error, Result};
use bollard::Docker;
use serde::Serialize;

/// A connection to the Docker engine. The layers above ops hold this and hand it back to ops
/// functions (it dereferences to the client they take); only ops talks to the engine.
#[derive(Debug, Clone)]
pub struct Engine {
    docker: Docker,
    endpoint: Endpoint,
}

impl Engine {
    /// The engine this connection goes to, and how it was chosen.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }
}

impl std::ops::Deref for Engine {
    type Target = Docker;

    fn deref(&self) -> &Docker {
        &self.docker
    }
}

/// What the engine says it is.
#[derive(Debug, Clone, Serialize)]
pub struct EngineVersion {
    pub version: String,
    pub api_version: String,
    pub os: String,
    pub arch: String,
    /// Where brrt reaches it: `unix:///…`, with the Docker context it came from.
    pub endpoint: String,
}

/// Asks the engine to answer now (a request, not a kept connection).
pub async fn ping(d: &Docker) -> Result<()> {
    d.ping()
        .await
        .map(|_| ())
        .map_err(|e| Error::docker("ping the engine", e))
}

/// The engine's version, API version, OS and architecture, and where brrt reaches it.
pub async fn version(engine: &Engine) -> Result<EngineVersion> {
    let v = engine
        .version()
        .await
        .map_err(|e| Error::docker("version", e))?;
    Ok(EngineVersion {
        version: v.version.unwrap_or_default(),
        api_version: v.api_version.unwrap_or_default(),
        os: v.os.unwrap_or_default(),
        arch: v.arch.unwrap_or_default(),
        endpoint: engine.endpoint.to_string(),
    })
}

/// The engine brrt talks to, as messages name it: `unix:///var/run/docker.sock`, or
/// `unix:///…/docker.sock (Docker context colima)`. See [`endpoint`].
pub fn docker_host() -> String {
    match endpoint() {
        Ok(e) => e.to_string(),
        Err(_) => std::env::var("DOCKER_HOST")
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| super::endpoint::DEFAULT_HOST.to_string()),
    }
}

/// Connects to the engine the docker CLI would use (DOCKER_HOST, DOCKER_CONTEXT, the current
/// context, the default socket) and negotiates the API version, so that older engines (API
/// 1.41) work too.
pub async fn connect() -> Result<Engine> {
    let endpoint = endpoint()?;
    if let Some(why) = unsupported(&endpoint) {
        return Err(Error::Other(why));
    }
    let unavailable = |reason: String| Error::DockerUnavailable {
        host: endpoint.to_string(),
        reason,
    };
    let docker =
        Docker::connect_with_host(&endpoint.host).map_err(|e| unavailable(short_reason(&e)))?;
    let docker = docker
        .negotiate_version()
        .await
        .map_err(|e| unavailable(short_reason(&e)))?;
    Ok(Engine { docker, endpoint })
}

fn short_reason(err: &bollard::errors::Error) -> String {
    // The telling part is often a few sources deep ("client error (Connect)" over "tcp connect
    // error" over "Connection refused"), so match against the whole chain.
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    if text.contains("Socket not found")
        || text.contains("No such file")
        || text.contains("os error 2")
    {
        "no socket there (is the engine running?)".into()
    } else if text.contains("Connection refused") || text.contains("os error 111") {
        "connection refused".into()
    } else if text.contains("Permission denied") || text.contains("os error 13") {
        "permission denied (add your user to the `docker` group)".into()
    } else {
        text
    }
}

/// How an engine error becomes brrt's: here, beside the connection, so that the error type
/// itself knows nothing of the engine.
impl Error {
    /// An engine error. One that means the engine went away (the connection failed, rather
    /// than the engine answering no) is [`Error::DockerUnavailable`], so that `--watch` waits
    /// for the engine and applies again instead of waiting for the next save.
    pub fn docker(action: impl Into<String>, err: bollard::errors::Error) -> Self {
        use bollard::errors::Error as E;
        let message = match &err {
            E::DockerResponseServerError { message, .. } => message.clone(),
            E::IOError { .. }
            | E::HyperResponseError { .. }
            | E::HyperLegacyError { .. }
            | E::SocketNotFoundError(_)
            | E::RequestTimeoutError => {
                return Error::DockerUnavailable {
                    host: docker_host(),
                    reason: format!("lost while trying to {}: {err}", action.into()),
                }
            }
            other => other.to_string(),
        };
        Error::Docker {
            action: action.into(),
            message,
        }
    }
}
