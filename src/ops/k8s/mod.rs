//! The Kubernetes API of a cluster, through `kube`: the client for one kubeconfig context, and
//! the few things brrt asks of the API server (the KEP-1755 announcement, a generic server-side
//! apply, reads and deletes, node readiness).
//!
//! Every error a user can meet here is one line that says what to do: an API server that does
//! not answer is named with its context and URL, a missing context with the contexts that
//! exist, and a refusal by the server with the server's own `Status` message.

mod announce;
mod objects;
mod ready;

pub use announce::{
    apply_local_registry_hosting, read_local_registry_hosting, remove_local_registry_hosting,
    HostingApplied, HostingRemoved, LocalRegistryHosting, Replaced, HOSTING_KEY, HOSTING_NAME,
    HOSTING_NAMESPACE, REPLACED_ANNOUNCEMENT, REPLACED_MANAGERS,
};
pub use objects::{apply, check_objects, delete, documents, get, Applied};
pub use ready::{wait_nodes_ready, NodesReady};

use crate::ops::{Error, Result};
use kube::config::{KubeConfigOptions, Kubeconfig, KubeconfigError};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Duration;

/// The field manager of every server-side apply brrt makes.
pub const FIELD_MANAGER: &str = "brrt";

/// How long a connection to the API server may take before it counts as not answering. A kind
/// API server is on this machine: when it answers at all, it answers at once.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one request may wait for its answer.
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long [`probe`] may take in all (connecting, TLS, the server's answer): a server that
/// accepts a connection and never answers costs a flow this much, once.
pub const PROBE_BUDGET: Duration = Duration::from_secs(5);

/// The context kind writes for a cluster: `kind-<name>`.
pub fn kind_context(cluster: &str) -> String {
    format!("kind-{cluster}")
}

/// A client for one context of the kubeconfig, with the names errors show.
#[derive(Clone)]
pub struct Cluster {
    pub client: kube::Client,
    pub context: String,
    /// The API server's URL, as the kubeconfig has it.
    pub server: String,
    /// Where a TCP connection to the server goes, when the kubeconfig names no proxy.
    direct: Option<(String, u16)>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("context", &self.context)
            .field("server", &self.server)
            .finish()
    }
}

/// The kubeconfig files, in kubectl's order: those `KUBECONFIG` lists (empty entries skipped),
/// else `~/.kube/config`.
fn kubeconfig_files() -> Vec<PathBuf> {
    if let Some(value) = std::env::var_os("KUBECONFIG") {
        let paths: Vec<PathBuf> = std::env::split_paths(&value)
            .filter(|p| !p.as_os_str().is_empty())
            .collect();
        if !paths.is_empty() {
            return paths;
        }
    }
    vec![std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".kube/config"))
        .unwrap_or_else(|| PathBuf::from("~/.kube/config"))]
}

/// Where the kubeconfig is read from: the files of `KUBECONFIG` (joined by `:`), else
/// `~/.kube/config`. For messages.
pub fn kubeconfig_path() -> String {
    kubeconfig_files()
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(":")
}

/// The kubeconfig as kubectl reads it: every file [`kubeconfig_files`] names, merged in order,
/// the first file to set a value keeping it (`current-context`, a context, a cluster, a user);
/// a file that does not exist is skipped. When none exists, the error is the first file's
/// `NotFound`; a file that does not parse is an error.
fn load_kubeconfig() -> std::result::Result<Kubeconfig, KubeconfigError> {
    merge_kubeconfigs(&kubeconfig_files())
}

fn merge_kubeconfigs(files: &[PathBuf]) -> std::result::Result<Kubeconfig, KubeconfigError> {
    let mut merged: Option<Kubeconfig> = None;
    let mut missing = None;
    for file in files {
        match Kubeconfig::read_from(file) {
            Ok(next) => {
                merged = Some(match merged {
                    Some(m) => m.merge(next)?,
                    None => next,
                })
            }
            Err(KubeconfigError::ReadConfig(e, path))
                if e.kind() == std::io::ErrorKind::NotFound =>
            {
                missing.get_or_insert(KubeconfigError::ReadConfig(e, path));
            }
            Err(e) => return Err(e),
        }
    }
    merged.ok_or_else(|| missing.unwrap_or(KubeconfigError::FindPath))
}

/// The current kubectl context, when the kubeconfig can be read and names one.
pub fn current_context_if_any() -> Option<String> {
    load_kubeconfig()
        .ok()?
        .current_context
        .filter(|c| !c.is_empty())
}

/// The kubeconfig's `current-context`.
pub fn current_context() -> Result<String> {
    let kubeconfig = match load_kubeconfig() {
        Ok(k) => k,
        Err(KubeconfigError::ReadConfig(e, _)) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::Kube {
                what: format!("read the kubeconfig {}", kubeconfig_path()),
                message: "there is no such file; create the cluster (kind writes it), point \
                          KUBECONFIG at one, or call k8s::connect(CONTEXT)"
                    .into(),
            })
        }
        Err(_) => read_kubeconfig("")?,
    };
    kubeconfig
        .current_context
        .filter(|c| !c.is_empty())
        .ok_or_else(|| Error::Kube {
            what: format!("read the kubeconfig {}", kubeconfig_path()),
            message: "it names no current-context; call k8s::connect(CONTEXT) first".into(),
        })
}

