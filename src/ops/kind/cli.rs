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
struct Ran {
    stdout: String,
    stderr: String,
}

impl KindCli {
    fn shown(args: &[&str]) -> String {
        format!("kind {}", args.join(" "))
    }

    /// Runs `kind ARGS…` and collects what it prints. `show_progress` lets kind's stderr
    /// (its progress lines) through to the user's terminal as it comes.
    async fn run(&self, args: &[&str], show_progress: bool) -> Result<Ran> {
        self.run_with(args, &[], show_progress).await
    }

    /// As [`KindCli::run`], with environment variables for kind.
    async fn run_with(
        &self,
        args: &[&str],
        env: &[(&str, &str)],
        show_progress: bool,
    ) -> Result<Ran> {
        let mut command = tokio::process::Command::new(&self.program);
        command
            .args(args)
            .envs(env.iter().copied())
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

/// The variable that puts kind's nodes on another Docker network than `kind`.
const KIND_NETWORK_VAR: &str = "KIND_EXPERIMENTAL_DOCKER_NETWORK";

/// Creates the cluster with `config` (a kind config's YAML), unless kind has one of that name:
/// then it is `unchanged`, whatever its config. brrt never re-creates a cluster; registries and
/// mirrors are changed in the running nodes instead. `network` other than `kind` is passed to
/// kind as `KIND_EXPERIMENTAL_DOCKER_NETWORK`, so the nodes join the registries' network.
pub async fn create(
    cli: &KindCli,
    name: &str,
    config: &str,
    network: &str,
    mode: Mode,
) -> Result<Action> {
    check_name(name)?;
    if exists(cli, name).await? {
        return Ok(Action::Unchanged);
    }
    if !mode.announce(Action::Created, &format!("kind cluster {name}")) {
        return Ok(Action::Created);
    }
    let file = ConfigFile::write(name, config)?;
    let path = file.path.to_string_lossy().into_owned();
    let env: Vec<(&str, &str)> = if network.is_empty() || network == "kind" {
        Vec::new()
    } else {
        vec![(KIND_NETWORK_VAR, network)]
    };
    cli.run_with(
        &["create", "cluster", "--name", name, "--config", &path],
        &env,
        true,
    )
    .await?;
    Ok(Action::Created)
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

/// The config handed to `kind create cluster --config`, removed when dropped. It is written in
/// brrt's private folder (`0600`, never through a symlink), so nobody else can swap it or read
/// it.
struct ConfigFile {
    path: std::path::PathBuf,
}

impl ConfigFile {
    fn write(name: &str, config: &str) -> Result<Self> {
        use std::io::Write as _;
        let file_name = format!("kind-{name}-{}.yaml", std::process::id());
        let (mut file, path) = crate::ops::private_dir::open(&file_name)?;
        let written = ConfigFile { path };
        // A run killed before it removed its file, with this pid, may have left one.
        file.set_len(0)
            .and_then(|()| file.write_all(config.as_bytes()))
            .map_err(|e| Error::Other(format!("cannot write {}: {e}", written.path.display())))?;
        Ok(written)
    }
}

impl Drop for ConfigFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
