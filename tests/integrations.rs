//! The integrations a team drives brrt through, run for real: the justfile under the real
//! `just`, and the Tilt extension under the real Tilt (`tilt`, v0.37 in the testbed's bin folder,
//! see `support::testbed_bin`). Tilt needs no cluster here: the extension declares local
//! resources only. What a Tiltfile declares is read with `tilt alpha tiltfile-result`, which
//! loads it as `tilt up` would and runs nothing; `tilt ci` then runs it.
//!
//! Without `just` (`pip install rust-just`) or Tilt these tests skip and say why; under CI they
//! fail.

use crate::support::cluster::{free_port, http_status};
use crate::support::{
    docker, missing, testbed_bin, try_docker, Output, Project, Testbed, BRRT, NO_KUBECONFIG,
};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn shown(path: &Path) -> String {
    path.display().to_string()
}

/// Whether `program args…` runs and succeeds; `Err` says why not.
fn tool_works(program: &Path, args: &[&str], install: &str) -> Result<(), String> {
    let name = shown(program);
    match Command::new(program).args(args).output() {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
            Err(format!(
                "`{name} {}` failed ({}); {install}",
                args.join(" "),
                last.unwrap_or("no message").trim()
            ))
        }
        Err(e) => Err(format!("cannot run {name} ({e}); {install}")),
    }
}

/// `true` when the tool is here. Otherwise the test skips, saying why, or fails under CI.
fn require(found: &Result<(), String>, test: &str) -> bool {
    match found {
        Ok(()) => true,
        Err(why) => {
            missing(test, why);
            false
        }
    }
}

pub(crate) fn just_here(test: &str) -> bool {
    static FOUND: OnceLock<Result<(), String>> = OnceLock::new();
    let found = FOUND.get_or_init(|| {
        tool_works(
            Path::new("just"),
            &["--version"],
            "install it with `python3 -m pip install rust-just`",
        )
    });
    require(found, test)
}

