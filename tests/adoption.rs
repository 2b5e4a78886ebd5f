//! Adopting brrt in a team's own repository (issue 12): `brrt init` in a service repository with
//! its own justfile, Tiltfile and manifests, the built-in flows and local copies of them, and
//! `brrt run migrate` from the single proxy registry such a team already runs. Everything goes
//! through the real binary, the real `just` and the real Tilt, against real registries and a
//! node running real containerd.

use crate::integrations::{just_here, run, Declared, Tilt};
use crate::support::cluster::{
    container_exists, container_id, docker_and_quay_cluster, managed_tmpfs_volume, volume_exists,
    wait_for, wait_until_serving, CacheConfig, Cluster, Node, HELLO_1, REGISTRY_IMAGE,
};
use crate::support::{docker, try_docker, Output, Project, Running, Testbed, BRRT};
use serde_json::json;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// `PATH` with the directory of the `brrt` under test first, as `cargo install` puts brrt on a
/// user's PATH: the recipes and Tilt resources that `init` adds call plain `brrt`.
fn path_with_brrt() -> String {
    let dir = Path::new(BRRT).parent().expect("brrt is in a folder");
    format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// `just ARGS…` in `dir`, with brrt on PATH.
fn just_in(dir: &Path, args: &[&str]) -> Output {
    let mut command = Command::new("just");
    command
        .current_dir(dir)
        .args(args)
        .env("PATH", path_with_brrt())
        .env_remove("BRRT_LOG");
    run(command, format!("just {}", args.join(" ")))
}

/// A service repository as a team has it before brrt: a justfile with its own `dev-registry`
/// and `dev-up`, a Tiltfile, and manifests naming images of Docker Hub and quay.io.
fn service_repo(project: &Project) {
    project.write(
        "justfile",
        "# Our dev loop.\n\
         dev-registry:\n    docker run -d --name kind-registry -p 5001:5000 registry:2\n\n\
         dev-up: dev-registry\n    kubectl apply -f k8s/\n\n\
         test:\n    cargo test\n",
    );
    project.write(
        "Tiltfile",
        "k8s_yaml(['k8s/db.yaml', 'k8s/prometheus.yaml'])\nlocal_resource('lint', cmd='echo lint')\n",
    );
    project.write("k8s/db.yaml", deployment("db", "postgres:16-alpine"));
    project.write(
        "k8s/prometheus.yaml",
        deployment("prometheus", "quay.io/prometheus/prometheus:v2.48.0"),
    );
    // A git repository, as a team's is (brrt needs no git: without it, this is a folder).
    let _ = Command::new("git")
        .args(["init", "--quiet"])
        .current_dir(project.path())
        .status();
}

fn deployment(name: &str, image: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  selector:\n    \
         matchLabels: {{app: {name}}}\n  template:\n    metadata:\n      labels: {{app: {name}}}\n    \
         spec:\n      containers:\n        - name: {name}\n          image: {image}\n"
    )
}

/// `text` with `key` in `[table]` set to `value` (a TOML value), as a user edits brrt.toml:
/// the line is replaced, its comments stay.
fn set_key(text: &str, table: &str, key: &str, value: &str) -> String {
    let mut in_table = false;
    let mut done = false;
    let lines: Vec<String> = text
        .lines()
        .map(|line| {
            if line.starts_with('[') {
                in_table = line.trim() == format!("[{table}]");
            }
            if in_table && !done && line.starts_with(&format!("{key} =")) {
                done = true;
                format!("{key} = {value}")
            } else {
                line.to_string()
            }
        })
        .collect();
    assert!(done, "no `{key}` in [{table}]:\n{text}");
    lines.join("\n") + "\n"
}

/// The files `init` may write in a repository, and what each holds (absent: `None`).
fn snapshot(dir: &Path) -> Vec<(String, Option<String>)> {
    let mut files = vec![
        "brrt.toml".to_string(),
        "justfile".to_string(),
        "Tiltfile".to_string(),
    ];
    for entry in walk(&dir.join("plugins"))
        .into_iter()
        .chain(walk(&dir.join("scripts")))
    {
        files.push(
            entry
                .strip_prefix(dir)
                .expect("inside the repository")
                .display()
                .to_string(),
        );
    }
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(dir.join(&f)).ok();
            (f, text)
        })
        .collect()
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.path().is_dir() {
            out.extend(walk(&entry.path()));
        } else {
            out.push(entry.path());
        }
    }
    out
}

/// The recipe names `just --list` printed.
fn recipes(list: &Output) -> Vec<String> {
    list.stdout
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// The action and detail `brrt init` reported for `file`.
#[track_caller]
fn row(out: &Output, file: &str) -> (String, String) {
    let line = out
        .stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some(file))
        .unwrap_or_else(|| panic!("init reported nothing for {file}:\n{}", out.stdout));
    let rest = line[file.len()..].trim_start();
    let (action, detail) = rest.split_once(' ').unwrap_or((rest, ""));
    (action.to_string(), detail.trim_start().to_string())
}

/// A brrt.toml read and checked by brrt's own schema, through the real binary: the value of
/// each `key` printed.
fn checked_config(project: &Project) -> Output {
    project.write(
        ".check-config.rhai",
        "let c = config::brrt(\"brrt.toml\");\n\
         print(`cluster=${c.cluster.name}`);\n\
         print(`port=${c.registry.port}`);\n\
         print(`upstreams=${c.cache.upstreams}`);\n",
    );
    let out = project.brrt().args(["run", ".check-config.rhai"]).run();
    out.success();
    out
}

