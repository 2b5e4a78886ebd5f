//! What every integration test shares: running the real `brrt` binary the way a user would, a
//! throwaway project directory, (in `testbed`) a real Docker engine with cleanup, and (in
//! `kube_apiserver`) the real Kubernetes API server.

/// Runs each flow `fn flow(stack: (Containerd, Registry))` as two tests, one per stack of
/// [`STACKS`]: `flow::containerd16_registry2` (nodes with containerd 1.6, as kind before v0.27,
/// and `registry:2`) and `flow::containerd2_registry3` (kind's containerd 2.3 and
/// `registry:3`, brrt's default).
macro_rules! on_both_stacks {
    ($($flow:ident),+ $(,)?) => {$(
        mod $flow {
            #[test]
            fn containerd16_registry2() {
                super::$flow(crate::support::STACKS[0]);
            }

            #[test]
            fn containerd2_registry3() {
                super::$flow(crate::support::STACKS[1]);
            }
        }
    )+};
}

pub mod apiserver;
mod ci;
pub mod cluster;
mod engine_door;
pub mod kube_apiserver;
mod running;
mod testbed;

pub use ci::{missing, testbed_bin};
pub use engine_door::EngineDoor;
pub use running::Running;
pub use testbed::{docker, try_docker, Containerd, Registry, Testbed, STACKS};

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A kubeconfig that does not exist: brrt run by a test sees no cluster unless the test says so.
pub const NO_KUBECONFIG: &str = "/nonexistent/brrt-tests/kubeconfig";

/// The `brrt` binary Cargo built for this test run.
pub const BRRT: &str = env!("CARGO_BIN_EXE_brrt");

/// One invocation of `brrt`, built up like a command line.
pub struct Brrt {
    command: Command,
    shown: Vec<String>,
}

impl Brrt {
    pub fn new() -> Self {
        let mut command = Command::new(BRRT);
        // A developer's own log filter must not change what the tests see, and no test may
        // read (or write) a developer's kubeconfig: tests that talk to a cluster point
        // KUBECONFIG at one of their own.
        command
            .env_remove("BRRT_LOG")
            .env_remove("RUST_BACKTRACE")
            .env("KUBECONFIG", NO_KUBECONFIG);
        Brrt {
            command,
            shown: vec!["brrt".to_string()],
        }
    }

    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.command.current_dir(dir);
        self
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.shown.push(arg.as_ref().to_string_lossy().into_owned());
        self.command.arg(arg);
        self
    }

    pub fn args<I, S>(self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        args.into_iter().fold(self, Brrt::arg)
    }

    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Self {
        self.command.env(key, value);
        self
    }

    pub fn env_remove(mut self, key: &str) -> Self {
        self.command.env_remove(key);
        self
    }

    /// Runs to the end and collects what it printed.
    pub fn run(mut self) -> Output {
        let out = self
            .command
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot start {BRRT}: {e}"));
        Output {
            command: self.shown.join(" "),
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Starts it with stdout and stderr piped, for tests that talk to the process while it runs.
    pub fn spawn(mut self) -> Child {
        self.command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {BRRT}: {e}"))
    }
}

/// How a finished `brrt` run ended. Every assertion prints the whole session when it fails.
#[derive(Debug)]
pub struct Output {
    pub command: String,
    /// `None` when the process was killed by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    fn report(&self, problem: &str) -> String {
        format!(
            "{problem}\n$ {}\nexit: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.command, self.code, self.stdout, self.stderr
        )
    }

    #[track_caller]
    fn expect(&self, ok: bool, problem: impl FnOnce() -> String) -> &Self {
        assert!(ok, "{}", self.report(&problem()));
        self
    }

    /// Exit code 0. No run may ever panic, so this is checked on every assertion of the code.
    #[track_caller]
    pub fn success(&self) -> &Self {
        self.no_panic()
            .expect(self.code == Some(0), || "expected success".into())
    }

    #[track_caller]
    pub fn failure(&self, code: i32) -> &Self {
        self.no_panic().expect(self.code == Some(code), || {
            format!("expected exit code {code}")
        })
    }

    #[track_caller]
    pub fn no_panic(&self) -> &Self {
        self.expect(!self.stderr.contains("panicked"), || "brrt panicked".into())
    }

    #[track_caller]
    pub fn stdout_is(&self, text: &str) -> &Self {
        self.expect(self.stdout == text, || format!("expected stdout {text:?}"))
    }

    #[track_caller]
    pub fn stdout_contains(&self, text: &str) -> &Self {
        self.expect(self.stdout.contains(text), || {
            format!("expected stdout to contain {text:?}")
        })
    }

    #[track_caller]
    pub fn stdout_lacks(&self, text: &str) -> &Self {
        self.expect(!self.stdout.contains(text), || {
            format!("expected stdout not to contain {text:?}")
        })
    }

    #[track_caller]
    pub fn stderr_contains(&self, text: &str) -> &Self {
        self.expect(self.stderr.contains(text), || {
            format!("expected stderr to contain {text:?}")
        })
    }

    #[track_caller]
    pub fn stderr_lacks(&self, text: &str) -> &Self {
        self.expect(!self.stderr.contains(text), || {
            format!("expected stderr not to contain {text:?}")
        })
    }

    /// The value a script printed as a `key=value` line (scripts' `print` goes to stdout).
    #[track_caller]
    pub fn printed(&self, key: &str) -> String {
        let prefix = format!("{key}=");
        let found: Vec<&str> = self
            .stdout
            .lines()
            .filter_map(|l| l.strip_prefix(&prefix))
            .collect();
        match found.as_slice() {
            [one] => one.to_string(),
            _ => panic!(
                "{}",
                self.report(&format!("expected one line `{key}=…`, found {found:?}"))
            ),
        }
    }
}

/// A throwaway project directory: brrt's project directory is the current working directory.
pub struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    pub fn new() -> Self {
        Project {
            dir: tempfile::Builder::new()
                .prefix("brrt-test-")
                .tempdir()
                .expect("cannot create a temp dir"),
        }
    }

    /// Writes a file (creating folders) and returns the project for chaining.
    pub fn file(self, path: &str, contents: impl AsRef<[u8]>) -> Self {
        self.write(path, contents);
        self
    }

    pub fn write(&self, path: &str, contents: impl AsRef<[u8]>) {
        let full = self.path().join(path);
        std::fs::create_dir_all(full.parent().expect("a file has a parent"))
            .expect("cannot create folders");
        std::fs::write(&full, contents).expect("cannot write a test file");
    }

    pub fn remove(&self, path: &str) {
        std::fs::remove_file(self.path().join(path)).expect("cannot remove a test file");
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `brrt`, run from the project directory.
    pub fn brrt(&self) -> Brrt {
        Brrt::new().current_dir(self.path())
    }
}

/// A fixture under `tests/fixtures/`.
pub fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path)
}

/// `--set key=value`, as two arguments.
pub fn set(key: &str, value: &str) -> [String; 2] {
    ["--set".to_string(), format!("{key}={value}")]
}