/// Reads the kubeconfig. A missing file is [`Error::KubeContext`] with no contexts, so the user
/// hears about the context they wanted, not about a file.
fn read_kubeconfig(context: &str) -> Result<Kubeconfig> {
    match load_kubeconfig() {
        Ok(k) => Ok(k),
        Err(KubeconfigError::ReadConfig(e, _)) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(Error::KubeContext {
                context: context.to_string(),
                kubeconfig: kubeconfig_path(),
                known: Vec::new(),
            })
        }
        Err(e) => Err(Error::Kube {
            what: format!("read the kubeconfig {}", kubeconfig_path()),
            message: e.to_string(),
        }),
    }
}

/// The client for `context`, or an error listing the contexts the kubeconfig has. Nothing is
/// sent to the server yet.
pub async fn connect(context: &str) -> Result<Cluster> {
    let kubeconfig = read_kubeconfig(context)?;
    let known: Vec<String> = kubeconfig.contexts.iter().map(|c| c.name.clone()).collect();
    if !known.iter().any(|c| c == context) {
        return Err(Error::KubeContext {
            context: context.to_string(),
            kubeconfig: kubeconfig_path(),
            known,
        });
    }
    let options = KubeConfigOptions {
        context: Some(context.to_string()),
        ..Default::default()
    };
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| Error::Kube {
            what: format!("load context `{context}` from {}", kubeconfig_path()),
            message: e.to_string(),
        })?;
    config.connect_timeout = Some(CONNECT_TIMEOUT);
    config.read_timeout = Some(READ_TIMEOUT);
    let direct = match (&config.proxy_url, config.cluster_url.host()) {
        (None, Some(host)) => {
            let port = config.cluster_url.port_u16().unwrap_or(
                if config.cluster_url.scheme_str() == Some("http") {
                    80
                } else {
                    443
                },
            );
            Some((host.trim_matches(['[', ']']).to_string(), port))
        }
        _ => None,
    };
    let server = config.cluster_url.to_string();
    let server = server.strip_suffix('/').unwrap_or(&server).to_string();
    let client = kube::Client::try_from(config).map_err(|e| Error::Kube {
        what: format!("make a client for context `{context}`"),
        message: e.to_string(),
    })?;
    Ok(Cluster {
        client,
        context: context.to_string(),
        server,
        direct,
    })
}

/// What `probe` found: whether an API server answers for a context, and which.
#[derive(Debug, Clone, Serialize)]
pub struct Probe {
    pub context: String,
    /// The API server's URL; empty when the context is missing.
    pub server: String,
    pub reachable: bool,
    /// The server's Kubernetes version, when it answered.
    pub version: Option<String>,
    /// Why it is not reachable: one line.
    pub error: Option<String>,
}

/// Connects to `context` and asks the server for its version: the cheapest request there is,
/// all within [`PROBE_BUDGET`]. Never fails: what went wrong is in [`Probe::error`], in words
/// that tell a refused connection, one that never came about, and a server that accepted the
/// connection and then said nothing apart. The client comes back when there is one.
pub async fn probe(context: &str) -> (Probe, Option<Cluster>) {
    let unreachable = |server: String, error: String| Probe {
        context: context.to_string(),
        server,
        reachable: false,
        version: None,
        error: Some(error),
    };
    let cluster = match connect(context).await {
        Ok(c) => c,
        Err(e) => return (unreachable(String::new(), e.to_string()), None),
    };
    let deadline = tokio::time::Instant::now() + PROBE_BUDGET;
    let gone = |reason: String| {
        Error::KubeUnreachable {
            context: cluster.context.clone(),
            server: cluster.server.clone(),
            reason,
        }
        .to_string()
    };
    // Whether anything listens there at all, so that silence after the connection is told
    // apart from no connection.
    if let Some((host, port)) = &cluster.direct {
        let reached = tokio::time::timeout_at(
            deadline,
            tokio::net::TcpStream::connect((host.as_str(), *port)),
        )
        .await;
        let problem = match reached {
            Ok(Ok(_)) => None,
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                Some("connection refused".to_string())
            }
            Ok(Err(e)) => Some(e.to_string()),
            Err(_) => Some(format!("no connection within {}s", PROBE_BUDGET.as_secs())),
        };
        if let Some(reason) = problem {
            let error = gone(reason);
            return (unreachable(cluster.server.clone(), error), Some(cluster));
        }
    }
    let answer = tokio::time::timeout_at(deadline, cluster.client.apiserver_version()).await;
    let probe = match answer {
        Ok(Ok(info)) => Probe {
            context: context.to_string(),
            server: cluster.server.clone(),
            reachable: true,
            version: Some(info.git_version),
            error: None,
        },
        Ok(Err(e)) => unreachable(
            cluster.server.clone(),
            cluster.error("ask for the server version", e).to_string(),
        ),
        Err(_) => unreachable(
            cluster.server.clone(),
            gone(format!(
                "it accepted the connection but sent no answer within {}s",
                PROBE_BUDGET.as_secs()
            )),
        ),
    };
    (probe, Some(cluster))
}