#[test]
fn a_service_repository_adopts_brrt_with_init_just_and_tilt() {
    if !just_here("a_service_repository_adopts_brrt_with_init_just_and_tilt") {
        return;
    }
    let Some(tilt) = Tilt::require("a_service_repository_adopts_brrt_with_init_just_and_tilt")
    else {
        return;
    };
    let Some(tb) = Testbed::require("adopt") else {
        return;
    };
    let cluster = docker_and_quay_cluster(&tb, "prometheus/prometheus:v2.48.0");
    let repo = &cluster.project;
    service_repo(repo);
    let dir = repo.path();

    let init = repo.brrt().args(["init", "--just", "--tilt"]).run();
    init.success()
        .stdout_contains("next: read brrt.toml, then `brrt run dev-up`");
    let (action, detail) = row(&init, "brrt.toml");
    assert_eq!(action, "created");
    assert!(
        detail.ends_with("caches for docker.io, quay.io"),
        "{detail}"
    );
    assert_eq!(
        row(&init, "justfile"),
        (
            "updated".to_string(),
            "added dev-watch, dev-down, cache-ls, cache-du, cache-clear, doctor; skipped \
             dev-registry, dev-up: the justfile has recipes of its own by those names"
                .to_string()
        )
    );
    assert_eq!(row(&init, "plugins/tilt/brrt/Tiltfile").0, "created");
    assert_eq!(
        row(&init, "Tiltfile"),
        (
            "updated".to_string(),
            "appended the lines that load the brrt extension".to_string()
        )
    );
    let written = std::fs::read_to_string(dir.join("brrt.toml")).expect("a brrt.toml");
    assert!(
        written.contains("#   docker.io (postgres:16-alpine in k8s/db.yaml)")
            && written.contains(
                "#   quay.io (quay.io/prometheus/prometheus:v2.48.0 in k8s/prometheus.yaml)"
            ),
        "{written}"
    );
    // brrt's schema accepts what init wrote, as it is.
    let config = checked_config(repo);
    assert_eq!(config.printed("upstreams"), "[\"docker.io\", \"quay.io\"]");
    let port = config.printed("port");

    // The team's recipes are kept; brrt's are added and parse under the real just.
    let list = just_in(dir, &["--list"]);
    list.success();
    assert_eq!(
        recipes(&list),
        [
            "cache-clear",
            "cache-du",
            "cache-ls",
            "dev-down",
            "dev-registry",
            "dev-up",
            "dev-watch",
            "doctor",
            "test"
        ]
    );
    list.stdout_contains("dev-registry            # Our dev loop.");
    for (args, runs) in [
        (&["doctor"][..], "brrt run doctor"),
        (
            &["dev-down", "true"][..],
            "brrt run dev-down --set purge=true",
        ),
        (&["cache-ls", "quay.io"][..], "brrt run cache -- ls quay.io"),
        (
            &["dev-registry"][..],
            "docker run -d --name kind-registry -p 5001:5000 registry:2",
        ),
    ] {
        let out = just_in(dir, &[&["--dry-run"], args].concat());
        out.success();
        assert_eq!(out.stderr.trim(), runs, "just {}", args.join(" "));
    }

    // The Tiltfile loads the extension init wrote: Tilt declares brrt's resources beside the
    // team's.
    let declared = Declared::of(&tilt.declared(&dir.join("Tiltfile"), &[]));
    assert_eq!(
        declared.names(),
        [
            "db",
            "prometheus",
            "lint",
            "brrt",
            "brrt-cache-ls",
            "brrt-down"
        ]
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
    assert_eq!(up.serve_dir(), &json!(dir.display().to_string()));
    assert_eq!(up.readiness_probe()["tcpSocket"]["port"].to_string(), port);

    // The user points the config at this cluster and at the upstreams' stand-ins, as they
    // would edit it for a corporate mirror; nothing else changes.
    tb.volume("reg-data");
    cluster.cache("docker.io");
    cluster.cache("quay.io");
    let mut edited = written.clone();
    for (table, key, value) in [
        ("cluster", "name", format!("{:?}", cluster.name)),
        ("cluster", "network", format!("{:?}", cluster.network)),
        ("registry", "name", format!("{:?}", cluster.registry)),
        ("registry", "port", cluster.port.to_string()),
        ("registry", "image", format!("{REGISTRY_IMAGE:?}")),
    ] {
        edited = set_key(&edited, table, key, &value);
    }
    // The test's own set of caches, never the engine's brrt-cache-*.
    edited = edited.replacen(
        "[cache]\n",
        &format!("[cache]\nname = {:?}\n", cluster.cache_set()),
        1,
    );
    edited.push_str(&format!(
        "\n[cache.remotes]\n\"docker.io\" = {:?}\n\"quay.io\" = {:?}\n",
        cluster.upstream("docker.io").remote(),
        cluster.upstream("quay.io").remote()
    ));
    repo.write("brrt.toml", &edited);
    assert!(
        !dir.join("scripts").exists(),
        "init without --flows wrote scripts/"
    );

    // The built-in dev-up wires the node: it pulls from both upstreams through the caches.
    repo.brrt()
        .args(["run", "dev-up"])
        .run()
        .success()
        .stdout_contains(&format!(
            "{} (localhost:{})",
            cluster.registry, cluster.port
        ))
        .stdout_contains(&format!("{} (docker.io)", cluster.cache("docker.io")))
        .stdout_contains(&format!("{} (quay.io)", cluster.cache("quay.io")));
    let node = cluster.control_plane();
    assert_eq!(
        node.mirrored_hosts(),
        [
            "docker.io".to_string(),
            format!("localhost:{}", cluster.port),
            "quay.io".to_string()
        ]
    );
    node.must_pull("docker.io/library/hello:1");
    assert_eq!(
        node.file_in_image("docker.io/library/hello:1", "hello.txt"),
        HELLO_1
    );
    node.must_pull("quay.io/prometheus/prometheus:v2.48.0");
    // A recipe init added, run by the real just: the cache holds what the node pulled.
    wait_for(30, "`just cache-ls quay.io` to list the image", || {
        let out = just_in(dir, &["cache-ls", "quay.io"]);
        if out.code == Some(0) && out.stdout.contains("quay.io/prometheus/prometheus:v2.48.0") {
            Ok(())
        } else {
            Err(format!("{out:?}"))
        }
    });

    // A second init changes nothing, and says so.
    let before = snapshot(dir);
    let again = repo.brrt().args(["init", "--just", "--tilt"]).run();
    again.success().stdout_contains("init: nothing changed in ");
    assert_eq!(
        row(&again, "brrt.toml"),
        (
            "unchanged".to_string(),
            "kept: it exists, and brrt init never overwrites a file".to_string()
        )
    );
    assert!(row(&again, "justfile")
        .1
        .starts_with("brrt's recipes are there"));
    assert_eq!(
        row(&again, "Tiltfile").1,
        "loads the brrt extension already"
    );
    assert_eq!(
        row(&again, "plugins/tilt/brrt/Tiltfile").1,
        "same as the built-in"
    );
    assert_eq!(snapshot(dir), before, "a second init changed a file");
}

// --- built-in flows and local copies --------------------------------------------------------

/// The line `brrt flows` prints for `name`, its columns split.
#[track_caller]
fn flow_line(project: &Project, name: &str) -> Vec<String> {
    let out = project.brrt().arg("flows").run();
    out.success();
    let line = out
        .stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("brrt flows lists no {name}:\n{}", out.stdout));
    line.split_whitespace().map(str::to_string).collect()
}

