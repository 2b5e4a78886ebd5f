//! Connecting to the engine, with one clear line when it is not there.

use crate::ops::{Error, Result};
use bollard::Docker;
use serde::Serialize;

/// A connection to the Docker engine. The layers above ops hold this and hand it back to ops
/// functions (it dereferences to the client they take); only ops talks to the engine.
#[derive(Debug, Clone)]
pub struct Engine(Docker);

impl std::ops::Deref for Engine {
    type Target = Docker;

    fn deref(&self) -> &Docker {
        &self.0
    }
}

/// What the engine says it is.
#[derive(Debug, Clone, Serialize)]
pub struct EngineVersion {
    pub version: String,
    pub api_version: String,
    pub os: String,
    pub arch: String,
}

/// Asks the engine to answer now (a request, not a kept connection).
pub async fn ping(d: &Docker) -> Result<()> {
    d.ping()
        .await
        .map(|_| ())
        .map_err(|e| Error::docker("ping the engine", e))
}

/// The engine's version, API version, OS and architecture.
pub async fn version(d: &Docker) -> Result<EngineVersion> {
    let v = d.version().await.map_err(|e| Error::docker("version", e))?;
    Ok(EngineVersion {
        version: v.version.unwrap_or_default(),
        api_version: v.api_version.unwrap_or_default(),
        os: v.os.unwrap_or_default(),
        arch: v.arch.unwrap_or_default(),
    })
}

/// The engine address brrt talks to: `DOCKER_HOST`, or the default socket.
pub fn docker_host() -> String {
    std::env::var("DOCKER_HOST")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unix:///var/run/docker.sock".to_string())
}

/// Connects and negotiates the API version, so that older engines (API 1.41) work too.
pub async fn connect() -> Result<Engine> {
    let host = docker_host();
    let unavailable = |reason: String| Error::DockerUnavailable {
        host: host.clone(),
        reason,
    };
    let docker = Docker::connect_with_defaults().map_err(|e| unavailable(short_reason(&e)))?;
    docker
        .negotiate_version()
        .await
        .map(Engine)
        .map_err(|e| unavailable(short_reason(&e)))
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
