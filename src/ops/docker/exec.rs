//! Running a command inside a container and collecting what it printed.

use crate::ops::{Action, Error, Mode, Result};
use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::Docker;
use futures_util::StreamExt;
use serde::Serialize;

/// What a command printed, and how it ended.
#[derive(Debug, Clone, Serialize)]
pub struct ExecOutput {
    pub stdout: String,
    pub stderr: String,
    pub code: i64,
    /// The command was not run (`--dry-run`).
    pub dry_run: bool,
}

/// Runs a command a script asked for: it may change anything, so under `--dry-run` it only
/// says what it would run, and returns empty output with `dry_run` set.
pub async fn exec_command(
    docker: &Docker,
    name: &str,
    cmd: &[String],
    mode: Mode,
) -> Result<ExecOutput> {
    if !mode.announce(
        Action::Updated,
        &format!("container {name} by running `{}`", short_command(cmd)),
    ) {
        return Ok(ExecOutput {
            stdout: String::new(),
            stderr: String::new(),
            code: 0,
            dry_run: true,
        });
    }
    exec(docker, name, cmd).await
}

/// Runs `cmd` in the running container `name` and waits for it.
pub async fn exec(docker: &Docker, name: &str, cmd: &[String]) -> Result<ExecOutput> {
    let opts = CreateExecOptions {
        cmd: Some(cmd.to_vec()),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        ..Default::default()
    };
    let action = || format!("exec `{}` in {name}", short_command(cmd));
    let created = docker
        .create_exec(name, opts)
        .await
        .map_err(|e| Error::docker(action(), e))?;
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    if let StartExecResults::Attached { mut output, .. } = docker
        .start_exec(&created.id, None)
        .await
        .map_err(|e| Error::docker(action(), e))?
    {
        while let Some(item) = output.next().await {
            match item.map_err(|e| Error::docker(action(), e))? {
                bollard::container::LogOutput::StdErr { message } => {
                    stderr.extend_from_slice(&message)
                }
                other => stdout.extend_from_slice(&other.into_bytes()),
            }
        }
    }
    let inspect = docker
        .inspect_exec(&created.id)
        .await
        .map_err(|e| Error::docker(action(), e))?;
    Ok(ExecOutput {
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        code: inspect.exit_code.unwrap_or(-1),
        dry_run: false,
    })
}

/// A command as an error message shows it: a shell script is not repeated whole.
fn short_command(cmd: &[String]) -> String {
    match cmd {
        [sh, flag, ..] if flag == "-c" => format!("{sh} -c …"),
        _ => {
            let text = cmd.join(" ");
            match text.char_indices().nth(80) {
                Some((at, _)) => format!("{}…", &text[..at]),
                None => text,
            }
        }
    }
}