#[test]
fn built_in_flows_run_without_scripts_and_a_local_copy_wins() {
    let project = Project::new();
    assert_eq!(
        flow_line(&project, "dev-up")[..4],
        [
            "dev-up",
            "flow",
            "built-in",
            "<built-in>/scripts/dev-up.rhai"
        ]
    );
    assert_eq!(
        flow_line(&project, "lib/topology")[..3],
        ["lib/topology", "module", "built-in"]
    );

    // The built-in flow runs; its error names the built-in files, with their source.
    project
        .brrt()
        .args(["run", "dev-up", "--set", "config=missing.toml"])
        .run()
        .failure(1)
        .stderr_contains("error: no config at missing.toml: `brrt init` writes one")
        .stderr_contains("--> <built-in>/scripts/lib/topology.rhai:")
        .stderr_contains("config::brrt(set.config ?? \"brrt.toml\")")
        .stderr_contains("note: in function `load`, called at <built-in>/scripts/dev-up.rhai:");
    // A path to a flow the project does not have says how to run the built-in.
    project
        .brrt()
        .args(["run", "scripts/dev-up.rhai"])
        .run()
        .failure(1)
        .stderr_contains("`dev-up` is a built-in flow: run it by its name, `brrt run dev-up`");
    project
        .brrt()
        .args(["run", "dev-upp"])
        .run()
        .failure(1)
        .stderr_contains("no flow `dev-upp`: the project has no scripts/dev-upp.rhai")
        .stderr_contains("the flows are cache, check-images, dev-down, dev-up, doctor, migrate");

    // The project's copy of a module wins over the built-in one, for the built-in flow too.
    project.write(
        "scripts/lib/topology.rhai",
        "fn load(set) { print(\"topology=local\"); throw \"the local module stops here\"; }\n",
    );
    let out = project.brrt().args(["run", "dev-up"]).run();
    out.failure(1)
        .stderr_contains("the local module stops here")
        .stderr_contains("--> scripts/lib/topology.rhai:1:");
    assert_eq!(out.printed("topology"), "local");
    assert_eq!(
        flow_line(&project, "lib/topology")[..4],
        [
            "lib/topology",
            "module",
            "local",
            "scripts/lib/topology.rhai"
        ]
    );

    // A local copy of the flow wins once it is written.
    project.write("scripts/dev-up.rhai", "print(\"flow=local\");\n");
    let out = project.brrt().args(["run", "dev-up"]).run();
    out.success();
    assert_eq!(out.printed("flow"), "local");
    let listed = flow_line(&project, "dev-up").join(" ");
    assert!(
        listed
            .starts_with("dev-up flow local scripts/dev-up.rhai differs from this brrt's built-in"),
        "{listed}"
    );
    assert_eq!(flow_line(&project, "cache")[2], "built-in");

    // init --flows copies the others and keeps the team's copy.
    let init = project.brrt().args(["init", "--flows"]).run();
    init.success();
    assert_eq!(row(&init, "scripts/cache.rhai").0, "created");
    assert!(
        row(&init, "scripts/dev-up.rhai")
            .1
            .starts_with("kept: your copy differs"),
        "{}",
        init.stdout
    );
    assert_eq!(
        flow_line(&project, "cache")[..5],
        ["cache", "flow", "local", "scripts/cache.rhai", "same"]
    );
    assert_eq!(
        std::fs::read_to_string(project.path().join("scripts/dev-up.rhai")).unwrap(),
        "print(\"flow=local\");\n"
    );

    // --upgrade writes the built-ins beside the copies that differ, once.
    let upgrade = project.brrt().args(["init", "--upgrade"]).run();
    upgrade.success();
    assert_eq!(row(&upgrade, "scripts/dev-up.rhai.new").0, "created");
    assert_eq!(row(&upgrade, "scripts/lib/topology.rhai.new").0, "created");
    let built_in =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/dev-up.rhai"))
            .unwrap();
    assert_eq!(
        std::fs::read_to_string(project.path().join("scripts/dev-up.rhai.new")).unwrap(),
        built_in
    );
    project
        .brrt()
        .args(["init", "--upgrade"])
        .run()
        .success()
        .stdout_contains("init: nothing changed");
    // A proposal is not a flow.
    project
        .brrt()
        .arg("flows")
        .run()
        .success()
        .stdout_lacks("rhai.new");
}

#[test]
fn watching_a_built_in_flow_follows_its_config_and_then_a_local_copy() {
    let project = Project::new()
        .file("brrt.toml", "[cache]\nupstream = [\"docker.io\"]\n")
        .file("scripts/README", "the team's flows go here\n");
    let mut watch = Running::new(project.brrt().args(["run", "--watch", "dev-up"]).spawn());
    watch.wait_for(
        "the first run to fail on the config",
        Duration::from_secs(30),
        |l| l.iter().any(|l| l.contains("start → failed")),
    );
    assert!(watch
        .lines()
        .iter()
        .any(|l| l.contains("unknown key `upstream` in [cache]; did you mean `upstreams`?")));

    // The built-in flow read brrt.toml: a save of it applies again.
    project.write("brrt.toml", "[cache]\nupstreams = [\"../../etc\"]\n");
    watch.wait_for("a run on the saved config", Duration::from_secs(30), |l| {
        l.iter().any(|l| l.contains("brrt.toml changed → failed"))
    });
    assert!(watch
        .lines()
        .iter()
        .any(|l| l.contains("`../../etc` is not a registry host")));

    // A local copy of the flow, once written, is what runs.
    project.write("scripts/dev-up.rhai", "print(\"flow=local\");\n");
    watch.wait_for("the local copy to run", Duration::from_secs(30), |l| {
        l.iter()
            .any(|l| l.contains("scripts/dev-up.rhai changed → applied"))
            && l.iter().any(|l| l == "flow=local")
    });
    assert_eq!(watch.stop("-TERM"), Some(0));
}

