//! The integrations a team drives brrt through, run for real where they can be: the justfile
//! under the real `just`, and the Tilt extension under go.starlark.net, the interpreter Tilt
//! embeds (Tilt itself cannot be installed here), through `tests/tilt/eval_tiltfile.py`.
//!
//! Without `just` (`pip install rust-just`) or the Python module `starlark_go`
//! (`pip install starlark-go`) these tests skip and say why; with `CI=true` they fail.

use crate::support::{Output, Project, Testbed, BRRT};
use serde_json::{json, Value};
use std::io::Write;
use std::net::TcpListener;
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
fn tool_works(program: &str, args: &[&str], install: &str) -> Result<(), String> {
    match Command::new(program).args(args).output() {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
            Err(format!(
                "`{program} {}` failed ({}); {install}",
                args.join(" "),
                last.unwrap_or("no message").trim()
            ))
        }
        Err(e) => Err(format!("cannot run {program} ({e}); {install}")),
    }
}

/// `true` when the tool is here. Otherwise the test skips, saying why, or fails under `CI=true`.
fn require(found: &Result<(), String>, test: &str) -> bool {
    let Err(why) = found else {
        return true;
    };
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true and {why}"
    );
    // Straight to the process's stderr: libtest would swallow eprintln! of a passing test.
    let _ = writeln!(std::io::stderr(), "skipping: {why} [{test}]");
    false
}

fn starlark(test: &str) -> bool {
    static FOUND: OnceLock<Result<(), String>> = OnceLock::new();
    let found = FOUND.get_or_init(|| {
        tool_works(
            "python3",
            &["-c", "import starlark_go"],
            "install it with `python3 -m pip install starlark-go`",
        )
    });
    require(found, test)
}

fn just_here(test: &str) -> bool {
    static FOUND: OnceLock<Result<(), String>> = OnceLock::new();
    let found = FOUND.get_or_init(|| {
        tool_works(
            "just",
            &["--version"],
            "install it with `python3 -m pip install rust-just`",
        )
    });
    require(found, test)
}

/// Runs a command to the end, as a `support::Output` so failures print the whole session.
fn run(mut command: Command, shown: String) -> Output {
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

/// The extension, loaded by path from Tiltfiles that tests write.
fn extension() -> PathBuf {
    repo().join("plugins/tilt/brrt/Tiltfile")
}

/// Evaluates a Tiltfile the way Tilt would and returns what the harness printed.
fn eval_tiltfile(tiltfile: &Path, args: &[&str]) -> Output {
    let harness = repo().join("tests/tilt/eval_tiltfile.py");
    let mut command = Command::new("python3");
    command.arg(&harness).arg(tiltfile).args(args);
    let shown = format!(
        "python3 tests/tilt/eval_tiltfile.py {} {}",
        shown(tiltfile),
        args.join(" ")
    );
    run(command, shown)
}

/// What a Tiltfile declared, in order.
struct Declared {
    calls: Vec<Value>,
    loads: Vec<Value>,
}

impl Declared {
    #[track_caller]
    fn of(out: &Output) -> Declared {
        out.success();
        let v: Value = serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("the harness printed no JSON ({e}):\n{}", out.stdout));
        let list = |key: &str| v[key].as_array().cloned().unwrap_or_default();
        Declared {
            calls: list("calls"),
            loads: list("loads"),
        }
    }

    fn calls_of(&self, function: &str) -> Vec<&Value> {
        self.calls.iter().filter(|c| c["fn"] == function).collect()
    }

    fn resource_names(&self) -> Vec<&str> {
        self.calls_of("local_resource")
            .iter()
            .filter_map(|c| c["name"].as_str())
            .collect()
    }

    #[track_caller]
    fn resource(&self, name: &str) -> &Value {
        self.calls
            .iter()
            .find(|c| c["fn"] == "local_resource" && c["name"] == name)
            .unwrap_or_else(|| {
                panic!(
                    "no local_resource {name:?}; declared: {:?}",
                    self.resource_names()
                )
            })
    }
}

/// A project whose Tiltfile loads the extension by path, with the files its defaults name.
fn tilt_project(body: &str) -> Project {
    Project::new()
        .file(
            "Tiltfile",
            format!(
                "load({:?}, 'brrt_up', 'brrt_down', 'brrt_cache_ls')\n{body}",
                shown(&extension())
            ),
        )
        .file("brrt.toml", "")
        .file("scripts/dev-up.rhai", "")
        .file("scripts/dev-down.rhai", "")
        .file("scripts/cache.rhai", "")
}