impl Cluster {
    /// A `kube` error as one line: the server's `Status` message when it answered, or that it
    /// does not answer (naming the context and URL) when it did not.
    pub fn error(&self, what: &str, err: kube::Error) -> Error {
        match err {
            kube::Error::Api(status) => Error::KubeApi {
                what: what.to_string(),
                code: status.code,
                message: status_message(&status),
            },
            other => {
                let chain = error_chain(&other);
                if is_connection_problem(&other, &chain) {
                    Error::KubeUnreachable {
                        context: self.context.clone(),
                        server: self.server.clone(),
                        reason: short_reason(&chain),
                    }
                } else {
                    Error::Kube {
                        what: what.to_string(),
                        message: chain,
                    }
                }
            }
        }
    }
}

/// The message of a `Status`, or its reason when the server sent none.
fn status_message(status: &kube::core::Status) -> String {
    if !status.message.is_empty() {
        status.message.clone()
    } else if !status.reason.is_empty() {
        status.reason.clone()
    } else {
        format!("HTTP {}", status.code)
    }
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

/// Whether the request never got an answer from a server (as opposed to an answer that was
/// not what was wanted).
fn is_connection_problem(err: &kube::Error, chain: &str) -> bool {
    matches!(
        err,
        kube::Error::HyperError(_) | kube::Error::Service(_) | kube::Error::RustlsTls(_)
    ) || ["Connection refused", "connect", "timed out", "os error"]
        .iter()
        .any(|s| chain.contains(s))
}

fn short_reason(chain: &str) -> String {
    if chain.contains("Connection refused") || chain.contains("os error 111") {
        "connection refused".into()
    } else if chain.contains("timed out") || chain.contains("elapsed") {
        format!("no answer within {}s", CONNECT_TIMEOUT.as_secs())
    } else if chain.contains("certificate") || chain.contains("UnknownIssuer") {
        format!("TLS: {chain}")
    } else {
        chain.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_connection_reads_as_one_short_reason() {
        assert_eq!(
            short_reason(
                "client error (Connect): tcp connect error: Connection refused (os error 111)"
            ),
            "connection refused"
        );
    }

    #[test]
    fn a_status_without_a_message_shows_its_reason() {
        let status = kube::core::Status {
            code: 404,
            reason: "NotFound".into(),
            ..Default::default()
        };
        assert_eq!(status_message(&status), "NotFound");
    }

    /// As kubectl merges `KUBECONFIG=missing:a:b`: the missing file is skipped, and the first
    /// file that sets `current-context` (here the second) wins over a later one; contexts come
    /// from every file, the first of a name winning.
    #[test]
    fn the_whole_kubeconfig_list_is_read_as_kubectl_reads_it() {
        let dir = tempfile::tempdir().unwrap();
        // A kubeconfig file: its current-context, and contexts as (name, cluster).
        let file = |name: &str, current: Option<&str>, contexts: &[(&str, &str)]| {
            let mut text = String::from("apiVersion: v1\nkind: Config\n");
            if let Some(c) = current {
                text.push_str(&format!("current-context: {c}\n"));
            }
            text.push_str("contexts:\n");
            for (context, cluster) in contexts {
                text.push_str(&format!(
                    "- name: {context}\n  context: {{cluster: {cluster}, user: u}}\n"
                ));
            }
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        let first = file("first", None, &[("kind-a", "kind-a")]);
        let second = file("second", Some("kind-b"), &[("kind-b", "kind-b")]);
        let third = file(
            "third",
            Some("kind-c"),
            &[("kind-c", "kind-c"), ("kind-a", "elsewhere")],
        );
        let merged =
            merge_kubeconfigs(&[dir.path().join("missing"), first, second, third]).unwrap();
        assert_eq!(merged.current_context.as_deref(), Some("kind-b"));
        let names: Vec<&str> = merged.contexts.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["kind-a", "kind-b", "kind-c"]);
        let kind_a = merged.contexts[0].context.as_ref().unwrap();
        assert_eq!(kind_a.cluster, "kind-a");

        // None there: the first file's NotFound, which callers turn into their own message.
        match merge_kubeconfigs(&[dir.path().join("none")]) {
            Err(KubeconfigError::ReadConfig(e, path)) => {
                assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
                assert_eq!(path, dir.path().join("none"));
            }
            other => panic!("{other:?}"),
        }
    }
}
