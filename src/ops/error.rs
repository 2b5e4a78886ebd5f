//! One error type for every operation, so the script layer renders them the same way.

use std::fmt;

/// What went wrong in an operation. Each variant says what the user can do about it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The Docker engine could not be reached at all. Nothing else can work until it is started.
    #[error(
        "cannot reach Docker at {host}: {reason}. Start the engine (`sudo systemctl start docker`, \
         or `sudo dockerd &`), or point DOCKER_HOST or the Docker context (`docker context use \
         NAME`) at a running one"
    )]
    DockerUnavailable { host: String, reason: String },

    /// The engine answered, but refused or failed the request.
    #[error("docker: {action}: {message}")]
    Docker { action: String, message: String },

    /// A spec handed in by a script does not describe something we can build.
    #[error("{0}")]
    InvalidSpec(String),

    /// A host port wanted by a container is held by someone else.
    #[error("port {port} on {ip} is already in use by {holder}; free it or choose another port in the config")]
    PortInUse {
        ip: String,
        port: u16,
        holder: String,
    },

    /// A config or data file could not be read or parsed.
    #[error("{0}")]
    Config(#[from] ConfigError),

    /// The registry HTTP API failed.
    #[error("registry {url}: {message}")]
    Registry { url: String, message: String },

    /// A command run inside a container failed.
    #[error("{container}: `{command}` failed (exit {code}): {stderr}")]
    ExecFailed {
        container: String,
        command: String,
        code: i64,
        stderr: String,
    },

    /// A container was created or re-created but did not come up. When it replaced a working
    /// one, that one was put back and is serving again.
    #[error("{container} did not start: {reason}{}{}", if *old_restored { "; the previous container is back and serving" } else { "" }, last_lines(logs))]
    NotStarted {
        container: String,
        reason: String,
        /// The last lines it printed.
        logs: String,
        old_restored: bool,
    },

    /// No Kubernetes API server answers for the context: the cluster is not up, or not yet.
    #[error("no Kubernetes API server answers for context `{context}` at {server}: {reason}")]
    KubeUnreachable {
        context: String,
        server: String,
        reason: String,
    },

    /// The kubeconfig has no such context.
    #[error("{}", context_missing(context, kubeconfig, known))]
    KubeContext {
        context: String,
        kubeconfig: String,
        known: Vec<String>,
    },

    /// The API server answered with a refusal; `message` is its `Status` message.
    #[error("kubernetes: {what}: {message}")]
    KubeApi {
        what: String,
        code: u16,
        message: String,
    },

    /// Anything else that went wrong on the way to the API server (a kubeconfig that cannot
    /// be read, a certificate that cannot be loaded).
    #[error("kubernetes: {what}: {message}")]
    Kube { what: String, message: String },

    /// The kind CLI is missing, or one of its commands failed.
    #[error("{0}")]
    KindCli(String),

    /// Something brrt did not create (it lacks brrt's label) is where brrt would act. brrt leaves
    /// it as it is; `advice` says what the user can do.
    #[error("{what} {name} was not created by brrt (it has no dev.brrt.managed label), so brrt leaves it as it is: {advice}")]
    NotOurs {
        what: String,
        name: String,
        advice: String,
    },

    /// The run was interrupted (Ctrl-C, SIGTERM or a restart of a watched flow).
    #[error("interrupted")]
    Interrupted,

    #[error("{0}")]
    Other(String),
}

/// "context X is not in the kubeconfig" and the contexts it has.
fn context_missing(context: &str, kubeconfig: &str, known: &[String]) -> String {
    let there = if known.is_empty() {
        "it has no contexts, or there is no such file".to_string()
    } else {
        format!("contexts there: {}", known.join(", "))
    };
    format!(
        "no context `{context}` in the kubeconfig {kubeconfig} ({there}); create the cluster, or \
         set [cluster] context in brrt.toml to one of them"
    )
}

/// ". It printed:" and what tells most of a container's output, indented: its panic or error
/// lines when it has any (a Go panic is followed by a long stack), else its last lines.
fn last_lines(logs: &str) -> String {
    let lines: Vec<&str> = logs.lines().filter(|l| !l.trim().is_empty()).collect();
    let telling: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| {
            l.starts_with("panic:") || l.contains("level=fatal") || l.contains("level=error")
        })
        .collect();
    let shown = if telling.is_empty() {
        &lines[..]
    } else {
        &telling[..]
    };
    if shown.is_empty() {
        return String::new();
    }
    let shown = &shown[shown.len().saturating_sub(3)..];
    format!(". It printed:\n    {}", shown.join("\n    "))
}

/// A config file that failed to parse, with the place that broke.
#[derive(Debug)]
pub struct ConfigError {
    pub path: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
    /// The offending source line, when known.
    pub snippet: Option<String>,
}

impl ConfigError {
    /// A problem at byte `offset` of `text`, the content of `path`.
    pub fn at(path: &str, text: &str, offset: usize, message: impl Into<String>) -> Self {
        let (line, column) = line_col(text, offset);
        ConfigError {
            path: path.to_string(),
            line: Some(line),
            column: Some(column),
            snippet: text.lines().nth(line - 1).map(str::to_string),
            message: message.into(),
        }
    }

    /// A problem with the whole file.
    pub fn whole(path: &str, message: impl Into<String>) -> Self {
        ConfigError {
            path: path.to_string(),
            line: None,
            column: None,
            snippet: None,
            message: message.into(),
        }
    }
}

/// The 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "{}:{l}:{c}: {}", self.path, self.message)?,
            (Some(l), None) => write!(f, "{}:{l}: {}", self.path, self.message)?,
            _ => write!(f, "{}: {}", self.path, self.message)?,
        }
        if let (Some(line), Some(snippet)) = (self.line, &self.snippet) {
            write_source_line(f, line, self.column, snippet)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Writes a source line under its number, with a caret under `column` when known:
///
/// ```text
///   |
/// 3 | enabled = tru
///   |           ^
/// ```
pub fn write_source_line(
    f: &mut fmt::Formatter<'_>,
    line: usize,
    column: Option<usize>,
    text: &str,
) -> fmt::Result {
    let width = line.to_string().len();
    write!(f, "\n{:width$} |\n{line} | {text}", "")?;
    if let Some(col) = column {
        write!(
            f,
            "\n{:width$} | {:pad$}^",
            "",
            "",
            pad = col.saturating_sub(1)
        )?;
    }
    Ok(())
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
