//! The real Docker engine, for tests that need one: skip (saying why) when it is missing
//! locally, fail when it is missing in CI, build the stand-in images once per test binary, give
//! every test its own names, and remove what the test made even when the test fails.

use super::ci::{missing, testbed_bin};
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// Whether `docker info` answers, checked once per test binary.
static ENGINE: OnceLock<Result<(), String>> = OnceLock::new();
/// `tests/testbed/build-images.sh`, run once per test binary.
static IMAGES: OnceLock<Result<(), String>> = OnceLock::new();
/// Every test name handed to [`Testbed::require`] so far: two tests with one name would share
/// (and remove) each other's containers.
static NAMES: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// The containerd a node of the cluster stand-in runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Containerd {
    /// Debian's containerd 1.6, which kind's nodes ran before v0.27.
    V1_6,
    /// containerd 2.3, the one kind's current node image pins (static binaries from
    /// [`testbed_bin`]).
    V2,
}

impl Containerd {
    /// The node image built by `tests/testbed/build-images.sh`.
    pub fn node_image(self) -> &'static str {
        match self {
            Containerd::V1_6 => "brrt-testbed/node:latest",
            Containerd::V2 => "brrt-testbed/node:containerd2",
        }
    }

    /// What a test's Docker names carry after its name: `cd16`, `cd2` (short: a kind cluster
    /// name has at most 50 characters).
    pub fn suffix(self) -> &'static str {
        match self {
            Containerd::V1_6 => "cd16",
            Containerd::V2 => "cd2",
        }
    }

    /// Why its node image is not there, if it is not.
    fn missing_image(self) -> Option<String> {
        if try_docker(&["image", "inspect", "--format", "{{.Id}}", self.node_image()]).is_some() {
            return None;
        }
        Some(match self {
            Containerd::V1_6 => format!("no {} image", self.node_image()),
            Containerd::V2 => format!(
                "no {} image: tests/testbed/build-images.sh builds it from containerd and ctr \
                 2.x in {} (set BRRT_TESTBED_BIN to another folder)",
                self.node_image(),
                testbed_bin().display()
            ),
        })
    }
}

/// The distribution a test's push registry and caches run (its upstream stand-ins and other
/// registries run 2.8 whatever this says).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registry {
    /// distribution 2.8.2, Debian's `docker-registry`: the stand-in for `registry:2`.
    V2,
    /// distribution v3 (the static `registry-v3` from [`testbed_bin`]): the stand-in for
    /// `registry:3`, brrt's default.
    V3,
}

impl Registry {
    /// The image built by `tests/testbed/build-images.sh`.
    pub fn image(self) -> &'static str {
        match self {
            Registry::V2 => "brrt-testbed/registry:2",
            Registry::V3 => "brrt-testbed/registry:3",
        }
    }

    /// What a test's Docker names carry after its name: `r2`, `r3`.
    pub fn suffix(self) -> &'static str {
        match self {
            Registry::V2 => "r2",
            Registry::V3 => "r3",
        }
    }

    fn missing_image(self) -> Option<String> {
        if try_docker(&["image", "inspect", "--format", "{{.Id}}", self.image()]).is_some() {
            return None;
        }
        Some(match self {
            Registry::V2 => format!("no {} image", self.image()),
            Registry::V3 => format!(
                "no {} image: tests/testbed/build-images.sh builds it from registry-v3 in {} \
                 (set BRRT_TESTBED_BIN to another folder)",
                self.image(),
                testbed_bin().display()
            ),
        })
    }
}

/// The two stacks the everyday flows run on: the one a kind user had before kind v0.27
/// (containerd 1.6 nodes, `registry:2`), and today's (containerd 2.3 nodes, `registry:3`).
/// The other two pairs are not run: a node and a registry meet only through the registry HTTP
/// API, which each version of both speaks alike.
pub const STACKS: [(Containerd, Registry); 2] = [
    (Containerd::V1_6, Registry::V2),
    (Containerd::V2, Registry::V3),
];

/// One test's view of the engine. Everything registered through it is removed on drop.
pub struct Testbed {
    prefix: String,
    containerd: Containerd,
    registry: Registry,
    containers: RefCell<Vec<String>>,
    networks: RefCell<Vec<String>>,
    volumes: RefCell<Vec<String>>,
    images: RefCell<Vec<String>>,
}

