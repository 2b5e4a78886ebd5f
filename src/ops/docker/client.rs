//! Connecting to the engine, with one clear line when it is not there.

use super::endpoint::{endpoint, unsupported, Endpoint};
use crate::ops::{Error, Result};
use bollard::{ClientVersion, Docker, API_DEFAULT_VERSION};
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
    if let Some(socket) = endpoint.host.strip_prefix("unix://") {
        if let Some(version) = ping_api_version(socket).await {
            let docker = Docker::connect_with_unix(socket, CLIENT_TIMEOUT_S, &version)
                .map_err(|e| unavailable(short_reason(&e)))?;
            return Ok(Engine { docker, endpoint });
        }
    }
    let docker =
        Docker::connect_with_host(&endpoint.host).map_err(|e| unavailable(short_reason(&e)))?;
    let docker = docker
        .negotiate_version()
        .await
        .map_err(|e| unavailable(short_reason(&e)))?;
    Ok(Engine { docker, endpoint })
}

/// bollard's own request timeout, which `connect_with_host` uses too.
const CLIENT_TIMEOUT_S: u64 = 120;

/// The API version to speak to the engine at `socket`: the one its `GET /_ping` names in its
/// `Api-Version` header, or bollard's own when that is older. The engine answers a ping at
/// once, where `/version` (what bollard's negotiation asks) makes Docker 20.10 run `runc
/// --version` and `docker-init --version` first, ~7 ms of every run. `None` when anything is
/// amiss (no socket, an odd answer): [`connect`] then negotiates the usual way, and says why
/// it could not connect as it always did.
async fn ping_api_version(socket: &str) -> Option<ClientVersion> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let ask = async {
        let mut stream = tokio::net::UnixStream::connect(socket).await.ok()?;
        // HTTP/1.0: the engine closes the connection after its answer.
        stream
            .write_all(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            .await
            .ok()?;
        let mut answer = Vec::new();
        stream.take(16 * 1024).read_to_end(&mut answer).await.ok()?;
        api_version_header(&String::from_utf8_lossy(&answer))
    };
    let version = tokio::time::timeout(std::time::Duration::from_secs(5), ask)
        .await
        .ok()??;
    Some(if version < *API_DEFAULT_VERSION {
        version
    } else {
        *API_DEFAULT_VERSION
    })
}

/// The `Api-Version` header of a successful HTTP answer, as a version.
fn api_version_header(answer: &str) -> Option<ClientVersion> {
    let (head, _) = answer.split_once("\r\n\r\n")?;
    let mut lines = head.lines();
    let status = lines.next()?;
    if status.split_whitespace().nth(1) != Some("200") {
        return None;
    }
    let value = lines.find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("api-version")
            .then(|| value.trim())
    })?;
    let (major, minor) = value.split_once('.')?;
    Some(ClientVersion {
        major_version: major.parse().ok()?,
        minor_version: minor.parse().ok()?,
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_version_is_read_from_a_pings_headers() {
        let ok = "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Length: 2\r\n\r\nOK";
        let v = api_version_header(ok).unwrap();
        assert_eq!((v.major_version, v.minor_version), (1, 41));
        let lower = "HTTP/1.0 200 OK\r\napi-version:1.47\r\n\r\n";
        assert_eq!(api_version_header(lower).unwrap().minor_version, 47);
        for bad in [
            "HTTP/1.1 500 Internal Server Error\r\nApi-Version: 1.41\r\n\r\n",
            "HTTP/1.1 200 OK\r\nServer: x\r\n\r\nOK",
            "HTTP/1.1 200 OK\r\nApi-Version: one\r\n\r\n",
            "HTTP/1.1 200 OK\r\nApi-Version: 1.41",
        ] {
            assert!(api_version_header(bad).is_none(), "{bad}");
        }
    }
}