// --- brrt init: bad input -----------------------------------------------------------------

#[test]
fn init_in_a_directory_that_is_not_writable_changes_nothing() {
    let project = Project::new();
    let dir = project.path().join("readonly");
    std::fs::create_dir(&dir).unwrap();
    let mut perms = std::fs::metadata(&dir).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o555);
    std::fs::set_permissions(&dir, perms).unwrap();
    // root may write anywhere: the check runs brrt as `nobody`, who may not write here.
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let mut command = if root {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", BRRT]);
        c
    } else {
        Command::new(BRRT)
    };
    command.arg("init").arg(&dir).env_remove("BRRT_LOG");
    let out = run(command, format!("brrt init {}", dir.display()));
    out.failure(1).stderr_contains(&format!(
        "error: cannot write in {}: Permission denied (os error 13); nothing was changed",
        dir.display()
    ));
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
}

#[test]
fn init_keeps_a_brrt_toml_that_is_there_and_says_so() {
    let mine = "# ours\n[cluster]\nname = \"ours\"\n";
    let project = Project::new().file("brrt.toml", mine);
    let out = project.brrt().arg("init").run();
    out.success().stdout_contains("init: nothing changed");
    assert_eq!(
        row(&out, "brrt.toml"),
        (
            "unchanged".to_string(),
            "kept: it exists, and brrt init never overwrites a file".to_string()
        )
    );
    assert_eq!(
        std::fs::read_to_string(project.path().join("brrt.toml")).unwrap(),
        mine
    );
    // One brrt would refuse is kept too, and the problem named.
    let project = Project::new().file("brrt.toml", "[cache]\nupstream = []\n");
    project
        .brrt()
        .arg("init")
        .run()
        .success()
        .stdout_contains("brrt.toml does not pass brrt's checks; fix it:")
        .stdout_contains("brrt.toml:2:1: unknown key `upstream` in [cache]");
}

#[test]
fn init_leaves_a_justfile_that_does_not_parse_and_writes_nothing() {
    if !just_here("init_leaves_a_justfile_that_does_not_parse_and_writes_nothing") {
        return;
    }
    let broken = "build:\n  cargo build\n cargo test\n";
    let project = Project::new().file("justfile", broken);
    project
        .brrt()
        .args(["init", "--just"])
        .run()
        .failure(1)
        .stderr_contains("error: justfile does not parse, so brrt init changed nothing; fix it first. just says:")
        .stderr_contains("justfile:3:");
    assert_eq!(
        std::fs::read_to_string(project.path().join("justfile")).unwrap(),
        broken
    );
    assert!(
        !project.path().join("brrt.toml").exists(),
        "brrt.toml was written"
    );

    // Without `just`, the names it uses cannot be read: nothing is written either.
    let fine = Project::new().file("justfile", "build:\n    cargo build\n");
    fine.brrt()
        .args(["init", "--just"])
        .env("PATH", "/nonexistent")
        .run()
        .failure(1)
        .stderr_contains("error: cannot check justfile: `just` could not be run");
    assert!(!fine.path().join("brrt.toml").exists());
}

#[test]
fn init_creates_a_justfile_when_there_is_none_and_it_parses() {
    if !just_here("init_creates_a_justfile_when_there_is_none_and_it_parses") {
        return;
    }
    let project = Project::new();
    let out = project.brrt().args(["init", "--just"]).run();
    out.success();
    assert_eq!(
        row(&out, "justfile"),
        (
            "created".to_string(),
            "added dev-registry, dev-up, dev-watch, dev-down, cache-ls, cache-du, cache-clear, doctor"
                .to_string()
        )
    );
    let list = just_in(project.path(), &[]);
    list.success();
    assert_eq!(
        recipes(&list),
        [
            "cache-clear",
            "cache-du",
            "cache-ls",
            "default",
            "dev-down",
            "dev-registry",
            "dev-up",
            "dev-watch",
            "doctor"
        ]
    );
    let dry = just_in(project.path(), &["--dry-run", "dev-watch"]);
    dry.success();
    assert_eq!(dry.stderr.trim(), "brrt run --watch dev-up");
}

#[test]
fn init_without_tilt_prints_the_lines_that_load_the_extension() {
    let project = Project::new().file("Tiltfile", "local_resource('lint', cmd='echo lint')\n");
    let out = project.brrt().arg("init").run();
    out.success()
        .stdout_contains("for Tilt: `brrt init --tilt` writes the extension")
        .stdout_contains(
            "v1alpha1.extension_repo(name='brrt-local', url='file://' + os.getcwd() + '/plugins/tilt')\n\
             v1alpha1.extension(name='brrt', repo_name='brrt-local', repo_path='brrt')\n\
             load('ext://brrt', 'brrt_up', 'brrt_down', 'brrt_cache_ls', 'brrt_registry')\n",
        );
    assert_eq!(
        std::fs::read_to_string(project.path().join("Tiltfile")).unwrap(),
        "local_resource('lint', cmd='echo lint')\n"
    );
    assert!(!project.path().join("plugins").exists());
}