impl Testbed {
    /// The engine, or `None` (after saying why on stderr) when there is none here. Under CI
    /// (see [`in_ci`](super::ci::in_ci)) a missing engine is a failure, not a skip. Nodes run
    /// containerd 1.6; the push registry and caches run `registry:3`, brrt's default.
    ///
    /// `test` names the test in every Docker object it makes: `brrt-t-<test>-<pid>-…`, with its
    /// underscores written as dashes. Each test has a name of its own.
    pub fn require(test: &str) -> Option<Testbed> {
        Testbed::with(test, None, None)
    }

    /// As [`Testbed::require`], with registries that run `registry`: Docker names are
    /// `brrt-t-<test>-r2-<pid>-…`.
    pub fn require_registry(test: &str, registry: Registry) -> Option<Testbed> {
        Testbed::with(test, None, Some(registry))
    }

    /// As [`Testbed::require`], on one of the [`STACKS`]: nodes that run `containerd` and
    /// registries that run `registry`; without either image the test skips (fails under CI).
    /// Docker names are `brrt-t-<test>-cd2-r3-<pid>-…`.
    pub fn require_stack(
        test: &str,
        (containerd, registry): (Containerd, Registry),
    ) -> Option<Testbed> {
        Testbed::with(test, Some(containerd), Some(registry))
    }

    fn with(
        test: &str,
        nodes: Option<Containerd>,
        registries: Option<Registry>,
    ) -> Option<Testbed> {
        let mut name = test.to_string();
        for suffix in [
            nodes.map(Containerd::suffix),
            registries.map(Registry::suffix),
        ]
        .into_iter()
        .flatten()
        {
            name = format!("{name}-{suffix}");
        }
        let containerd = nodes.unwrap_or(Containerd::V1_6);
        let registry = registries.unwrap_or(Registry::V3);
        assert!(
            !test.is_empty()
                && test
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "test name `{test}` should be snake_case, it becomes part of Docker names"
        );
        assert!(
            NAMES.lock().unwrap().insert(name.clone()),
            "two tests use the testbed name `{name}`: give each its own"
        );
        let test = name.as_str();
        if let Err(why) = ENGINE.get_or_init(engine_answers) {
            missing(test, &format!("no Docker engine ({why})"));
            return None;
        }
        if let Err(why) = IMAGES.get_or_init(build_images) {
            panic!("the testbed images could not be built:\n{why}");
        }
        if let Some(why) = containerd
            .missing_image()
            .or_else(|| registry.missing_image())
        {
            missing(test, &why);
            return None;
        }
        Some(Testbed {
            // Dashes, not underscores: kind (and so brrt) refuses `_` in a cluster name.
            prefix: format!("brrt-t-{}-{}", test.replace('_', "-"), std::process::id()),
            containerd,
            registry,
            containers: RefCell::default(),
            networks: RefCell::default(),
            volumes: RefCell::default(),
            images: RefCell::default(),
        })
    }

    /// The containerd this test's nodes run.
    pub fn containerd(&self) -> Containerd {
        self.containerd
    }

    /// The registry this test's push registry and caches run.
    pub fn registry(&self) -> Registry {
        self.registry
    }

    /// A name of this test (`brrt-t-<test>-<pid>-<what>`) for something it removes itself,
    /// such as an image it builds.
    pub fn name(&self, what: &str) -> String {
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

    /// An image of this test's own, built from `dockerfile` (which starts `FROM` a testbed
    /// image: nothing is pulled), removed on drop. Returns its name.
    #[track_caller]
    pub fn image(&self, what: &str, dockerfile: &str) -> String {
        let name = format!("{}-{what}:test", self.prefix);
        self.images.borrow_mut().push(name.clone());
        let mut build = Command::new("docker")
            .args(["build", "--quiet", "--tag", &name, "-"])
            .env("DOCKER_BUILDKIT", "0")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("cannot run docker build");
        std::io::Write::write_all(
            &mut build.stdin.take().expect("stdin is piped"),
            dockerfile.as_bytes(),
        )
        .expect("docker build takes the Dockerfile");
        let out = build.wait_with_output().expect("docker build runs");
        assert!(
            out.status.success(),
            "docker build of {name} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        name
    }

    /// A volume the test made without naming it (a container's anonymous volume), removed on
    /// drop.
    pub fn remove_volume_on_drop(&self, name: &str) {
        self.volumes.borrow_mut().push(name.to_string());
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
        for name in self.images.borrow().iter() {
            let _ = try_docker(&["image", "rm", "--force", name]);
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
