//! Making a node's mirrors match: a plan made before any change (what to write, what holds,
//! what brrt may not replace), then carried out in one `sh` call in the node.

use super::foreign::{foreign_files_error, ForeignFile};
use super::node_scripts::{guard_script, sweep_script, FOREIGN_NOTE};
use super::{
    check_host_names, host_file, read_mirrors, MANAGED_MARKER, OLD_MANIFEST, ORIGINAL_SUFFIX, STAMP,
};
use crate::ops::docker;
use crate::ops::kind::{
    registry_from_probe, split_probe, ContainerdRegistry, CERTS_DIR, REGISTRY_PROBE,
};
use crate::ops::{Action, Error, Mode, Result};
use bollard::Docker;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// What applying mirrors did in one node.
#[derive(Debug, Clone, Serialize, Default)]
pub struct MirrorReport {
    pub node: String,
    pub written: Vec<String>,
    /// Removed, or given back their original.
    pub removed: Vec<String>,
    pub unchanged: Vec<String>,
    /// Written over a file brrt did not write, kept beside it as hosts.toml.brrt-original.
    pub taken_over: Vec<String>,
    /// How the node's containerd finds registry hosts, read in the same call as the write (as
    /// [`crate::ops::containerd_registry`] reads it), so that mirrors just written can be
    /// checked to be read at all; `None` when nothing was written.
    pub containerd: Option<ContainerdRegistry>,
    /// Why that reading failed, in the words of [`crate::ops::containerd_registry`].
    pub containerd_error: Option<String>,
}

impl MirrorReport {
    pub fn action(&self) -> Action {
        if self.written.is_empty() && self.removed.is_empty() {
            Action::Unchanged
        } else {
            Action::Updated
        }
    }
}

/// What making a node's mirrors match will do, found before any change: the files to write,
/// those that hold already, any file brrt did not write and may not take over, and the stamp
/// it was all read against. [`apply_plan`] carries it out; a flow plans every node first, so a
/// refusal comes before its first change, and a no-op reads each file once.
#[derive(Debug, Clone)]
pub struct MirrorPlan {
    node: String,
    mirrors: BTreeMap<String, String>,
    take_over: BTreeSet<String>,
    stamp: docker::Stamp,
    writes: BTreeMap<String, String>,
    report: MirrorReport,
    foreign: Vec<ForeignFile>,
}

impl MirrorPlan {
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The files brrt did not write and may not take over: applying the plan is refused.
    pub fn foreign(&self) -> &[ForeignFile] {
        &self.foreign
    }
}

/// Plans [`apply_mirrors`]: brrt's own files are known by its stamp (the stamp and every
/// wanted file are stat'ed at once, so a node costs one round trip's time when nothing
/// changed); any other file at a wanted host is read, all of them in one read. A file brrt did
/// not write is foreign unless its host is in `take_over` and no original is kept beside it
/// already.
pub async fn plan_mirrors(
    d: &Docker,
    node: &str,
    mirrors: &BTreeMap<String, String>,
    take_over: &BTreeSet<String>,
) -> Result<MirrorPlan> {
    check_host_names(mirrors.keys())?;
    let paths: Vec<String> = mirrors.keys().map(|h| host_file(h)).collect();
    let (stamp, stats) = futures_util::future::join(
        docker::read_stamp(d, node, &format!("{CERTS_DIR}/{STAMP}")),
        futures_util::future::try_join_all(paths.iter().map(|p| docker::stat_path(d, node, p))),
    )
    .await;
    let (stamp, stats) = (stamp?, stats?);
    let mut plan = MirrorPlan {
        node: node.into(),
        mirrors: mirrors.clone(),
        take_over: take_over.clone(),
        stamp,
        writes: BTreeMap::new(),
        report: MirrorReport {
            node: node.into(),
            ..Default::default()
        },
        foreign: Vec::new(),
    };
    let held: Vec<bool> = mirrors
        .values()
        .zip(&paths)
        .zip(&stats)
        .map(|((text, path), stat)| docker::file_holds(path, text, &plan.stamp, stat.as_ref()))
        .collect();
    // The files there that the stamp does not vouch for: whose are they?
    let unknown: Vec<&str> = paths
        .iter()
        .zip(&stats)
        .zip(&held)
        .filter(|((_, stat), held)| stat.is_some() && !**held)
        .map(|((path, _), _)| path.as_str())
        .collect();
    let found = read_texts(d, node, &unknown).await?;
    for (((host, text), path), held) in mirrors.iter().zip(&paths).zip(held) {
        if held {
            plan.report.unchanged.push(host.clone());
            continue;
        }
        if let Some(there) = found.get(path.as_str()) {
            if !there.starts_with(MANAGED_MARKER) {
                let found = ForeignFile::new(node, host, there, take_over.contains(host));
                // One taken over already has its original beside it: a second would be lost.
                let kept = format!("{path}{ORIGINAL_SUFFIX}");
                if found.take_over && docker::stat_path(d, node, &kept).await?.is_none() {
                    plan.report.taken_over.push(host.clone());
                } else {
                    plan.foreign.push(ForeignFile {
                        take_over: false,
                        ..found
                    });
                }
            }
        }
        plan.writes.insert(path.clone(), text.clone());
        plan.report.written.push(host.clone());
    }
    Ok(plan)
}

