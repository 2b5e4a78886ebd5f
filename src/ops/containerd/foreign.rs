//! hosts.toml files in a node that brrt did not write: what each says, and the error a flow
//! stops with, before any change, when it would replace one.

use super::{host_file, read_mirrors, MANAGED_MARKER, ORIGINAL_SUFFIX};
use crate::ops::{Error, Result};
use bollard::Docker;
use serde::Serialize;
use std::collections::BTreeSet;

/// A hosts.toml in a node that brrt did not write.
#[derive(Debug, Clone, Serialize)]
pub struct ForeignFile {
    pub node: String,
    /// The registry host it is for (its folder's name).
    pub host: String,
    pub path: String,
    /// The hosts it sends pulls to first (its `[host."…"]` tables), as written.
    pub mirrors: Vec<String>,
    /// Where containerd falls back to (its `server`).
    pub server: Option<String>,
    /// Its mirrors, then its server.
    pub sends_to: Vec<String>,
    /// brrt may take it over (the host is in `cluster.take_over_mirrors`).
    pub take_over: bool,
}

impl ForeignFile {
    pub(super) fn new(node: &str, host: &str, text: &str, take_over: bool) -> ForeignFile {
        let table = toml::from_str::<toml::Table>(text).unwrap_or_default();
        let server = table
            .get("server")
            .and_then(toml::Value::as_str)
            .map(str::to_string);
        let mirrors: Vec<String> = table
            .get("host")
            .and_then(toml::Value::as_table)
            .map(|hosts| hosts.keys().cloned().collect())
            .unwrap_or_default();
        ForeignFile {
            node: node.into(),
            host: host.into(),
            path: host_file(host),
            sends_to: mirrors.iter().chain(server.iter()).cloned().collect(),
            mirrors,
            server,
            take_over,
        }
    }

    /// `node N: /etc/…/hosts.toml (it sends pulls to A, falling back to B)`.
    pub fn describe(&self) -> String {
        let to = match (self.mirrors.as_slice(), &self.server) {
            ([], None) => "it names no host brrt can read".to_string(),
            ([], Some(server)) => format!("it sends pulls to {server}"),
            (mirrors, None) => format!("it sends pulls to {}", mirrors.join(", ")),
            (mirrors, Some(server)) => format!(
                "it sends pulls to {}, falling back to {server}",
                mirrors.join(", ")
            ),
        };
        format!("node {}: {} ({to})", self.node, self.path)
    }

    /// The first mirror it names that a cache could proxy (an http(s) URL).
    pub fn remote(&self) -> Option<&str> {
        self.mirrors
            .iter()
            .find(|m| m.starts_with("http://") || m.starts_with("https://"))
            .map(String::as_str)
    }
}

/// Every hosts.toml in a node that brrt did not write (for `brrt init` and doctor).
pub async fn foreign_mirrors(d: &Docker, node: &str) -> Result<Vec<ForeignFile>> {
    Ok(read_mirrors(d, node)
        .await?
        .into_iter()
        .filter(|(_, text)| !text.starts_with(MANAGED_MARKER))
        .map(|(host, text)| ForeignFile::new(node, &host, &text, false))
        .collect())
}

/// The error a flow stops with when nodes hold hosts.toml files brrt did not write where it
/// would write its own: each file and where it sends pulls, and the two ways on.
pub fn foreign_files_error(files: &[ForeignFile]) -> Error {
    let list: Vec<String> = files.iter().map(ForeignFile::describe).collect();
    let hosts: BTreeSet<&str> = files.iter().map(|f| f.host.as_str()).collect();
    let quoted: Vec<String> = hosts.iter().map(|h| format!("{h:?}")).collect();
    let remote = files
        .iter()
        .find_map(|f| f.remote().map(|to| (f.host.as_str(), to)))
        .map(|(host, to)| {
            format!(
                " To cache what that mirror serves, make it the upstream's remote in \
                 brrt.toml: [cache.remotes] {host:?} = {to:?}."
            )
        })
        .unwrap_or_default();
    Error::Other(format!(
        "{} hosts.toml file(s) in the nodes were not written by brrt, and brrt would replace \
         them: {}. brrt leaves them as they are, and nothing was changed.{remote} To let brrt \
         use those hosts while it runs, set [cluster] take_over_mirrors = [{}] in brrt.toml: \
         each original is kept beside brrt's file as hosts.toml{ORIGINAL_SUFFIX} and put back \
         when brrt no longer needs the host (the cache switched off, dev-down)",
        files.len(),
        list.join("; "),
        quoted.join(", ")
    ))
}