/// Runs a command to the end, as a `support::Output` so failures print the whole session.
pub(crate) fn run(mut command: Command, shown: String) -> Output {
    let out = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot start `{shown}`: {e}"));
    Output {
        command: shown,
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

// --- Tilt ---------------------------------------------------------------------------------

/// Tilt's trigger modes as `tiltfile-result` reports them.
const TRIGGER_AUTO: i64 = 0;
/// `trigger_mode=TRIGGER_MODE_MANUAL` with `auto_init=False`: a button that never runs by itself.
const TRIGGER_MANUAL_NO_AUTO_INIT: i64 = 2;

/// The real Tilt for one test: `tilt` from the testbed's bin folder, else from PATH, with a state
/// folder (`TILT_DEV_DIR`) and a web port of the test's own, and no analytics.
pub(crate) struct Tilt {
    program: PathBuf,
    dev_dir: tempfile::TempDir,
    port: u16,
}

impl Tilt {
    /// Tilt, or `None` (after saying why) when it is not here; under CI its absence fails.
    pub(crate) fn require(test: &str) -> Option<Tilt> {
        static FOUND: OnceLock<Result<PathBuf, String>> = OnceLock::new();
        let found = FOUND.get_or_init(|| {
            let bundled = testbed_bin().join("tilt");
            let program = if bundled.is_file() {
                bundled
            } else {
                PathBuf::from("tilt")
            };
            tool_works(
                &program,
                &["version"],
                &format!(
                    "no tilt in {} nor on PATH (set BRRT_TESTBED_BIN to the folder that has it)",
                    shown(&testbed_bin())
                ),
            )
            .map(|()| program)
        });
        match found {
            Ok(program) => Some(Tilt {
                program: program.clone(),
                dev_dir: tempfile::Builder::new()
                    .prefix("brrt-tilt-")
                    .tempdir()
                    .expect("a temp dir for Tilt's state"),
                port: free_port(),
            }),
            Err(why) => {
                missing(test, why);
                None
            }
        }
    }

    /// Sets what every Tilt run of the test shares on `command`, and leaves out the variables
    /// a developer may have set that the Tiltfiles read. The `brrt` this test run built is
    /// first on PATH: the extension asks it for the config's values as the Tiltfile loads.
    fn environment<'c>(&self, command: &'c mut Command) -> &'c mut Command {
        let built = Path::new(BRRT).parent().expect("brrt is in a folder");
        let path = format!(
            "{}:{}",
            built.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        command
            .env("PATH", path)
            .env("TILT_DISABLE_ANALYTICS", "1")
            .env("TILT_DEV_DIR", self.dev_dir.path())
            .env("TILT_PORT", self.port.to_string())
            .env_remove("TILT_HOST")
            .env_remove("BRRT")
            .env_remove("BRRT_CONFIG")
            .env_remove("BRRT_LOG")
            .env("KUBECONFIG", NO_KUBECONFIG)
    }

    /// What a Tiltfile declares, as Tilt loads it for `tilt up`; nothing runs.
    pub(crate) fn declared(&self, tiltfile: &Path, env: &[(&str, &str)]) -> Output {
        let mut command = Command::new(&self.program);
        self.environment(&mut command)
            .args(["alpha", "tiltfile-result", "--file"])
            .arg(tiltfile)
            .envs(env.iter().copied());
        run(
            command,
            format!(
                "{}tilt alpha tiltfile-result --file {}",
                shown_env(env),
                shown(tiltfile)
            ),
        )
    }

    /// `tilt ci --file TILTFILE --timeout TIMEOUT`: exits 0 once every resource is ready, 1
    /// when one is not by the timeout. Returns what it printed and Tilt's state at the end.
    pub(crate) fn ci(
        &self,
        tiltfile: &Path,
        env: &[(&str, &str)],
        timeout: &str,
    ) -> (Output, TiltState) {
        let snapshot = self.dev_dir.path().join("snapshot.json");
        // Tilt writes over the file without truncating it: a shorter snapshot of a second run
        // would leave the end of the first one behind.
        let _ = std::fs::remove_file(&snapshot);
        let mut command = Command::new(&self.program);
        self.environment(&mut command)
            .args(["ci", "--timeout", timeout, "--file"])
            .arg(tiltfile)
            .arg("--output-snapshot-on-exit")
            .arg(&snapshot)
            .envs(env.iter().copied());
        let out = run(
            command,
            format!(
                "{}tilt ci --timeout {timeout} --file {}",
                shown_env(env),
                shown(tiltfile)
            ),
        );
        let state = TiltState::read(&snapshot, &out);
        (out, state)
    }

    /// The extension's own test, `plugins/tilt/brrt/test/test.sh`, with this Tilt.
    fn extension_test(&self, env: &[(&str, &str)]) -> (Output, TiltState) {
        let snapshot = self.dev_dir.path().join("snapshot.json");
        let script = repo().join("plugins/tilt/brrt/test/test.sh");
        let mut command = Command::new("bash");
        self.environment(&mut command)
            .arg(&script)
            .arg("--output-snapshot-on-exit")
            .arg(&snapshot)
            .env("TILT", &self.program)
            .envs(env.iter().copied());
        let out = run(
            command,
            format!("{}bash {}", shown_env(env), shown(&script)),
        );
        let state = TiltState::read(&snapshot, &out);
        (out, state)
    }
}

fn shown_env(env: &[(&str, &str)]) -> String {
    env.iter().map(|(k, v)| format!("{k}={v} ")).collect()
}

/// Tilt's view of its resources when `tilt ci` exited (`--output-snapshot-on-exit`).
pub(crate) struct TiltState(Value);

impl TiltState {
    #[track_caller]
    fn read(path: &Path, out: &Output) -> TiltState {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("tilt left no snapshot ({e}):\n{out:?}"));
        TiltState(serde_json::from_str(&text).expect("Tilt's snapshot is JSON"))
    }

    #[track_caller]
    fn resource(&self, name: &str) -> &Value {
        self.0["view"]["uiResources"]
            .as_array()
            .and_then(|all| all.iter().find(|r| r["metadata"]["name"] == name))
            .unwrap_or_else(|| panic!("Tilt has no resource {name:?}"))
    }

    /// Whether Tilt saw the resource ready (for a serve_cmd: running, and its probe passing).
    pub(crate) fn ready(&self, name: &str) -> bool {
        self.resource(name)["status"]["conditions"]
            .as_array()
            .is_some_and(|c| {
                c.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            })
    }

    /// `none` for a resource that never ran.
    fn update_status(&self, name: &str) -> String {
        self.resource(name)["status"]["updateStatus"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

/// The result of `tilt alpha tiltfile-result`: the resources a Tiltfile declared.
pub(crate) struct Declared(Value);

impl Declared {
    #[track_caller]
    pub(crate) fn of(out: &Output) -> Declared {
        out.success();
        Declared(
            serde_json::from_str(&out.stdout)
                .unwrap_or_else(|e| panic!("tilt printed no JSON ({e}):\n{}", out.stdout)),
        )
    }

    pub(crate) fn names(&self) -> Vec<&str> {
        self.0["Manifests"]
            .as_array()
            .map(|all| all.iter().filter_map(|m| m["Name"].as_str()).collect())
            .unwrap_or_default()
    }

    #[track_caller]
    pub(crate) fn resource(&self, name: &str) -> Resource<'_> {
        let manifests = self.0["Manifests"].as_array();
        Resource(
            manifests
                .and_then(|all| all.iter().find(|m| m["Name"] == name))
                .unwrap_or_else(|| panic!("no resource {name:?}; declared: {:?}", self.names())),
        )
    }

    /// The files whose change makes Tilt load the Tiltfile again.
    pub(crate) fn config_files(&self) -> Vec<&str> {
        self.0["ConfigFiles"]
            .as_array()
            .map(|all| all.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    /// An API object the Tiltfile declared, e.g. `("extensionrepos", "brrt-local")`.
    fn object(&self, kind: &str, name: &str) -> &Value {
        &self.0["ObjectSet"][format!("tilt.dev/v1alpha1, Resource={kind}")][name]
    }
}

/// One `local_resource` as Tilt holds it.
pub(crate) struct Resource<'a>(&'a Value);

impl Resource<'_> {
    pub(crate) fn serve_cmd(&self) -> &Value {
        &self.0["DeployTarget"]["ServeCmd"]["Argv"]
    }

    pub(crate) fn serve_dir(&self) -> &Value {
        &self.0["DeployTarget"]["ServeCmd"]["Dir"]
    }

    fn cmd(&self) -> &Value {
        &self.0["DeployTarget"]["UpdateCmdSpec"]["args"]
    }

    fn dir(&self) -> &Value {
        &self.0["DeployTarget"]["UpdateCmdSpec"]["dir"]
    }

    /// The command it runs, whichever kind it is.
    fn command(&self) -> &Value {
        if self.cmd().is_null() {
            self.serve_cmd()
        } else {
            self.cmd()
        }
    }

    fn deps(&self) -> &Value {
        &self.0["DeployTarget"]["Deps"]
    }

    pub(crate) fn readiness_probe(&self) -> &Value {
        &self.0["DeployTarget"]["ReadinessProbe"]
    }

    fn labels(&self) -> Vec<&str> {
        self.0["Labels"]
            .as_object()
            .map(|l| l.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    fn trigger_mode(&self) -> i64 {
        self.0["TriggerMode"].as_i64().expect("a trigger mode")
    }
}

/// The extension, loaded by path from Tiltfiles that tests write.
fn extension() -> PathBuf {
    repo().join("plugins/tilt/brrt/Tiltfile")
}

/// A project whose Tiltfile loads the extension by path, with the config its defaults name. It
/// has no scripts/: the default flows are named, and brrt runs its built-in ones.
fn tilt_project(body: &str) -> Project {
    Project::new()
        .file(
            "Tiltfile",
            format!(
                "load({:?}, 'brrt_up', 'brrt_down', 'brrt_cache_ls', 'brrt_registry')\n{body}",
                shown(&extension())
            ),
        )
        .file("brrt.toml", "[cluster]\nname = \"dev\"\n")
}

#[test]
fn tiltfile_runs_brrt_watch_as_a_serve_resource() {
    let Some(tilt) = Tilt::require("tiltfile_runs_brrt_watch_as_a_serve_resource") else {
        return;
    };
    let root = shown(repo());
    let declared = Declared::of(&tilt.declared(&repo().join("Tiltfile"), &[]));

    // load('ext://brrt') found the extension through these two.
    assert_eq!(
        declared.object("extensionrepos", "brrt-local")["spec"]["url"],
        json!(format!("file://{root}/plugins/tilt"))
    );
    assert_eq!(
        declared.object("extensions", "brrt")["spec"],
        json!({"repoName": "brrt-local", "repoPath": "brrt"})
    );

    let up = declared.resource("brrt");
    assert_eq!(
        up.serve_cmd(),
        &json!([
            "brrt",
            "run",
            "--watch",
            "--on-busy",
            "queue",
            "dev-up",
            "--set",
            "config=brrt.toml"
        ])
    );
    assert_eq!(up.cmd(), &Value::Null);
    // In the project, where brrt.toml and scripts/ are, not in the extension's directory.
    assert_eq!(up.serve_dir(), &json!(root));
    // brrt watches by itself: a Tilt dep would kill the watcher on every save.
    assert_eq!(up.deps(), &Value::Null);
    assert_eq!(up.labels(), ["brrt"]);
    assert_eq!(up.trigger_mode(), TRIGGER_AUTO);
    assert_eq!(
        up.readiness_probe()["tcpSocket"],
        json!({"port": 5001, "host": "127.0.0.1"})
    );
}

#[test]
fn tiltfile_buttons_run_cache_ls_and_dev_down_only_when_clicked() {
    let Some(tilt) = Tilt::require("tiltfile_buttons_run_cache_ls_and_dev_down_only_when_clicked")
    else {
        return;
    };
    let root = shown(repo());
    let declared = Declared::of(&tilt.declared(&repo().join("Tiltfile"), &[]));
    assert_eq!(declared.names(), ["brrt", "brrt-cache-ls", "brrt-down"]);

    for (name, cmd) in [
        (
            "brrt-cache-ls",
            json!([
                "brrt",
                "run",
                "cache",
                "--set",
                "config=brrt.toml",
                "--",
                "ls"
            ]),
        ),
        (
            "brrt-down",
            json!(["brrt", "run", "dev-down", "--set", "config=brrt.toml"]),
        ),
    ] {
        let button = declared.resource(name);
        assert_eq!(button.cmd(), &cmd, "{name}");
        assert_eq!(button.serve_cmd(), &Value::Null, "{name}");
        assert_eq!(button.dir(), &json!(root), "{name}");
        assert_eq!(button.trigger_mode(), TRIGGER_MANUAL_NO_AUTO_INIT, "{name}");
    }
}

#[test]
fn tiltfile_takes_the_binary_and_config_from_the_environment_and_the_port_from_the_config() {
    let Some(tilt) = Tilt::require(
        "tiltfile_takes_the_binary_and_config_from_the_environment_and_the_port_from_the_config",
    ) else {
        return;
    };
    let project = Project::new().file(
        "team.toml",
        "[cluster]\nname = \"team\"\n\n[registry]\nport = 5091\n",
    );
    let config = shown(&project.path().join("team.toml"));
    let declared = Declared::of(&tilt.declared(
        &repo().join("Tiltfile"),
        &[("BRRT", "target/debug/brrt"), ("BRRT_CONFIG", &config)],
    ));
    let built = shown(&repo().join("target/debug/brrt"));
    for name in ["brrt", "brrt-cache-ls", "brrt-down"] {
        let command = declared.resource(name).command().clone();
        // A relative path is the project's, though the call runs in the extension.
        assert_eq!(command[0], json!(built), "{name}");
        assert!(
            command
                .as_array()
                .unwrap()
                .contains(&json!(format!("config={config}"))),
            "{name}: {command}"
        );
    }
    // The probe's port is the config's, as brrt reads it: the Tiltfile names none.
    assert_eq!(
        declared.resource("brrt").readiness_probe()["tcpSocket"]["port"],
        5091
    );
}

#[test]
fn extension_passes_its_arguments_through() {
    let Some(tilt) = Tilt::require("extension_passes_its_arguments_through") else {
        return;
    };
    let project = tilt_project(
        r#"
brrt_up(config='ci/brrt.toml', on_busy='restart', resource_name='registries',
        labels='infra', registry_port=None)
brrt_down(config='ci/brrt.toml', purge=True)
brrt_cache_ls(config='ci/brrt.toml', upstream='quay.io')
"#,
    )
    .file("ci/brrt.toml", "");
    let declared = Declared::of(&tilt.declared(&project.path().join("Tiltfile"), &[]));

    let up = declared.resource("registries");
    assert_eq!(
        up.serve_cmd(),
        &json!([
            "brrt",
            "run",
            "--watch",
            "--on-busy",
            "restart",
            "dev-up",
            "--set",
            "config=ci/brrt.toml"
        ])
    );
    assert_eq!(up.labels(), ["infra"]);
    assert_eq!(up.readiness_probe(), &Value::Null);
    assert_eq!(up.serve_dir(), &json!(shown(project.path())));
    assert_eq!(
        declared.resource("brrt-down").cmd(),
        &json!([
            "brrt",
            "run",
            "dev-down",
            "--set",
            "config=ci/brrt.toml",
            "--set",
            "purge=true"
        ])
    );
    assert_eq!(
        declared.resource("brrt-cache-ls").cmd(),
        &json!([
            "brrt",
            "run",
            "cache",
            "--set",
            "config=ci/brrt.toml",
            "--",
            "ls",
            "quay.io"
        ])
    );
}

#[test]
fn extension_stops_the_tiltfile_on_bad_arguments_with_a_clear_message() {
    let Some(tilt) =
        Tilt::require("extension_stops_the_tiltfile_on_bad_arguments_with_a_clear_message")
    else {
        return;
    };
    let cases = [
        (
            "brrt_up(on_busy='sometimes')",
            "brrt_up: on_busy must be one of queue, restart, got \"sometimes\"",
        ),
        (
            "brrt_up(config='missing.toml')",
            "brrt_up: config \"missing.toml\" does not exist (looked for {dir}/missing.toml)",
        ),
        (
            "brrt_up(script='')",
            "brrt_up: script must be a non-empty string, got \"\"",
        ),
        (
            "brrt_up(registry_port=70000)",
            "brrt_up: registry_port must be 'config', a port number (1-65535) or None, got 70000",
        ),
        (
            "brrt_up(registry_port=5002)",
            "brrt_up: registry_port=5002, but brrt.toml has registry.port = 5001: drop \
             registry_port (the extension reads the port from the config)",
        ),
        (
            "brrt_up(apply_first='yes')",
            "brrt_up: apply_first must be True or False, got \"yes\"",
        ),
        (
            "brrt_up(labels=[1])",
            "brrt_up: each label must be a non-empty string, got 1",
        ),
        (
            "brrt_down(purge='yes')",
            "brrt_down: purge must be True or False, got \"yes\"",
        ),
        (
            "brrt_cache_ls(upstream=None)",
            "brrt_cache_ls: upstream must be a string, got None",
        ),
        (
            "brrt_cache_ls(script='scripts/nope.rhai')",
            "brrt_cache_ls: script \"scripts/nope.rhai\" does not exist",
        ),
    ];
    for (call, message) in cases {
        // The call is on line 3 of the Tiltfile.
        let project = tilt_project(&format!("# a team's Tiltfile\n{call}\n"));
        let dir = shown(project.path());
        let out = tilt.declared(&project.path().join("Tiltfile"), &[]);
        // 5: Tilt's exit code for a Tiltfile that fails to load.
        out.failure(5)
            .stderr_contains(&format!(
                "Error in fail: {}",
                message.replace("{dir}", &dir)
            ))
            // The traceback starts at the team's line, not inside the extension.
            .stderr_contains(&format!("{dir}/Tiltfile:3:"));
        assert!(out.stdout.is_empty(), "{call}: declared something anyway");
    }
}

#[test]
fn brrt_registry_reads_the_push_registry_port_from_the_config() {
    let Some(tilt) = Tilt::require("brrt_registry_reads_the_push_registry_port_from_the_config")
    else {
        return;
    };
    let project = Project::new()
        .file(
            "Tiltfile",
            format!(
                "load({:?}, 'brrt_registry')\n\
                 local_resource('team', cmd='echo ' + brrt_registry('team.toml'))\n\
                 local_resource('default', cmd='echo ' + brrt_registry('bare.toml'))\n",
                shown(&extension())
            ),
        )
        .file(
            "team.toml",
            "[cluster]\nname = \"dev\"\n# port = 9999\n\n[registry]   # the push registry\nname = \"kind-registry\"\nport = 5123  # on 127.0.0.1\n",
        )
        .file("bare.toml", "[cluster]\nname = \"dev\"\n");
    let declared = Declared::of(&tilt.declared(&project.path().join("Tiltfile"), &[]));
    assert_eq!(
        declared.resource("team").cmd(),
        &json!(["sh", "-c", "echo localhost:5123"])
    );
    assert_eq!(
        declared.resource("default").cmd(),
        &json!(["sh", "-c", "echo localhost:5001"])
    );
}

/// A brrt.toml for a Tilt run: a push registry with the test's names and port, no caches (so
/// no upstream is needed) and no nodes.
fn registry_only_config(tb: &Testbed) -> (Project, String, u16) {
    let registry = tb.container("reg");
    tb.volume("reg-data");
    let network = tb.network("net");
    let port = free_port();
    let project = Project::new().file(
        "brrt.toml",
        format!(
            "[cluster]\nname = \"{registry}-kind\"\nnetwork = \"{network}\"\n\n\
             [registry]\nname = \"{registry}\"\nport = {port}\n\
             image = \"brrt-testbed/registry:2\"\n\n\
             [cache]\nenabled = false\nupstreams = []\n"
        ),
    );
    (project, registry, port)
}

#[test]
fn extension_test_passes_under_tilt_ci_and_removes_what_it_made() {
    let Some(tilt) = Tilt::require("extension_test_passes_under_tilt_ci_and_removes_what_it_made")
    else {
        return;
    };
    let Some(tb) = Testbed::require("tilt_extension_test") else {
        return;
    };
    let (project, registry, port) = registry_only_config(&tb);
    let config = shown(&project.path().join("brrt.toml"));

    let (out, state) = tilt.extension_test(&[("BRRT", BRRT), ("BRRT_CONFIG", &config)]);
    out.success()
        .stdout_contains("SUCCESS. All workloads are healthy.")
        // While the Tiltfile loaded, dev-up brought up the push registry on the test's port,
        // before Tilt connected to any cluster.
        .stdout_contains(&format!("local: {BRRT} run dev-up --set config={config}"))
        .stdout_contains(&format!("push registry  {registry} (localhost:{port})"));
    for button in ["brrt-test-cache-ls", "brrt-test-down"] {
        assert_eq!(
            state.update_status(button),
            "none",
            "{button} ran by itself"
        );
    }
    // test.sh cleans up after itself: dev-down with purge, then the network.
    assert_eq!(try_docker(&["container", "inspect", &registry]), None);
    assert_eq!(
        try_docker(&["volume", "inspect", &format!("{registry}-data")]),
        None
    );
    out.stdout_contains("network brrt-t-tilt-extension-test-");
}

#[test]
fn tiltfile_under_tilt_ci_keeps_the_push_registry_up_on_its_port() {
    let Some(tilt) = Tilt::require("tiltfile_under_tilt_ci_keeps_the_push_registry_up_on_its_port")
    else {
        return;
    };
    let Some(tb) = Testbed::require("tilt_ci") else {
        return;
    };
    let (project, registry, port) = registry_only_config(&tb);
    let config = shown(&project.path().join("brrt.toml"));

    let (out, _) = tilt.ci(
        &repo().join("Tiltfile"),
        &[("BRRT", BRRT), ("BRRT_CONFIG", &config)],
        "3m",
    );
    // "healthy": the resource's readiness probe passed (Tilt's snapshot may show the resource
    // as it was a moment before).
    out.success()
        .stdout_contains("SUCCESS. All workloads are healthy.");
    // What the brrt resource brought up is still there after Tilt exits.
    assert_eq!(
        docker(&[
            "container",
            "inspect",
            "--format",
            "{{.State.Running}}",
            &registry
        ]),
        "true"
    );
    assert_eq!(
        docker(&["port", &registry, "5000/tcp"]),
        format!("127.0.0.1:{port}")
    );
    assert_eq!(http_status(port, "/v2/"), Ok(200));
}

#[test]
fn tilt_ci_fails_when_the_push_registry_never_answers() {
    let Some(tilt) = Tilt::require("tilt_ci_fails_when_the_push_registry_never_answers") else {
        return;
    };
    let Some(tb) = Testbed::require("tilt_never_ready") else {
        return;
    };
    // A flow that reads the config and never brings the push registry up: nothing ever
    // answers on registry.port, where the resource's probe looks.
    let (project, registry, _) = registry_only_config(&tb);
    project.write("idle.rhai", "config::brrt(SET.config);\nprint(\"idle\");\n");
    project.write(
        "Tiltfile",
        format!(
            "load({:?}, 'brrt_up')\nbrrt_up(script='idle.rhai')\n",
            shown(&extension())
        ),
    );

    let (out, state) = tilt.ci(&project.path().join("Tiltfile"), &[], "20s");
    out.failure(1)
        .stderr_contains("1 resources not ready (brrt:");
    assert!(!state.ready("brrt"), "Tilt saw brrt ready");
    assert_eq!(try_docker(&["container", "inspect", &registry]), None);
}

// --- just ---------------------------------------------------------------------------------

/// `just --justfile JUSTFILE ARGS…` with BRRT set; recipes run in the justfile's directory.
fn just(justfile: &Path, brrt: &str, args: &[&str]) -> Output {
    let mut command = Command::new("just");
    command
        .arg("--justfile")
        .arg(justfile)
        .args(args)
        .env("BRRT", brrt)
        .env("KUBECONFIG", NO_KUBECONFIG)
        .env_remove("BRRT_CONFIG")
        .env_remove("BRRT_LOG")
        .env_remove("RUST_BACKTRACE");
    let shown = format!(
        "BRRT={brrt} just --justfile {} {}",
        shown(justfile),
        args.join(" ")
    );
    run(command, shown)
}

/// A project with the repository's justfile and flow scripts, and this brrt.toml.
fn just_project(config: &str) -> Project {
    let project = Project::new()
        .file(
            "justfile",
            std::fs::read(repo().join("justfile")).expect("justfile"),
        )
        .file("brrt.toml", config);
    copy_tree(&repo().join("scripts"), "scripts", &project);
    project
}

fn copy_tree(from: &Path, to: &str, project: &Project) {
    for entry in std::fs::read_dir(from).expect("a readable folder") {
        let entry = entry.expect("a folder entry");
        let name = format!("{to}/{}", entry.file_name().to_string_lossy());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &name, project);
        } else {
            project.write(&name, std::fs::read(entry.path()).expect("a readable file"));
        }
    }
}

#[test]
fn just_lists_every_recipe() {
    if !just_here("just_lists_every_recipe") {
        return;
    }
    // The default recipe lists them.
    let out = just(&repo().join("justfile"), BRRT, &[]);
    out.success();
    for recipe in [
        "dev-registry",
        "dev-up",
        "dev-down purge=\"false\"",
        "watch on_busy=\"queue\"",
        "cache-ls upstream=\"\"",
        "cache-du",
        "cache-clear upstream=\"\"",
        "cache-stats *args",
        "cache-logs upstream=\"\"",
        "cache-warm *paths",
        "doctor",
        "check",
        "test",
        "bench",
        "plugin-build name",
        "install",
    ] {
        out.stdout_contains(&format!("    {recipe} "));
    }
}

#[test]
fn each_brrt_recipe_is_one_brrt_call() {
    if !just_here("each_brrt_recipe_is_one_brrt_call") {
        return;
    }
    let justfile = repo().join("justfile");
    let up = "/opt/brrt run scripts/dev-up.rhai --set config=brrt.toml";
    let cache = "/opt/brrt run scripts/cache.rhai --set config=brrt.toml --";
    let down = "/opt/brrt run scripts/dev-down.rhai --set config=brrt.toml";
    let cases: &[(&[&str], String)] = &[
        (&["dev-registry"], up.to_string()),
        (&["dev-up"], up.to_string()),
        (&["dev-down"], format!("{down} --set purge=false")),
        (&["dev-down", "true"], format!("{down} --set purge=true")),
        // After a recipe name, just passes `purge=true` on as a value: it still purges.
        (
            &["dev-down", "purge=true"],
            format!("{down} --set purge=true"),
        ),
        (
            &["watch"],
            "/opt/brrt run --watch --on-busy queue scripts/dev-up.rhai --set config=brrt.toml"
                .to_string(),
        ),
        (
            &["watch", "restart"],
            "/opt/brrt run --watch --on-busy restart scripts/dev-up.rhai --set config=brrt.toml"
                .to_string(),
        ),
        (&["cache-ls"], format!("{cache} ls")),
        (&["cache-ls", "docker.io"], format!("{cache} ls docker.io")),
        (&["cache-du"], format!("{cache} du")),
        (&["cache-clear"], format!("{cache} clear")),
        (
            &["cache-clear", "quay.io"],
            format!("{cache} clear quay.io"),
        ),
        (&["cache-stats"], format!("{cache} stats")),
        (&["cache-stats", "--json"], format!("{cache} stats --json")),
        (
            &["cache-stats", "docker.io", "--json"],
            format!("{cache} stats docker.io --json"),
        ),
        (&["cache-logs"], format!("{cache} logs")),
        (&["cache-logs", "quay.io"], format!("{cache} logs quay.io")),
        (&["cache-warm"], format!("{cache} warm")),
        (
            &["cache-warm", "k8s/", "images.txt"],
            format!("{cache} warm k8s/ images.txt"),
        ),
        (
            &["doctor"],
            "/opt/brrt run scripts/doctor.rhai --set config=brrt.toml".to_string(),
        ),
        (
            &["check"],
            "/opt/brrt check scripts/*.rhai scripts/lib/*.rhai".to_string(),
        ),
        (
            &["config=ci/brrt.toml", "dev-up"],
            "/opt/brrt run scripts/dev-up.rhai --set config=ci/brrt.toml".to_string(),
        ),
    ];
    for (args, expected) in cases {
        let out = just(&justfile, "/opt/brrt", &[&["--dry-run"], *args].concat());
        out.success();
        let lines: Vec<&str> = out.stderr.lines().map(str::trim_end).collect();
        assert_eq!(lines, [expected.as_str()], "just {}", args.join(" "));
    }
}

#[test]
fn dev_registry_says_nodes_stay_unwired_without_a_cluster() {
    if !just_here("dev_registry_says_nodes_stay_unwired_without_a_cluster") {
        return;
    }
    just(&repo().join("justfile"), BRRT, &["--show", "dev-registry"])
        .success()
        .stdout_contains("says that no node is wired");
}

#[test]
fn just_check_compiles_the_shipped_scripts() {
    if !just_here("just_check_compiles_the_shipped_scripts") {
        return;
    }
    just(&repo().join("justfile"), BRRT, &["check"])
        .success()
        .stderr_contains("scripts/dev-up.rhai: ok")
        .stderr_contains("scripts/lib/topology.rhai: ok");
}

#[test]
fn just_bench_skips_the_benches_that_do_not_exist() {
    if !just_here("just_bench_skips_the_benches_that_do_not_exist") {
        return;
    }
    let project = just_project("").file("benches/startup.sh", "echo \"startup with $BRRT\"\n");
    just(&project.path().join("justfile"), "/opt/brrt", &["bench"])
        .success()
        .stdout_is(
            "startup with /opt/brrt\nno benches/dev_up_noop.sh\nno benches/watch_latency.sh\n\
             no benches/plugin.sh\nno benches/warm_vs_cold.sh\nno benches/warm_rerun.sh\n\
             no benches/cold_fanout.sh\nno benches/seed_stack.sh\n",
        );
}

#[test]
fn just_cache_ls_without_docker_says_where_it_looked() {
    if !just_here("just_cache_ls_without_docker_says_where_it_looked") {
        return;
    }
    let project = just_project(
        "[registry]\nname = \"brrt-t-just-nodocker\"\n\n[cache]\nupstreams = [\"docker.io\"]\n",
    );
    let mut command = Command::new("just");
    command
        .arg("--justfile")
        .arg(project.path().join("justfile"))
        .arg("cache-ls")
        .env("BRRT", BRRT)
        .env("DOCKER_HOST", "unix:///nonexistent.sock")
        .env("KUBECONFIG", NO_KUBECONFIG)
        .env_remove("BRRT_CONFIG")
        .env_remove("BRRT_LOG");
    run(
        command,
        "DOCKER_HOST=unix:///nonexistent.sock just cache-ls".into(),
    )
    .failure(1)
    .stderr_contains("error: cannot reach Docker at unix:///nonexistent.sock")
    .stderr_contains("`cache-ls` failed");
}

#[test]
fn just_recipes_bring_up_inspect_and_remove_the_registries() {
    if !just_here("just_recipes_bring_up_inspect_and_remove_the_registries") {
        return;
    }
    let Some(tb) = Testbed::require("justflow") else {
        return;
    };
    let network = tb.network("net");
    let registry = tb.container("reg");
    let cache = tb.container("cache-docker-io");
    let volumes = [tb.volume("reg-data"), tb.volume("cache-docker-io-data")];
    // The cache's upstream is the push registry itself: the proxy only has to reach something
    // that speaks the registry API, and nothing is pulled.
    let project = just_project(&format!(
        "[cluster]\nname = \"{registry}-kind\"\nnetwork = \"{network}\"\n\n\
         [registry]\nname = \"{registry}\"\nport = {}\nimage = \"brrt-testbed/registry:2\"\n\n\
         [cache]\nname = \"{}\"\nupstreams = [\"docker.io\"]\n\n\
         [cache.remotes]\n\"docker.io\" = \"http://{registry}:5000\"\n",
        free_port(),
        tb.name("cache")
    ));
    let justfile = project.path().join("justfile");
    let run_just = |args: &[&str]| just(&justfile, BRRT, args);
    let running = |name: &str| {
        crate::support::try_docker(&[
            "container",
            "inspect",
            "--format",
            "{{.State.Running}}",
            name,
        ])
    };

    run_just(&["dev-registry"])
        .success()
        .stderr_contains("no node is wired to them");
    assert_eq!(running(&registry).as_deref(), Some("true"));
    assert_eq!(running(&cache).as_deref(), Some("true"));

    run_just(&["cache-ls"]).success().stdout_contains(&format!(
        "docker.io ({cache}, serves no cluster): 0 image(s)"
    ));
    run_just(&["cache-ls", "quay.io"])
        .failure(1)
        .stderr_contains("no cache for upstream \"quay.io\"");
    run_just(&["cache-du"])
        .success()
        .stdout_contains("docker.io (")
        .stdout_contains("total");
    run_just(&["cache-clear", "docker.io"])
        .success()
        .stdout_contains(&format!("cleared docker.io ({cache})"));

    run_just(&["dev-down", "true"]).success();
    for name in [&registry, &cache] {
        assert_eq!(running(name), None, "{name} is still there");
    }
    for volume in &volumes {
        assert!(
            crate::support::try_docker(&["volume", "inspect", volume]).is_none(),
            "volume {volume} is still there"
        );
    }
}