/// The text of each of `paths` in the node (all under [`CERTS_DIR`]), as far as it is a
/// readable file (else empty): one read of the file, or of the whole folder for several, as a
/// read costs the engine a helper process (~40 ms on Docker 20.10) whatever its size.
async fn read_texts<'a>(
    d: &Docker,
    node: &str,
    paths: &[&'a str],
) -> Result<BTreeMap<&'a str, String>> {
    let texts = match paths {
        [] => BTreeMap::new(),
        [one] => {
            let bytes = docker::read_file(d, node, one).await?.unwrap_or_default();
            BTreeMap::from([(
                one.to_string(),
                String::from_utf8_lossy(&bytes).into_owned(),
            )])
        }
        _ => docker::read_dir_files(d, node, CERTS_DIR)
            .await?
            .into_iter()
            .map(|(rel, text)| (format!("{CERTS_DIR}/{rel}"), text))
            .collect(),
    };
    Ok(paths
        .iter()
        .map(|p| (*p, texts.get(*p).cloned().unwrap_or_default()))
        .collect())
}

/// The hosts.toml files at the hosts of `mirrors` in a node that brrt did not write and may
/// not take over: a flow must stop before any change while there is one.
pub async fn check_mirrors(
    d: &Docker,
    node: &str,
    mirrors: &BTreeMap<String, String>,
    take_over: &BTreeSet<String>,
) -> Result<Vec<ForeignFile>> {
    Ok(plan_mirrors(d, node, mirrors, take_over).await?.foreign)
}

/// Makes the node's brrt-managed mirrors exactly `mirrors` (upstream host → file content):
/// writes what differs (atomically), removes managed files no longer wanted (putting back an
/// original brrt took over), touches nothing else. A file brrt did not write at a host of
/// `mirrors` is refused, unless the host is in `take_over`: then it is kept beside brrt's.
pub async fn apply_mirrors(
    d: &Docker,
    node: &str,
    mirrors: &BTreeMap<String, String>,
    take_over: &BTreeSet<String>,
    mode: Mode,
) -> Result<MirrorReport> {
    let plan = plan_mirrors(d, node, mirrors, take_over).await?;
    apply_plan(d, plan, mode).await
}

/// Carries out a [`MirrorPlan`]; refused, with nothing changed, when it found a file brrt did
/// not write and may not take over. A file that appears after the plan is never lost either:
/// the write itself sets aside or refuses what is not brrt's.
pub async fn apply_plan(d: &Docker, plan: MirrorPlan, mode: Mode) -> Result<MirrorReport> {
    if !plan.foreign.is_empty() {
        return Err(foreign_files_error(&plan.foreign));
    }
    let MirrorPlan {
        node,
        mirrors,
        take_over,
        stamp,
        writes,
        mut report,
        ..
    } = plan;
    let (node, mirrors, take_over) = (node.as_str(), &mirrors, &take_over);
    let stamp_path = format!("{CERTS_DIR}/{STAMP}");
    // The stamp lists the files brrt wrote: when it lists exactly the wanted ones, no other
    // managed file is there to remove.
    let wanted: BTreeSet<String> = mirrors.keys().map(|h| host_file(h)).collect();
    let only_wanted = stamp.paths().eq(wanted.iter().map(String::as_str));
    if writes.is_empty() && only_wanted && !mirrors.is_empty() {
        return Ok(report);
    }
    if mode.dry_run {
        report.removed = read_mirrors(d, node)
            .await?
            .into_iter()
            .filter(|(host, text)| text.starts_with(MANAGED_MARKER) && !mirrors.contains_key(host))
            .map(|(host, _)| host)
            .collect();
        if report.action().is_change() {
            mode.announce(Action::Updated, &describe(&report));
        }
        return Ok(report);
    }
    let keep: Vec<&str> = mirrors.keys().map(String::as_str).collect();
    let mut sweep = sweep_script(&keep);
    sweep.push_str(&format!("rm -f '{CERTS_DIR}/{OLD_MANIFEST}'\n"));
    if mirrors.is_empty() {
        // Nothing managed is left: the stamp goes too.
        sweep.push_str(&format!("rm -f '{stamp_path}'\n"));
    }
    // The containerd check after a write, in the write's own call (an exec costs the engine a
    // helper process, ~40 ms).
    sweep.push_str(REGISTRY_PROBE);
    let unchanged: BTreeSet<&str> = wanted
        .iter()
        .map(String::as_str)
        .filter(|p| !writes.contains_key(*p))
        .collect();
    let guard = guard_script(&report.written, take_over);
    let (out, stderr) = docker::write_files_atomically(
        d,
        node,
        &writes,
        &stamp_path,
        &stamp,
        &unchanged,
        docker::AroundWrite {
            before: &guard,
            after: &sweep,
        },
    )
    .await
    .map_err(|e| match e {
        // A file appeared between the look and the write: it is still there, untouched.
        Error::ExecFailed { stderr, .. } if stderr.contains(FOREIGN_NOTE) => {
            let hosts: Vec<ForeignFile> = stderr
                .lines()
                .filter_map(|l| l.strip_prefix(FOREIGN_NOTE))
                .map(|host| ForeignFile::new(node, host.trim(), "", false))
                .collect();
            foreign_files_error(&hosts)
        }
        other => other,
    })?;
    let (removed, probe) = split_probe(&out);
    match probe.map(|p| registry_from_probe(node, p, &stderr)) {
        Some(Ok(found)) => report.containerd = Some(found),
        Some(Err(e)) => report.containerd_error = Some(e.to_string()),
        None => {}
    }
    report.removed = removed
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    if report.action().is_change() {
        tracing::debug!("{}", describe(&report));
    }
    Ok(report)
}

fn describe(report: &MirrorReport) -> String {
    format!(
        "mirrors in node {} (write: {:?}, remove: {:?})",
        report.node, report.written, report.removed
    )
}