#[test]
fn tiltfile_runs_brrt_watch_as_a_serve_resource() {
    if !starlark("tiltfile_runs_brrt_watch_as_a_serve_resource") {
        return;
    }
    let root = shown(repo());
    let tilt = Declared::of(&eval_tiltfile(&repo().join("Tiltfile"), &[]));

    let repos = tilt.calls_of("v1alpha1.extension_repo");
    assert_eq!(repos.len(), 1, "{repos:?}");
    assert_eq!(repos[0]["name"], "brrt-local");
    assert_eq!(repos[0]["url"], format!("file://{root}/plugins/tilt"));
    let ext = tilt.calls_of("v1alpha1.extension");
    assert_eq!(
        (&ext[0]["name"], &ext[0]["repo_name"], &ext[0]["repo_path"]),
        (&json!("brrt"), &json!("brrt-local"), &json!("brrt"))
    );
    // load('ext://brrt') found the extension through those two calls.
    assert_eq!(
        tilt.loads,
        [json!({"module": "ext://brrt", "path": format!("{root}/plugins/tilt/brrt/Tiltfile")})]
    );

    let up = tilt.resource("brrt");
    assert_eq!(
        up["serve_cmd"],
        json!([
            "brrt",
            "run",
            "--watch",
            "--on-busy",
            "queue",
            "scripts/dev-up.rhai",
            "--set",
            "config=brrt.toml"
        ])
    );
    assert_eq!(up["cmd"], Value::Null);
    // In the project, where brrt.toml and scripts/ are, not in the extension's directory.
    assert_eq!(up["serve_dir"], json!(root));
    // brrt watches by itself: a Tilt dep would kill the watcher on every save.
    assert_eq!(up["deps"], json!([]));
    assert!(tilt.calls_of("watch_file").is_empty());
    assert_eq!(up["labels"], json!(["brrt"]));
    assert_eq!(up["auto_init"], true);
    assert_eq!(
        up["readiness_probe"]["action"],
        json!({"__tilt__": "tcp_socket_action", "port": 5001, "host": "127.0.0.1"})
    );
}

#[test]
fn tiltfile_buttons_run_cache_ls_and_dev_down_only_when_clicked() {
    if !starlark("tiltfile_buttons_run_cache_ls_and_dev_down_only_when_clicked") {
        return;
    }
    let root = shown(repo());
    let tilt = Declared::of(&eval_tiltfile(&repo().join("Tiltfile"), &[]));
    assert_eq!(
        tilt.resource_names(),
        ["brrt", "brrt-cache-ls", "brrt-down"]
    );

    for (name, cmd) in [
        (
            "brrt-cache-ls",
            json!([
                "brrt",
                "run",
                "scripts/cache.rhai",
                "--set",
                "config=brrt.toml",
                "--",
                "ls"
            ]),
        ),
        (
            "brrt-down",
            json!([
                "brrt",
                "run",
                "scripts/dev-down.rhai",
                "--set",
                "config=brrt.toml"
            ]),
        ),
    ] {
        let button = tilt.resource(name);
        assert_eq!(button["cmd"], cmd, "{name}");
        assert_eq!(button["serve_cmd"], Value::Null, "{name}");
        assert_eq!(button["dir"], json!(root), "{name}");
        assert_eq!(button["auto_init"], false, "{name}");
        assert_eq!(button["trigger_mode"], "TRIGGER_MODE_MANUAL", "{name}");
    }
}

#[test]
fn tiltfile_takes_the_brrt_binary_from_the_brrt_variable() {
    if !starlark("tiltfile_takes_the_brrt_binary_from_the_brrt_variable") {
        return;
    }
    let tilt = Declared::of(&eval_tiltfile(
        &repo().join("Tiltfile"),
        &["--env", "BRRT=target/debug/brrt"],
    ));
    let built = shown(&repo().join("target/debug/brrt"));
    for name in ["brrt", "brrt-cache-ls", "brrt-down"] {
        let r = tilt.resource(name);
        let cmd = if r["cmd"].is_null() {
            &r["serve_cmd"]
        } else {
            &r["cmd"]
        };
        // A relative path is the project's, though the call runs in the extension.
        assert_eq!(cmd[0], json!(built), "{name}");
    }
}

