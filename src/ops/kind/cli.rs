//! The kind CLI on PATH: create, delete, list, kubeconfig and image loading. Each call is a
//! child process that is killed when the run is cancelled (the future that owns it is dropped).

use super::config::check_name;
use crate::ops::{Action, Error, Mode, Result};
use std::process::Stdio;

/// Where to get kind when it is missing.
const INSTALL_HINT: &str =
    "install it from https://kind.sigs.k8s.io/docs/user/quick-start/#installation \
     (e.g. `go install sigs.k8s.io/kind@latest`), or put it on PATH";

/// The kind CLI: the program's name on PATH.
#[derive(Debug, Clone)]
pub struct KindCli {
    program: String,
}

impl Default for KindCli {
    fn default() -> Self {
        KindCli {
            program: "kind".into(),
        }
    }
}

/// What a kind command printed.
pub(super) struct Ran {
    stdout: String,
    stderr: String,
}

impl KindCli {
    fn shown(args: &[&str]) -> String {
        format!("kind {}", args.join(" "))
    }

    /// Runs `kind ARGS…` and collects what it prints. `show_progress` lets kind's stderr
    /// (its progress lines) through to the user's terminal as it comes.
    pub(super) async fn run(&self, args: &[&str], show_progress: bool) -> Result<Ran> {
        self.run_with(args, &[], show_progress).await
    }

    /// As [`KindCli::run`], with environment variables for kind: each set to its value, or
    /// taken out of kind's environment when it is `None`.
    pub(super) async fn run_with(
        &self,
        args: &[&str],
        env: &[(&str, Option<&str>)],
        show_progress: bool,
    ) -> Result<Ran> {
        let mut command = tokio::process::Command::new(&self.program);
        for (key, value) in env {
            match value {
                Some(v) => command.env(key, v),
                None => command.env_remove(key),
            };
        }
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::KindCli(format!("the kind CLI is not on PATH; {INSTALL_HINT}"))
            } else {
                Error::KindCli(format!("cannot run `{}`: {e}", Self::shown(args)))
            }
        })?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let read_stdout = async {
            let mut text = String::new();
            let _ = tokio::io::AsyncReadExt::read_to_string(&mut { stdout }, &mut text).await;
            text
        };
        // kind's progress lines go to the user as they come, and are kept for the error.
        let read_stderr = async {
            use tokio::io::AsyncBufReadExt;
            let mut lines = tokio::io::BufReader::new(stderr).lines();
            let mut text = String::new();
            while let Ok(Some(line)) = lines.next_line().await {
                if show_progress {
                    tracing::info!("{line}");
                }
                text.push_str(&line);
                text.push('\n');
            }
            text
        };
        let (stdout, stderr, status) = tokio::join!(read_stdout, read_stderr, child.wait());
        let status = status
            .map_err(|e| Error::KindCli(format!("cannot run `{}`: {e}", Self::shown(args))))?;
        let ran = Ran { stdout, stderr };
        if status.success() {
            return Ok(ran);
        }
        let said = ran
            .stderr
            .lines()
            .chain(ran.stdout.lines())
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>();
        let said = if said.is_empty() {
            "it printed nothing".to_string()
        } else {
            said[said.len().saturating_sub(3)..].join(" / ")
        };
        Err(Error::KindCli(format!(
            "`{}` failed ({status}): {said}",
            Self::shown(args)
        )))
    }
}

/// The kind CLI's version: `0.27.0` from `kind v0.27.0 go1.23.6 linux/amd64`.
pub async fn version(cli: &KindCli) -> Result<String> {
    let ran = cli.run(&["version"], false).await?;
    ran.stdout
        .split_whitespace()
        .find(|w| w.starts_with('v') && w[1..].starts_with(|c: char| c.is_ascii_digit()))
        .map(|v| v.trim_start_matches('v').to_string())
        .ok_or_else(|| {
            Error::KindCli(format!(
                "cannot read a version in `kind version`'s output: {}",
                ran.stdout.trim()
            ))
        })
}

/// Whether kind knows a cluster of that name (`kind get clusters`).
pub async fn exists(cli: &KindCli, name: &str) -> Result<bool> {
    let ran = cli.run(&["get", "clusters"], false).await?;
    Ok(ran.stdout.lines().any(|l| l.trim() == name))
}

/// Deletes the cluster (its nodes and its kubeconfig entry): `removed`, or `absent`.
pub async fn delete(cli: &KindCli, name: &str, mode: Mode) -> Result<Action> {
    check_name(name)?;
    if !exists(cli, name).await? {
        return Ok(Action::Absent);
    }
    if mode.announce(Action::Removed, &format!("kind cluster {name}")) {
        cli.run(&["delete", "cluster", "--name", name], true)
            .await?;
        super::marker::forget(name);
    }
    Ok(Action::Removed)
}

/// The cluster's kubeconfig, as `kind get kubeconfig` prints it.
pub async fn kubeconfig(cli: &KindCli, name: &str) -> Result<String> {
    check_name(name)?;
    Ok(cli
        .run(&["get", "kubeconfig", "--name", name], false)
        .await?
        .stdout)
}

/// Loads a local image into every node: `unchanged` when kind finds it there already.
pub async fn load_image(cli: &KindCli, name: &str, image: &str, mode: Mode) -> Result<Action> {
    check_name(name)?;
    if image.trim().is_empty() || image.starts_with('-') {
        return Err(Error::InvalidSpec(format!(
            "kind::load_image: `{image}` is not an image reference"
        )));
    }
    if !mode.announce(
        Action::Updated,
        &format!("nodes of kind cluster {name} by loading {image}"),
    ) {
        return Ok(Action::Updated);
    }
    let ran = cli
        .run(&["load", "docker-image", image, "--name", name], false)
        .await?;
    let said = format!("{}{}", ran.stdout, ran.stderr);
    tracing::debug!("kind load docker-image: {}", said.trim());
    Ok(if said.contains("already present on all nodes") {
        Action::Unchanged
    } else {
        Action::Updated
    })
}