/// Issue 21: `brrt init` reads manifests as `cache warm` does. An image in YAML flow style
/// and one in a `.json` manifest are found (the line-by-line reader missed both and fell back
/// to the defaults); a Helm template, a file too large and one that is not YAML are named with
/// why, and a JSON file that names no image (package.json) is not read at all.
#[test]
fn init_finds_images_in_any_manifest_and_names_the_files_it_could_not_read() {
    let project = Project::new()
        .file(
            "k8s/api.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: api}\nspec:\n  containers:\n    \
             - {name: api, image: \"ghcr.io/acme/api:1.2\"}\n",
        )
        .file(
            "k8s/db.json",
            r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "db"},
 "spec": {"containers": [{"name": "db", "image": "quay.io/acme/db:16"}]}}"#,
        )
        .file(
            "chart/templates/web.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n\
             spec:\n  template:\n    spec:\n      containers:\n        - name: web\n          \
             image: \"{{ .Values.image }}\"\n{{- with .Values.extra }}\n{{ toYaml . }}\n{{- end }}\n",
        )
        .file(
            "k8s/bundle.yaml",
            format!(
                "apiVersion: v1\nkind: List\n# image: generated\n{}\n",
                "#".repeat(3 << 20)
            ),
        )
        .file("k8s/broken.yaml", "kind: Pod\nspec:\n  containers: [{image: a\n")
        .file("package.json", "{\"name\": \"shop\",\n}\n");
    let out = project.brrt().arg("init").run();
    out.success().stdout_contains(
        "could not read 3 file(s) for the images they name, so brrt.toml's caches are for what \
         the other files name (add the registries of theirs to [cache] upstreams):\n  \
         chart/templates/web.yaml:4: a template ({{ … }}), no manifest until it is rendered: its \
         images are not guessed (render it, e.g. with `helm template`, to read them)\n  \
         k8s/broken.yaml:4:1: not valid YAML: did not find expected ',' or '}'\n  \
         k8s/bundle.yaml: too large (3.0 MiB; manifests are read up to 2.0 MiB)\n",
    );
    assert!(!out.stdout.contains("package.json"), "{}", out.stdout);
    let detail = row(&out, "brrt.toml").1;
    assert!(detail.ends_with("caches for quay.io, ghcr.io"), "{detail}");
    let written = std::fs::read_to_string(project.path().join("brrt.toml")).unwrap();
    assert!(
        written.contains("#   quay.io (quay.io/acme/db:16 in k8s/db.json)")
            && written.contains("#   ghcr.io (ghcr.io/acme/api:1.2 in k8s/api.yaml)"),
        "{written}"
    );
    assert_eq!(
        checked_config(&project).printed("upstreams"),
        "[\"quay.io\", \"ghcr.io\"]"
    );

    // Nothing readable names an image: the defaults, and brrt.toml says why it may be wrong.
    let project = Project::new().file(
        "chart/templates/web.yaml",
        "kind: Pod\nspec:\n  containers:\n    - image: {{ .Values.image }}\n",
    );
    let out = project.brrt().arg("init").run();
    out.success()
        .stdout_contains("could not read 1 file(s)")
        .stdout_contains("  chart/templates/web.yaml:4: a template ({{ … }})");
    let written = std::fs::read_to_string(project.path().join("brrt.toml")).unwrap();
    assert!(
        written.contains(
            "# No image is named in the files brrt init could read (1 it could not read, and it\n\
             # said why): the defaults."
        ),
        "{written}"
    );
}

#[test]
fn init_picks_the_current_kubectl_context_among_several_kind_clusters() {
    let Some(tb) = Testbed::require("adopt_clusters") else {
        return;
    };
    // Containers that carry kind's label are what kind (and brrt) call a cluster's nodes.
    let cluster = |what: &str| {
        let node = tb.container(&format!("{what}-control-plane"));
        let name = node.trim_end_matches("-control-plane").to_string();
        docker(&[
            "create",
            "--name",
            &node,
            "--label",
            &format!("io.x-k8s.kind.cluster={name}"),
            REGISTRY_IMAGE,
        ]);
        name
    };
    let (a, b) = (cluster("a"), cluster("b"));
    let project = Project::new().file(
        "kubeconfig",
        format!("apiVersion: v1\nkind: Config\ncurrent-context: kind-{b}\n"),
    );
    let out = project
        .brrt()
        .arg("init")
        .env("KUBECONFIG", project.path().join("kubeconfig"))
        .run();
    out.success();
    let detail = row(&out, "brrt.toml").1;
    assert!(
        detail.starts_with(&format!("cluster {b} (kind clusters ")),
        "{detail}"
    );
    assert!(
        detail.contains(&a) && detail.contains(&format!("picked {b}, the current kubectl context")),
        "{detail}"
    );
    assert_eq!(checked_config(&project).printed("cluster"), b);

    // KUBECONFIG lists several files, as kubectl reads them: one that does not exist (skipped),
    // one that names no current-context, one that does (kind-b: it wins), and a later one whose
    // current-context comes too late to count.
    let project = Project::new()
        .file("first", "apiVersion: v1\nkind: Config\ncontexts: []\n")
        .file(
            "second",
            format!("apiVersion: v1\nkind: Config\ncurrent-context: kind-{b}\n"),
        )
        .file(
            "third",
            format!("apiVersion: v1\nkind: Config\ncurrent-context: kind-{a}\n"),
        );
    let list = std::env::join_paths(
        ["missing", "first", "second", "third"].map(|f| project.path().join(f)),
    )
    .unwrap();
    let out = project.brrt().arg("init").env("KUBECONFIG", list).run();
    out.success();
    let detail = row(&out, "brrt.toml").1;
    assert!(
        detail.contains(&format!("picked {b}, the current kubectl context")),
        "{detail}"
    );
}

// --- brrt run migrate ---------------------------------------------------------------------

/// The old setup with hello:1 cached, as a team comes to `migrate`: a proxy registry made by
/// hand at `registry.name`, the node's mirror pointing at it, hello:1 pulled through it, and a
/// brrt.toml that asks for a docker.io cache.
pub(crate) struct OldSetup<'t> {
    pub(crate) cluster: Cluster<'t>,
    pub(crate) node: Node,
    /// The old registry's (anonymous) data volume.
    pub(crate) old_volume: String,
    pub(crate) old_id: String,
    /// brrt's docker.io cache, to be.
    pub(crate) cache: String,
    /// Where migrate renames the old registry while the new one starts.
    pub(crate) aside: String,
}

impl<'t> OldSetup<'t> {
    pub(crate) fn new(tb: &'t Testbed) -> Self {
        OldSetup::with(tb, &[])
    }