#[test]
fn extension_passes_its_arguments_through() {
    if !starlark("extension_passes_its_arguments_through") {
        return;
    }
    let project = tilt_project(
        r#"
brrt_up(config='ci/brrt.toml', on_busy='restart', resource_name='registries',
        labels='infra', registry_port=None)
brrt_down(config='ci/brrt.toml', purge=True)
brrt_cache_ls(config='ci/brrt.toml', upstream='quay.io')
"#,
    )
    .file("ci/brrt.toml", "");
    let tilt = Declared::of(&eval_tiltfile(&project.path().join("Tiltfile"), &[]));

    let up = tilt.resource("registries");
    assert_eq!(
        up["serve_cmd"],
        json!([
            "brrt",
            "run",
            "--watch",
            "--on-busy",
            "restart",
            "scripts/dev-up.rhai",
            "--set",
            "config=ci/brrt.toml"
        ])
    );
    assert_eq!(up["labels"], json!(["infra"]));
    assert_eq!(up["readiness_probe"], Value::Null);
    assert_eq!(up["serve_dir"], json!(shown(project.path())));
    assert_eq!(
        tilt.resource("brrt-down")["cmd"],
        json!([
            "brrt",
            "run",
            "scripts/dev-down.rhai",
            "--set",
            "config=ci/brrt.toml",
            "--set",
            "purge=true"
        ])
    );
    assert_eq!(
        tilt.resource("brrt-cache-ls")["cmd"],
        json!([
            "brrt",
            "run",
            "scripts/cache.rhai",
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
    if !starlark("extension_stops_the_tiltfile_on_bad_arguments_with_a_clear_message") {
        return;
    }
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
            "brrt_up: registry_port must be a port number (1-65535) or None, got 70000",
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
        let out = eval_tiltfile(&project.path().join("Tiltfile"), &[]);
        out.failure(1)
            .stderr_contains(&format!("fail: {}", message.replace("{dir}", &dir)))
            // The backtrace starts at the team's line, not inside the extension.
            .stderr_contains(&format!("{dir}/Tiltfile:3:"));
        assert!(out.stdout.is_empty(), "{call}: declared something anyway");
    }
}

#[test]
fn extension_own_test_tiltfile_brings_up_a_registry_of_its_own() {
    if !starlark("extension_own_test_tiltfile_brings_up_a_registry_of_its_own") {
        return;
    }
    let test_dir = repo().join("plugins/tilt/brrt/test");
    let tilt = Declared::of(&eval_tiltfile(
        &test_dir.join("Tiltfile"),
        &["--fs-root", &shown(repo()), "--env", "BRRT=/opt/brrt"],
    ));
    let up = tilt.resource("brrt-test");
    assert_eq!(
        up["serve_cmd"],
        json!([
            "/opt/brrt",
            "run",
            "--watch",
            "--on-busy",
            "queue",
            shown(&repo().join("scripts/dev-up.rhai")),
            "--set",
            "config=brrt.toml"
        ])
    );
    assert_eq!(up["serve_dir"], json!(shown(&test_dir)));
    assert_eq!(up["readiness_probe"]["action"]["port"], 5091);
    let config = std::fs::read_to_string(test_dir.join("brrt.toml")).expect("test/brrt.toml");
    assert!(
        config.contains("port = 5091"),
        "test/brrt.toml and the probe disagree"
    );
    assert_eq!(
        tilt.resource_names(),
        ["brrt-test", "brrt-test-cache-ls", "brrt-test-down"]
    );
}

/// Why the extension makes every path absolute: a relative one would be the extension's.
#[test]
fn harness_resolves_paths_against_the_calling_file_as_tilt_does() {
    if !starlark("harness_resolves_paths_against_the_calling_file_as_tilt_does") {
        return;
    }
    let project = Project::new()
        .file(
            "lib/Tiltfile",
            "def serve():\n    local_resource('x', serve_cmd='run', deps=['a.txt'])\n",
        )
        .file(
            "Tiltfile",
            "load('./lib/Tiltfile', 'serve')\nserve()\nlocal_resource('y', cmd='make', deps='b.txt')\n",
        );
    let dir = shown(project.path());
    let tilt = Declared::of(&eval_tiltfile(&project.path().join("Tiltfile"), &[]));
    assert_eq!(
        tilt.resource("x")["deps"],
        json!([format!("{dir}/lib/a.txt")])
    );
    assert_eq!(tilt.resource("x")["serve_dir"], json!(format!("{dir}/lib")));
    assert_eq!(tilt.resource("y")["deps"], json!([format!("{dir}/b.txt")]));
    assert_eq!(tilt.resource("y")["dir"], json!(dir));
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
             no benches/plugin.sh\n",
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

/// A loopback port nobody listens on, picked at random below the ephemeral range, so that
/// neither Docker nor the kernel hands it out before the test uses it.
fn unused_port() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    for _ in 0..200 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        let port = 20_000 + u16::try_from(h.finish() % 12_000).expect("below 12000");
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port in 20000..32000");
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
    let cache = tb.container("reg-docker-io");
    let volumes = [tb.volume("reg-data"), tb.volume("reg-docker-io-data")];
    // The cache's upstream is the push registry itself: the proxy only has to reach something
    // that speaks the registry API, and nothing is pulled.
    let project = just_project(&format!(
        "[cluster]\nname = \"{registry}-kind\"\nnetwork = \"{network}\"\n\n\
         [registry]\nname = \"{registry}\"\nport = {}\nimage = \"brrt-testbed/registry:2\"\n\n\
         [cache]\nupstreams = [\"docker.io\"]\n\n\
         [cache.remotes]\n\"docker.io\" = \"http://{registry}:5000\"\n",
        unused_port()
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

    run_just(&["cache-ls"])
        .success()
        .stdout_contains(&format!("docker.io ({cache}): 0 image(s)"));
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
