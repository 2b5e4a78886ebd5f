//! What an upstream says of its pull limit ([`PullLimit`]): the answer the probe makes, the
//! memory keeps and flows report, below all three.

use crate::ops::upstream;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What an upstream says of its pull limit for the pulls a cache makes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PullLimit {
    pub upstream: String,
    /// The remote asked, without any credentials in it.
    pub remote: String,
    /// Whether the remote is the upstream's own endpoint (not `[cache.remotes]`).
    pub own_remote: bool,
    /// Whose pulls the figures count: `anonymous` (per IP address) or `account` (the
    /// account in `BRRT_<UPSTREAM>_USERNAME`).
    pub who: String,
    pub limit: Option<u64>,
    pub remaining: Option<u64>,
    /// The window's length in seconds (`w=` of the headers).
    pub window: Option<u64>,
    /// `ok` (pulls left, or no limit), `low` (under 10% left), `used up`, `refused` (the
    /// credentials were refused) or `unknown` (the upstream could not be asked).
    pub status: String,
    /// How a flow reports it: `ok`, `warn`, `fail`, or `note` for a remote this machine cannot
    /// reach that the caches may (a `[cache.remotes]` name on the cluster network).
    pub level: String,
    /// One line for people: `docker.io: 76 of 100 pulls left in this 6 h window (anonymous,
    /// per IP)`, with what to do when few or none are left.
    pub text: String,
    /// Under 10% left now, and not at this process's previous check of this remote (the
    /// first check included): what dev-up warns about, once, and under `--watch` again only
    /// after it recovered.
    pub newly_low: bool,
    /// 10% or more left now, and under 10% at this process's previous check.
    pub recovered: bool,
}

impl PullLimit {
    /// The limit of `host`'s remote, not read yet: status `unknown`, no text.
    pub(super) fn unknown(
        host: &str,
        remotes: &BTreeMap<String, String>,
    ) -> crate::ops::Result<PullLimit> {
        let up = upstream::resolve(host, remotes)?;
        let (remote, _) = upstream::without_credentials(up.remote.trim_end_matches('/'));
        Ok(PullLimit {
            upstream: host.to_string(),
            own_remote: up.server.as_deref() == Some(up.remote.as_str()),
            remote,
            who: "anonymous".into(),
            limit: None,
            remaining: None,
            window: None,
            status: "unknown".into(),
            level: "warn".into(),
            text: String::new(),
            newly_low: false,
            recovered: false,
        })
    }
}