    /// The same, with `extra` arguments for `docker run` of the old registry (before the image).
    pub(crate) fn with(tb: &'t Testbed, extra: &[&str]) -> Self {
        let mut cluster = Cluster::new(tb);
        cluster
            .add_upstream("docker.io")
            .push("brrt-testbed/hello:1", "library/hello:1");
        let old_volume = old_proxy_registry(tb, &cluster, extra);
        old_mirror(&cluster);
        let node = cluster.control_plane();
        node.must_pull("docker.io/library/hello:1");
        // The manifest, the config and the one layer of hello:1.
        let root = extra
            .iter()
            .find_map(|a| a.strip_prefix("REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY="))
            .unwrap_or("/var/lib/registry");
        wait_until_held_in(&cluster.registry, root, "library/hello", "1", 3);
        let old_id = container_id(&cluster.registry);
        cluster.write_config(&CacheConfig {
            enabled: true,
            upstreams: &["docker.io"],
        });
        let cache = cluster.cache("docker.io");
        OldSetup {
            node,
            old_volume,
            old_id,
            cache,
            aside: tb.container("reg-pre-brrt"),
            cluster,
        }
    }
}

/// The single registry of the old setup, made by hand as teams do: `registry:2` in proxy mode
/// at the config's registry name and port, on the cluster network, its data in the container's
/// anonymous volume. Returns that volume's name.
fn old_proxy_registry(tb: &Testbed, cluster: &Cluster<'_>, extra: &[&str]) -> String {
    let port = format!("127.0.0.1:{}:5000", cluster.port);
    let remote = format!(
        "REGISTRY_PROXY_REMOTEURL={}",
        cluster.upstream("docker.io").remote()
    );
    let mut args = vec![
        "run",
        "--detach",
        "--name",
        &cluster.registry,
        "--network",
        &cluster.network,
        "--publish",
        &port,
        "--restart",
        "always",
        "--env",
        &remote,
    ];
    args.extend_from_slice(extra);
    args.push(REGISTRY_IMAGE);
    docker(&args);
    let volume = docker(&[
        "container",
        "inspect",
        "--format",
        "{{range .Mounts}}{{.Name}}{{end}}",
        &cluster.registry,
    ]);
    // migrate keeps the old data volume, as it says; the test removes it.
    tb.remove_volume_on_drop(&volume);
    wait_until_serving(cluster.port, "the old registry to answer");
    volume
}

/// Waits until the old registry `container` holds `repo:tag` and `blobs` blobs in its storage:
/// a proxy writes what it served in the background, and lists it in its catalog only later.
pub(crate) fn wait_until_held(container: &str, repo: &str, tag: &str, blobs: usize) {
    wait_until_held_in(container, "/var/lib/registry", repo, tag, blobs);
}

/// [`wait_until_held`] for a registry whose storage is at `root`.
pub(crate) fn wait_until_held_in(container: &str, root: &str, repo: &str, tag: &str, blobs: usize) {
    let storage = format!("{root}/docker/registry/v2");
    let storage = storage.as_str();
    wait_for(30, &format!("{container} to hold {repo}:{tag}"), || {
        let files = stored_files(container, storage)?;
        let link = format!("repositories/{repo}/_manifests/tags/{tag}/current/link");
        let data = files.iter().filter(|f| f.ends_with("/data")).count();
        if files.contains(&link) && data >= blobs {
            Ok(())
        } else {
            Err(files.join("\n"))
        }
    });
}

/// The files under `dir` in a container, relative to it (`docker cp` to a tar stream).
pub(crate) fn stored_files(container: &str, dir: &str) -> Result<Vec<String>, String> {
    let out = Command::new("docker")
        .args(["cp", &format!("{container}:{dir}/."), "-"])
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let mut archive = tar::Archive::new(out.stdout.as_slice());
    let mut files = Vec::new();
    for entry in archive.entries().map_err(|e| e.to_string())? {
        let entry = entry.map_err(|e| e.to_string())?;
        if entry.header().entry_type().is_file() {
            let path = entry.path().map_err(|e| e.to_string())?;
            files.push(path.to_string_lossy().trim_start_matches("./").to_string());
        }
    }
    Ok(files)
}

/// What the old setup writes into a node: Docker Hub pulled through the old registry.
fn old_mirror(cluster: &Cluster<'_>) {
    let hosts = format!(
        "server = \"https://registry-1.docker.io\"\n\n[host.\"http://{}:5000\"]\n  capabilities = [\"pull\", \"resolve\"]\n",
        cluster.registry
    );
    cluster
        .control_plane()
        .exec(&[
            "sh",
            "-c",
            &format!(
                "mkdir -p /etc/containerd/certs.d/docker.io && printf '%s' '{hosts}' > /etc/containerd/certs.d/docker.io/hosts.toml"
            ),
        ])
        .expect("the old mirror is written");
}

pub(crate) fn running(name: &str) -> Option<String> {
    try_docker(&[
        "container",
        "inspect",
        "--format",
        "{{.State.Running}}",
        name,
    ])
}

