//! The real Docker engine, for tests that need one: skip (saying why) when it is missing
//! locally, fail when it is missing in CI, build the stand-in images once per test binary, give
//! every test its own names, and remove what the test made even when the test fails.

use std::cell::RefCell;
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

/// Whether `docker info` answers, checked once per test binary.
static ENGINE: OnceLock<Result<(), String>> = OnceLock::new();
/// `tests/testbed/build-images.sh`, run once per test binary.
static IMAGES: OnceLock<Result<(), String>> = OnceLock::new();

/// One test's view of the engine. Everything registered through it is removed on drop.
pub struct Testbed {
    prefix: String,
    containers: RefCell<Vec<String>>,
    networks: RefCell<Vec<String>>,
    volumes: RefCell<Vec<String>>,
}

impl Testbed {
    /// The engine, or `None` (after saying why on stderr) when there is none here.
    /// With `CI=true` a missing engine is a failure, not a skip.
    ///
    /// `test` names the test in every Docker object it makes: `brrt-t-<test>-<pid>-…`, with its
    /// underscores written as dashes.
    pub fn require(test: &str) -> Option<Testbed> {
        assert!(
            !test.is_empty()
                && test
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "test name `{test}` should be snake_case, it becomes part of Docker names"
        );
        if let Err(why) = ENGINE.get_or_init(engine_answers) {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("CI=true and no Docker engine: {why}");
            }
            // Straight to the process's stderr: libtest would swallow eprintln! of a passing test.
            let _ = writeln!(
                std::io::stderr(),
                "skipping: no Docker engine ({why}) [{test}]"
            );
            return None;
        }
        if let Err(why) = IMAGES.get_or_init(build_images) {
            panic!("the testbed images could not be built:\n{why}");
        }
        Some(Testbed {
            // Dashes, not underscores: kind (and so brrt) refuses `_` in a cluster name.
            prefix: format!("brrt-t-{}-{}", test.replace('_', "-"), std::process::id()),
            containers: RefCell::default(),
            networks: RefCell::default(),
            volumes: RefCell::default(),
        })
    }

    fn name(&self, what: &str) -> String {
        format!("{}-{what}", self.prefix)
    }

    /// A container name of this test, removed (with its anonymous volumes) on drop.
    pub fn container(&self, what: &str) -> String {
        let name = self.name(what);
        self.containers.borrow_mut().push(name.clone());
        name
    }

    /// A network name of this test, removed on drop.
    pub fn network(&self, what: &str) -> String {
        let name = self.name(what);
        self.networks.borrow_mut().push(name.clone());
        name
    }

    /// A volume name of this test, removed on drop.
    pub fn volume(&self, what: &str) -> String {
        let name = self.name(what);
        self.volumes.borrow_mut().push(name.clone());
        name
    }
}

impl Drop for Testbed {
    fn drop(&mut self) {
        // Containers first: a network or volume in use cannot be removed.
        for name in self.containers.borrow().iter() {
            let _ = try_docker(&["rm", "--force", "--volumes", name]);
        }
        for name in self.networks.borrow().iter() {
            let _ = try_docker(&["network", "rm", name]);
        }
        for name in self.volumes.borrow().iter() {
            let _ = try_docker(&["volume", "rm", "--force", name]);
        }
    }
}

fn engine_answers() -> Result<(), String> {
    let out = Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output()
        .map_err(|e| format!("cannot run the docker CLI: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let why = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("`docker info` failed")
        .trim()
        .to_string();
    Err(why)
}

fn build_images() -> Result<(), String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testbed/build-images.sh");
    let out = Command::new("bash")
        .arg(&script)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Runs the docker CLI and returns its trimmed stdout, or `None` when it failed.
pub fn try_docker(args: &[&str]) -> Option<String> {
    let out = Command::new("docker").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Runs the docker CLI and returns its trimmed stdout; a failure fails the test.
#[track_caller]
pub fn docker(args: &[&str]) -> String {
    let out = Command::new("docker")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run docker: {e}"));
    assert!(
        out.status.success(),
        "docker {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
