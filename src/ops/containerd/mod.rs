//! Registry mirrors in nodes: `hosts.toml` files under `/etc/containerd/certs.d/<host>/`, which
//! containerd reads on every pull. Changing them needs no restart and no new cluster.
//!
//! brrt writes, replaces and removes only files that start with its marker line. A hosts.toml
//! someone else wrote (a company mirror with its CA, kind's local-registry script) is never
//! lost: a flow that would replace one stops before any change ([`check_mirrors`]), unless the
//! host is one brrt was told to take over (`cluster.take_over_mirrors`). Then the original is
//! kept beside brrt's file as `hosts.toml.brrt-original`, where containerd does not read it,
//! and put back, byte for byte, as soon as brrt no longer needs the host (the cache is switched
//! off, dev-down).
//!
//! - [`hosts_toml`]: the text of the files brrt writes, and what a file says
//! - [`foreign`]: the files brrt did not write, and the error that refuses them
//! - [`mirrors`]: planning a node's mirrors before any change, then applying the plan
//! - [`node_scripts`]: the shell run in the node around a write (guard and sweep)
//! - [`pull`]: a test pull in a node, through its mirrors

mod foreign;
mod hosts_toml;
mod mirrors;
mod node_scripts;
mod pull;

pub use foreign::{foreign_files_error, foreign_mirrors, ForeignFile};
pub use hosts_toml::{
    basic_authorization, mirror_hosts, mirror_hosts_from, mirror_urls, shared_hosts, wired_from,
};
pub use mirrors::{
    apply_mirrors, apply_plan, check_mirrors, plan_mirrors, MirrorPlan, MirrorReport,
};
pub use pull::{verify_pull, PullReport};

use crate::ops::docker;
use crate::ops::kind::CERTS_DIR;
use crate::ops::{Error, Result};
use bollard::Docker;
use std::collections::BTreeMap;

/// brrt's record of the mirror files it wrote in a node (see [`docker::Stamp`]), beside their
/// folders in [`CERTS_DIR`].
pub(super) const STAMP: &str = ".brrt-stamp";
/// Where brrt kept that record before files kept their real times; removed on the next write.
pub(super) const OLD_MANIFEST: &str = ".brrt-managed";

/// First line of every file brrt writes; files without it are the user's and are left alone.
pub const MANAGED_MARKER: &str = "# Managed by brrt";
/// Beside a hosts.toml brrt took over: the original, put back when brrt lets the host go.
pub const ORIGINAL_SUFFIX: &str = ".brrt-original";

pub(super) fn host_file(host: &str) -> String {
    format!("{CERTS_DIR}/{host}/hosts.toml")
}

/// Every `hosts.toml` in a node, by registry host (brrt's and the user's own).
pub async fn read_mirrors(d: &Docker, node: &str) -> Result<BTreeMap<String, String>> {
    let files = docker::read_dir_files(d, node, CERTS_DIR).await?;
    Ok(files
        .into_iter()
        .filter_map(|(path, text)| Some((path.strip_suffix("/hosts.toml")?.to_string(), text)))
        .collect())
}

pub(super) fn check_host_names<'a>(hosts: impl IntoIterator<Item = &'a String>) -> Result<()> {
    for host in hosts {
        let allowed = |c: char| c.is_ascii_alphanumeric() || ".-_:[]".contains(c);
        if host.is_empty() || host.starts_with('.') || !host.chars().all(allowed) {
            return Err(Error::InvalidSpec(format!(
                "`{host}` is not a registry host name (like docker.io or localhost:5001)"
            )));
        }
    }
    Ok(())
}