#[test]
fn migrate_carries_the_old_proxys_cache_over_and_the_node_pulls_it_with_the_upstream_stopped() {
    let Some(tb) = Testbed::require("migrate") else {
        return;
    };
    let OldSetup {
        cluster,
        node,
        old_volume,
        old_id,
        cache,
        aside,
    } = OldSetup::new(&tb);
    tb.container("cache-docker-io-migrate-copy");

    // The plan, and nothing else.
    let plan = cluster
        .project
        .brrt()
        .args(["run", "migrate", "--dry-run"])
        .run();
    plan.success()
        .stdout_contains(&format!(
            "migrate: {} is a pull-through cache brrt did not create",
            cluster.registry
        ))
        .stdout_contains(&format!(
            "upstream  docker.io (it proxies {})",
            cluster.upstream("docker.io").remote()
        ))
        .stdout_contains(&format!("in its anonymous volume {old_volume}, 1 image(s)"))
        .stdout_contains("docker.io/library/hello:1")
        .stdout_contains(&format!(
            "1. stop {} and copy its data into {cache}-data",
            cluster.registry
        ))
        .stdout_contains("migrate (dry run): nothing was changed");
    assert_eq!(container_id(&cluster.registry), old_id);
    assert_eq!(running(&cluster.registry).as_deref(), Some("true"));
    assert!(!container_exists(&cache) && !volume_exists(&cluster.volume(&cache)));

    // Docker Hub goes away before the migration: what the nodes pull next can only come from
    // what the old registry had cached.
    cluster.upstream("docker.io").stop();
    let out = cluster.project.brrt().args(["run", "migrate"]).run();
    out.success()
        .stdout_contains(&format!(
            "copied 1 image(s) from {} into {}: 1 manifest(s), 2 blob(s), ",
            cluster.registry,
            cluster.volume(&cache)
        ))
        // Its upstream is down, so the new cache serves what it holds: what was copied.
        .stdout_contains(&format!(
            "{cache} (docker.io, offline (upstream unreachable): serving what it holds)"
        ))
        .stdout_contains("migrate: carried over 1 image(s) (1 manifest(s), 2 blob(s), ")
        .stdout_contains(&format!(
            "from {} into {cache}, whose volume served all of them offline (1 image(s), 1 \
             manifest(s), 2 blob(s))",
            cluster.registry
        ))
        .stdout_contains(&format!("{aside} removed"))
        .stdout_contains(&format!("the old data volume {old_volume} is kept"));
    // The push registry has the old one's name and port now; the old container is gone.
    assert_ne!(container_id(&cluster.registry), old_id);
    assert_eq!(
        docker(&[
            "container",
            "inspect",
            "--format",
            "{{index .Config.Labels \"dev.brrt.registry.role\"}}",
            &cluster.registry
        ]),
        "push"
    );
    assert!(!container_exists(&aside));
    assert!(volume_exists(&old_volume), "the old data was deleted");
    assert!(
        node.mirror("docker.io")
            .is_some_and(|m| m.contains(&format!("[host.\"http://{cache}:5000\"]"))),
        "{:?}",
        node.mirror("docker.io")
    );

    node.must_pull_afresh("docker.io/library/hello:1");
    assert_eq!(
        node.file_in_image("docker.io/library/hello:1", "hello.txt"),
        HELLO_1
    );

    // Done is done.
    cluster
        .project
        .brrt()
        .args(["run", "migrate"])
        .run()
        .success()
        .stdout_is(&format!(
            "migrate: nothing to do: {} is brrt's push registry already\n",
            cluster.registry
        ));
}

#[test]
fn a_failed_copy_leaves_the_old_registry_serving_as_it_was() {
    let Some(tb) = Testbed::require("migrate_copy_fails") else {
        return;
    };
    let OldSetup {
        cluster,
        node,
        old_volume: _,
        old_id,
        cache,
        aside,
    } = OldSetup::new(&tb);
    let receiver = tb.container("cache-docker-io-migrate-copy");
    // The cache's volume is a 4 KiB tmpfs: the copy runs out of space part-way, as it would on
    // a full disk. It carries brrt's labels (brrt never copies into a volume it did not
    // create), as the volume of a cache brrt ran before would.
    let volume = cluster.volume(&cache);
    managed_tmpfs_volume(&volume, "4k");

    cluster
        .project
        .brrt()
        .args(["run", "migrate"])
        .run()
        .failure(1)
        .stderr_contains(&format!(
            "copying {}'s data into volume {volume} failed: ",
            cluster.registry
        ))
        .stderr_contains("no space left on device")
        .stderr_contains(&format!(
            "{} is running again as before, and its data is untouched",
            cluster.registry
        ));

    // The same container, under its name, running, serving what it cached: with its upstream
    // gone too.
    assert_eq!(container_id(&cluster.registry), old_id);
    assert_eq!(running(&cluster.registry).as_deref(), Some("true"));
    cluster.upstream("docker.io").stop();
    node.must_pull_afresh("docker.io/library/hello:1");
    assert_eq!(
        node.file_in_image("docker.io/library/hello:1", "hello.txt"),
        HELLO_1
    );
    for gone in [&aside, &receiver, &cache] {
        assert!(!container_exists(gone), "{gone} was left behind");
    }
    assert!(
        volume_exists(&volume),
        "a volume this run did not make was removed"
    );
}

#[test]
fn migrate_names_what_it_will_not_touch_and_changes_nothing() {
    let Some(tb) = Testbed::require("migrate_refuses") else {
        return;
    };
    let cluster = Cluster::without_nodes(&tb);
    cluster.write_config(&CacheConfig {
        enabled: true,
        upstreams: &["docker.io"],
    });
    let cache = cluster.cache("docker.io");

    // No old registry at all.
    cluster
        .project
        .brrt()
        .args(["run", "migrate"])
        .run()
        .failure(1)
        .stderr_contains(&format!(
            "error: no registry container named {} on this engine, so there is nothing to migrate",
            cluster.registry
        ));
    assert!(!container_exists(&cluster.registry) && !container_exists(&cache));

    // A registry that is no pull-through cache: it may hold the only copy of pushed images.
    docker(&[
        "run",
        "--detach",
        "--name",
        &cluster.registry,
        "--network",
        &cluster.network,
        "--publish",
        &format!("127.0.0.1:{}:5000", cluster.port),
        REGISTRY_IMAGE,
    ]);
    let before = docker(&[
        "container",
        "inspect",
        "--format",
        "{{.Id}} {{.State.StartedAt}} {{.Name}}",
        &cluster.registry,
    ]);
    for args in [
        &["run", "migrate"][..],
        &["run", "migrate", "--dry-run"][..],
    ] {
        cluster
            .project
            .brrt()
            .args(args)
            .run()
            .failure(1)
            .stderr_contains(&format!(
                "error: {} was not created by brrt and is no pull-through cache (it has no \
                 REGISTRY_PROXY_REMOTEURL), so it may hold images pushed to it that exist \
                 nowhere else: brrt leaves it alone, and migrate stops here",
                cluster.registry
            ));
    }
    assert_eq!(
        docker(&[
            "container",
            "inspect",
            "--format",
            "{{.Id}} {{.State.StartedAt}} {{.Name}}",
            &cluster.registry,
        ]),
        before
    );
    assert!(!container_exists(&cache) && !volume_exists(&cluster.volume(&cache)));
}

