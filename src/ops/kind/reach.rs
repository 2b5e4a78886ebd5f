//! Whether a node's containerd reaches a registry: the name resolves from inside the node and
//! the registry API answers there. Checked with the node's own `ctr` and containerd's resolver,
//! the path every pull takes; every kind node has `ctr` (kindest/node has curl but no wget, the
//! testbed's nodes a busybox whose static wget cannot resolve names, so neither is used).
//!
//! The check resolves a tag no registry holds (`brrt-doctor/probe:none`): "not found" means the
//! name resolved and the registry answered. Nothing is pulled or stored. A pull-through cache
//! asks its upstream about the tag before it says "not found" (a HEAD request, which Docker
//! Hub does not count as a pull).

use crate::ops::docker;
use crate::ops::{Error, Result};
use bollard::Docker;
use serde::Serialize;

/// The reference the check resolves: a repository and tag nobody pushes.
const PROBE: &str = "brrt-doctor/probe:none";
/// How long containerd may take to answer, in seconds.
const PROBE_SECS: u32 = 10;

/// What a node found when it looked for a registry.
#[derive(Debug, Clone, Serialize)]
pub struct Reach {
    /// `host:port`, as the node's hosts.toml names it.
    pub host: String,
    /// The name resolved and the registry API answered.
    pub answers: bool,
    /// Why not, in a few words and containerd's own; `None` when it answers.
    pub problem: Option<String>,
}

/// Checks from inside `node` that the registry at `url` (`http://name:5000`, as a hosts.toml
/// `[host]` names it) resolves and answers.
pub async fn reaches(d: &Docker, node: &str, url: &str) -> Result<Reach> {
    let (plain, host) = match url.split_once("://") {
        Some(("http", rest)) => (true, rest),
        Some(("https", rest)) => (false, rest),
        _ => (false, url),
    };
    let host = host.trim_end_matches('/').to_string();
    if host.is_empty() || host.contains('/') || host.starts_with('-') {
        return Err(Error::InvalidSpec(format!(
            "kind::reaches: `{url}` is not a registry address such as http://kind-registry:5000"
        )));
    }
    let mut cmd: Vec<String> = [
        "ctr",
        "--timeout",
        &format!("{PROBE_SECS}s"),
        "-n",
        "k8s.io",
        "images",
        "pull",
    ]
    .map(String::from)
    .to_vec();
    if plain {
        cmd.push("--plain-http".into());
    }
    cmd.push(format!("{host}/{PROBE}"));
    let out = docker::exec(d, node, &cmd).await?;
    let said = format!("{}\n{}", out.stdout, out.stderr);
    Ok(judge(host, out.code, &said))
}

/// Reads what `ctr images pull` of the probe printed (containerd 1.6 and 2.x word it alike).
fn judge(host: String, code: i64, said: &str) -> Reach {
    let answered = |problem: Option<String>| Reach {
        host: host.clone(),
        answers: problem.is_none(),
        problem,
    };
    // The last `ctr:` line is containerd's verdict; the log lines above it repeat it.
    let verdict = said
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("ctr: "))
        .unwrap_or_else(|| said.trim())
        .to_string();
    let name = host.rsplit_once(':').map_or(host.as_str(), |(n, _)| n);
    if code == 126 || code == 127 || said.contains("executable file not found") {
        return answered(Some(
            "cannot be checked: the node has no ctr (containerd's client)".to_string(),
        ));
    }
    if verdict.ends_with(": not found") || verdict.contains("manifest unknown") {
        return answered(None);
    }
    if said.contains("no such host") || said.contains("server misbehaving") {
        return answered(Some(format!(
            "{name} does not resolve from the node (is the node on the registry's network?)"
        )));
    }
    if said.contains("connection refused") {
        return answered(Some(format!(
            "{name} resolves, but nothing answers on {host} (connection refused)"
        )));
    }
    if said.contains("deadline exceeded") || said.contains("timeout") {
        return answered(Some(format!("{host} did not answer within {PROBE_SECS} s")));
    }
    answered(Some(format!("containerd says: {verdict}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    // What containerd 1.6 and 2.3 printed for the probe on the testbed's nodes.
    #[test]
    fn not_found_means_the_registry_answered() {
        let v16 = "time=\"…\" level=info msg=\"trying next host - response was http.StatusNotFound\"\n\
                   ctr: failed to resolve reference \"r:5000/brrt-doctor/probe:none\": r:5000/brrt-doctor/probe:none: not found\n";
        assert!(judge("r:5000".into(), 1, v16).answers);
        let v2 = "ctr: failed to resolve image: r:5000/brrt-doctor/probe:none: not found\n";
        assert!(judge("r:5000".into(), 1, v2).answers);
    }

    #[test]
    fn a_name_that_does_not_resolve_and_a_closed_port_are_told_apart() {
        let dns = "ctr: failed to resolve image: failed to do request: Head \"http://x:5000/v2/brrt-doctor/probe/manifests/none\": dial tcp: lookup x on 127.0.0.11:53: no such host\n";
        let r = judge("x:5000".into(), 1, dns);
        assert!(!r.answers);
        assert!(r
            .problem
            .unwrap()
            .starts_with("x does not resolve from the node"));
        let refused = "ctr: failed to resolve image: failed to do request: Head \"http://x:5000/v2/…\": dial tcp 10.0.0.2:5000: connect: connection refused\n";
        assert!(judge("x:5000".into(), 1, refused)
            .problem
            .unwrap()
            .contains("nothing answers on x:5000"));
    }
}
