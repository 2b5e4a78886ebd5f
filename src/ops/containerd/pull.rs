//! A test pull in a node with containerd's own client, through the node's mirrors.

use crate::ops::docker;
use crate::ops::kind::CERTS_DIR;
use crate::ops::{Action, Mode, Result};
use bollard::Docker;
use serde::Serialize;

/// The outcome of a test pull inside a node.
#[derive(Debug, Clone, Serialize)]
pub struct PullReport {
    pub node: String,
    pub image: String,
    pub ok: bool,
    pub output: String,
    /// Nothing was pulled (`--dry-run`).
    pub dry_run: bool,
}

/// Pulls `image` inside the node with containerd's own client, through the node's mirrors. The
/// pull fills the node's image store and the caches, so `--dry-run` only says it would.
pub async fn verify_pull(d: &Docker, node: &str, image: &str, mode: Mode) -> Result<PullReport> {
    if !mode.announce(Action::Updated, &format!("node {node} by pulling {image}")) {
        return Ok(PullReport {
            node: node.into(),
            image: image.into(),
            ok: true,
            output: String::new(),
            dry_run: true,
        });
    }
    let cmd: Vec<String> = [
        "ctr",
        "-n",
        "k8s.io",
        "images",
        "pull",
        "--hosts-dir",
        CERTS_DIR,
        image,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let out = docker::exec(d, node, &cmd).await?;
    Ok(PullReport {
        node: node.into(),
        image: image.into(),
        ok: out.code == 0,
        dry_run: false,
        output: strip_progress(&if out.code == 0 {
            out.stdout
        } else {
            format!("{}{}", out.stdout, out.stderr)
        }),
    })
}

/// ctr's output without its progress bars and terminal colours.
fn strip_progress(text: &str) -> String {
    let mut plain = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            chars.by_ref().find(|c| c.is_ascii_alphabetic());
        } else {
            plain.push(c);
        }
    }
    plain
        .lines()
        .filter(|l| !l.contains('|'))
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
}