#[test]
fn a_dev_up_that_fails_during_migrate_puts_the_old_registry_back() {
    let Some(tb) = Testbed::require("migrate_devup_fails") else {
        return;
    };
    let OldSetup {
        cluster,
        node,
        old_volume: _,
        old_id,
        cache,
        aside,
    } = OldSetup::new(&tb);
    // The team's own dev-up, which fails before it changes anything.
    cluster.project.write(
        "scripts/dev-up.rhai",
        "throw \"the team's dev-up stops here\";\n",
    );

    cluster
        .project
        .brrt()
        .args(["run", "migrate"])
        .run()
        .failure(1)
        .stderr_contains("dev-up did not finish, so the migration stopped: ")
        .stderr_contains("the team's dev-up stops here")
        .stderr_contains(&format!(
            "{} is back under its name and serving as before; its data is also in {}",
            cluster.registry,
            cluster.volume(&cache)
        ));
    assert_eq!(container_id(&cluster.registry), old_id);
    assert_eq!(running(&cluster.registry).as_deref(), Some("true"));
    assert!(!container_exists(&aside) && !container_exists(&cache));
    node.must_pull_afresh("docker.io/library/hello:1");

    // Once dev-up works, migrate runs again from the start and finishes.
    cluster.project.remove("scripts/dev-up.rhai");
    cluster
        .project
        .brrt()
        .args(["run", "migrate"])
        .run()
        .success()
        .stdout_contains("migrate: carried over 1 image(s) (");
}

#[test]
fn init_gives_the_push_registry_the_next_port_when_5001_is_taken() {
    // Held by this test when it is free; when it is not, someone else holds it, which is the
    // same to init, unless that is an old `kind-registry`, which migrate would replace.
    let _held = std::net::TcpListener::bind(("127.0.0.1", 5001)).ok();
    if try_docker(&["port", "kind-registry", "5000/tcp"]).is_some_and(|p| p.ends_with(":5001")) {
        crate::support::missing(
            "init_gives_the_push_registry_the_next_port_when_5001_is_taken",
            "a container named kind-registry holds port 5001 here",
        );
        return;
    }
    let project = Project::new();
    let out = project.brrt().arg("init").run();
    out.success();
    let port: u16 = checked_config(&project)
        .printed("port")
        .parse()
        .expect("a port");
    assert!((5002..5101).contains(&port), "port {port}");
    let written = std::fs::read_to_string(project.path().join("brrt.toml")).unwrap();
    assert!(
        written.contains("# 5001 is taken by ") && written.contains(", so the next free port"),
        "{written}"
    );
}

/// An old proxy on `registry:3` configured by file, where v3 keeps its config and how it is
/// told where: `REGISTRY_CONFIGURATION_PATH`, and the argument after `serve` (here in the
/// entrypoint, with a name that does not end in `.yml`). Before, migrate looked only at a
/// `.yml` argument of the command and at 2.x's `/etc/docker/registry/config.yml`, found no
/// `proxy.remoteurl`, and refused the registry as one that may hold pushed images. It is
/// recognised, its v3 storage is carried over, and the node pulls from it with the upstream
/// stopped.
#[test]
fn migrate_finds_the_config_of_a_registry3_proxy_configured_by_file() {
    let Some(tb) = Testbed::require("migrate_v3") else {
        return;
    };
    let mut cluster = Cluster::new(&tb);
    cluster
        .add_upstream("docker.io")
        .push("brrt-testbed/hello:1", "library/hello:1");
    let remote = cluster.upstream("docker.io").remote();
    cluster.project.write(
        "old/proxy.conf",
        format!(
            "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /var/lib/registry\n\
             http:\n  addr: :5000\nproxy:\n  remoteurl: {remote}\n"
        ),
    );
    let file = cluster.project.path().join("old/proxy.conf");
    cluster.write_config(&CacheConfig {
        enabled: true,
        upstreams: &["docker.io"],
    });
    let cache = cluster.cache("docker.io");
    tb.container("cache-docker-io-migrate-copy");
    tb.container("reg-pre-brrt");
    let run_old = |how: &[&str]| {
        let mut args = vec![
            "run".to_string(),
            "--detach".into(),
            "--name".into(),
            cluster.registry.clone(),
            "--network".into(),
            cluster.network.clone(),
            "--publish".into(),
            format!("127.0.0.1:{}:5000", cluster.port),
        ];
        args.extend(how.iter().map(|a| (*a).to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        docker(&args);
        let volume = docker(&[
            "container",
            "inspect",
            "--format",
            "{{range .Mounts}}{{if eq .Type \"volume\"}}{{.Name}}{{end}}{{end}}",
            &cluster.registry,
        ]);
        tb.remove_volume_on_drop(&volume);
        wait_until_serving(cluster.port, "the old registry to answer");
    };
    let plan_names_the_upstream = || {
        cluster
            .project
            .brrt()
            .args(["run", "migrate", "--dry-run"])
            .run()
            .success()
            .stdout_contains(&format!(
                "migrate: {} is a pull-through cache brrt did not create",
                cluster.registry
            ))
            .stdout_contains(&format!("upstream  docker.io (it proxies {remote})"));
    };
    let mount = format!("{}:/etc/distribution/proxy.yml:ro", file.display());

    // REGISTRY_CONFIGURATION_PATH; the image's own command still names its default config.
    run_old(&[
        "--env",
        "REGISTRY_CONFIGURATION_PATH=/etc/distribution/proxy.yml",
        "--volume",
        &mount,
        "brrt-testbed/registry:3",
    ]);
    plan_names_the_upstream();
    docker(&["rm", "--force", "--volumes", &cluster.registry]);

    // `serve <file>` in the entrypoint.
    let mount = format!("{}:/etc/distribution/proxy.conf:ro", file.display());
    run_old(&[
        "--volume",
        &mount,
        "--entrypoint",
        "/bin/registry",
        "brrt-testbed/registry:3",
        "serve",
        "/etc/distribution/proxy.conf",
    ]);
    plan_names_the_upstream();
    old_mirror(&cluster);
    let node = cluster.control_plane();
    node.must_pull("docker.io/library/hello:1");
    wait_until_held(&cluster.registry, "library/hello", "1", 3);
    cluster.upstream("docker.io").stop();
    cluster
        .project
        .brrt()
        .args(["run", "migrate"])
        .run()
        .success()
        .stdout_contains("migrate: carried over 1 image(s) (1 manifest(s), ")
        .stdout_contains(&format!(
            "from {} into {cache}, whose volume served all of them offline",
            cluster.registry
        ));
    node.must_pull_afresh("docker.io/library/hello:1");
    assert_eq!(
        node.file_in_image("docker.io/library/hello:1", "hello.txt"),
        HELLO_1
    );
}
