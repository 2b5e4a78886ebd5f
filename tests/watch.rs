//! `brrt run --watch`: every kind of save re-applies once, bursts are batched, and a broken
//! save never tears down what was applied. Real files, the real notify watcher, a real engine
//! and a containerd node stand-in.

use crate::support::cluster::{wait_for, CacheConfig, Cluster};
use crate::support::{docker, EngineDoor, Project, Running, Testbed};
use std::path::Path;
use std::time::Duration;

/// A cluster with caches for docker.io and quay.io (their upstream stand-ins are never asked).
fn cluster(tb: &Testbed) -> Cluster<'_> {
    let mut cluster = Cluster::new(tb);
    cluster.add_upstream("docker.io");
    cluster.add_upstream("quay.io");
    cluster
}

fn config(cluster: &Cluster<'_>, upstreams: &[&str]) -> String {
    cluster.config(&CacheConfig {
        enabled: true,
        upstreams,
    })
}

/// Waits until the node has exactly these mirrors (the push registry's, `localhost:<port>`,
/// is added here).
#[track_caller]
fn wait_for_mirrors(cluster: &Cluster<'_>, upstreams: &[&str]) {
    let mut wanted: Vec<String> = upstreams.iter().map(|s| s.to_string()).collect();
    wanted.push(format!("localhost:{}", cluster.port));
    wanted.sort();
    let node = cluster.control_plane();
    wait_for(20, &format!("node mirrors {wanted:?}"), || {
        let now = node.mirrored_hosts();
        if now == wanted {
            Ok(())
        } else {
            Err(format!("{now:?}"))
        }
    });
}

fn repo_script(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(path)
        .display()
        .to_string()
}

fn watch_dev_up(project: &Project) -> Running {
    Running::new(
        project
            .brrt()
            .args(["run", "--watch", &repo_script("scripts/dev-up.rhai")])
            .spawn(),
    )
}

/// Saves by writing a new file and renaming it over the old one, as vim and atomic-save
/// editors do.
fn rename_save(project: &Project, path: &str, text: &str) {
    let tmp = project.path().join(format!(".{path}.swp"));
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, project.path().join(path)).unwrap();
}

#[test]
fn every_kind_of_save_reapplies_once() {
    let Some(tb) = Testbed::require("watch_saves") else {
        return;
    };
    let cluster = cluster(&tb);
    let project = &cluster.project;
    project.write("brrt.toml", config(&cluster, &["docker.io", "quay.io"]));
    let mut brrt = watch_dev_up(project);
    brrt.wait_for_applies(1);
    wait_for_mirrors(&cluster, &["docker.io", "quay.io"]);

    // Saving in place.
    project.write("brrt.toml", config(&cluster, &["docker.io"]));
    brrt.wait_for_applies(2);
    wait_for_mirrors(&cluster, &["docker.io"]);
    assert!(
        brrt.applies()[1].contains("brrt.toml changed"),
        "{:?}",
        brrt.applies()
    );

    // Saving via rename.
    rename_save(
        project,
        "brrt.toml",
        &config(&cluster, &["docker.io", "quay.io"]),
    );
    brrt.wait_for_applies(3);
    wait_for_mirrors(&cluster, &["docker.io", "quay.io"]);

    // Delete, then create.
    project.remove("brrt.toml");
    project.write("brrt.toml", config(&cluster, &["quay.io"]));
    brrt.wait_for_applies(4);
    wait_for_mirrors(&cluster, &["quay.io"]);

    // Each save re-applied exactly once. Saves are handled in order, so the run of one more
    // save, which changes the config again, must be the fifth: a second run of an earlier save
    // would come before it (and find nothing to change).
    project.write("brrt.toml", config(&cluster, &["docker.io"]));
    wait_for_mirrors(&cluster, &["docker.io"]);
    brrt.wait_for_applies(5);
    let applies = brrt.applies();
    assert_eq!(applies.len(), 5, "{:#?}", brrt.lines());
    assert!(
        applies[4].contains("brrt.toml changed → applied") && !applies[4].contains("nothing"),
        "{applies:#?}"
    );
    assert!(
        applies.iter().skip(1).all(|l| l.contains("applied")),
        "{applies:#?}"
    );

    // Ctrl-C's sibling, SIGTERM, stops it cleanly, and no temporary file is left in the node.
    assert_eq!(brrt.stop("-TERM"), Some(0));
    let leftovers = docker(&[
        "exec",
        &cluster.control_plane().name,
        "find",
        "/etc/containerd/certs.d",
        "-name",
        "*.brrt-tmp",
    ]);
    assert_eq!(leftovers, "");
}

#[test]
fn a_burst_of_saves_applies_the_last_one() {
    let Some(tb) = Testbed::require("watch_burst") else {
        return;
    };
    let cluster = cluster(&tb);
    let project = &cluster.project;
    project.write("brrt.toml", config(&cluster, &["docker.io"]));
    let mut brrt = watch_dev_up(project);
    brrt.wait_for_applies(1);
    wait_for_mirrors(&cluster, &["docker.io"]);

    // 20 saves within 200 ms, alternating; the last one enables quay.io only.
    for i in 0..20 {
        let upstreams: &[&str] = if i % 2 == 0 {
            &["docker.io", "quay.io"]
        } else {
            &["quay.io"]
        };
        project.write("brrt.toml", config(&cluster, upstreams));
        std::thread::sleep(Duration::from_millis(10));
    }
    brrt.wait_for_applies(2);
    wait_for_mirrors(&cluster, &["quay.io"]);
    // A save that changes nothing, after the burst: once its run is reported, every run the
    // burst made has been reported before it.
    project.write(
        "brrt.toml",
        config(&cluster, &["quay.io"]) + "# the same config\n",
    );
    brrt.wait_for("the run of the last save", Duration::from_secs(30), |l| {
        l.iter()
            .any(|l| l.contains("brrt.toml changed → applied: nothing changed"))
    });
    let runs = brrt.applies().len() - 2;
    assert!(
        (1..=2).contains(&runs),
        "20 saves made {runs} runs:\n{:#?}",
        brrt.applies()
    );
    // The cache of the upstream dropped by the last save is gone; its volume stays.
    let caches = docker(&[
        "ps",
        "--format",
        "{{.Names}}",
        "--filter",
        &format!("name={}-", cluster.cache_set()),
    ]);
    assert!(!caches.contains("docker-io"), "{caches}");
    assert!(caches.contains("quay-io"), "{caches}");
    docker(&[
        "volume",
        "inspect",
        &format!("{}-docker-io-data", cluster.cache_set()),
    ]);
    drop(brrt);
}

#[test]
fn a_script_error_keeps_the_environment_and_the_fix_applies() {
    let Some(tb) = Testbed::require("watch_error") else {
        return;
    };
    let cluster = cluster(&tb);
    // The team's own copy of the flows, as in a project that vendors brrt's scripts.
    let dev_up = std::fs::read_to_string(repo_script("scripts/dev-up.rhai")).unwrap();
    let topology = std::fs::read_to_string(repo_script("scripts/lib/topology.rhai")).unwrap();
    let project = &cluster.project;
    project.write("brrt.toml", config(&cluster, &["docker.io"]));
    project.write("scripts/dev-up.rhai", &dev_up);
    project.write("scripts/lib/topology.rhai", &topology);
    let mut brrt = Running::new(
        project
            .brrt()
            .args(["run", "--watch", "scripts/dev-up.rhai"])
            .spawn(),
    );
    brrt.wait_for_applies(1);
    wait_for_mirrors(&cluster, &["docker.io"]);
    let ids = || {
        docker(&[
            "ps",
            "-q",
            "--no-trunc",
            "--filter",
            &format!("name={}", cluster.registry),
        ])
    };
    let before = ids();

    // A syntax error in the flow, saved together with a config change: nothing is applied.
    project.write("scripts/dev-up.rhai", format!("{dev_up}\nlet broken = ;\n"));
    brrt.wait_for_applies(2);
    project.write("brrt.toml", config(&cluster, &["docker.io", "quay.io"]));
    brrt.wait_for_applies(3);
    assert!(
        brrt.lines().iter().any(|l| l.contains("dev-up.rhai:")),
        "{:#?}",
        brrt.lines()
    );
    assert!(
        brrt.applies()[2].contains("failed"),
        "{:#?}",
        brrt.applies()
    );
    assert!(brrt.is_running());
    assert_eq!(ids(), before, "containers changed after a failed run");
    assert_eq!(cluster.control_plane().mirrored_hosts().len(), 2);

    // Fixing the file applies the config saved meanwhile.
    project.write("scripts/dev-up.rhai", &dev_up);
    brrt.wait_for_applies(4);
    wait_for_mirrors(&cluster, &["docker.io", "quay.io"]);

    // An imported module changes: the new code runs on the next apply.
    project.write(
        "scripts/lib/topology.rhai",
        format!("{topology}\nprint(\"topology v2\");\n"),
    );
    brrt.wait_for("the new module code", Duration::from_secs(30), |l| {
        l.iter().any(|l| l == "topology v2")
    });
    drop(brrt);
}

#[test]
fn restart_policy_stops_a_busy_run_and_starts_again() {
    // Needs no engine: the flow is pure script.
    let project = Project::new().file("n.txt", "1").file(
        "slow.rhai",
        r#"
        let n = fs::read("n.txt");
        print(`started ${n}`);
        if n == "1" { let i = 0; while i < 200_000_000 { i += 1; } }
        print(`finished ${n}`);
        "#,
    );
    let mut brrt = Running::new(
        project
            .brrt()
            .args([
                "run",
                "--watch",
                "--on-busy",
                "restart",
                "--max-operations",
                "0",
                "slow.rhai",
            ])
            .spawn(),
    );
    brrt.wait_for("the first run", Duration::from_secs(10), |l| {
        l.iter().any(|l| l == "started 1")
    });
    project.write("n.txt", "2");
    brrt.wait_for("the restarted run", Duration::from_secs(20), |l| {
        l.iter().any(|l| l == "finished 2")
    });
    assert!(
        !brrt.lines().iter().any(|l| l == "finished 1"),
        "{:#?}",
        brrt.lines()
    );
    assert_eq!(brrt.stop("-INT"), Some(0));
}

#[test]
fn a_file_named_with_watch_triggers_a_reapply() {
    // Needs no engine.
    let project = Project::new().file("notes/extra.txt", "one").file(
        "flow.rhai",
        r#"
        watch("notes/extra.txt");
        print("applied");
        "#,
    );
    let mut brrt = Running::new(project.brrt().args(["run", "--watch", "flow.rhai"]).spawn());
    brrt.wait_for_applies(1);
    project.write("notes/extra.txt", "two");
    brrt.wait_for_applies(2);
    assert!(
        brrt.applies()[1].contains("notes/extra.txt changed"),
        "{:#?}",
        brrt.applies()
    );
    assert_eq!(brrt.lines().iter().filter(|l| *l == "applied").count(), 2);
}

#[test]
fn docker_going_away_is_one_line_and_the_flow_resumes() {
    let Some(_tb) = Testbed::require("watch_docker_away") else {
        return;
    };
    let project = Project::new().file(
        "flow.rhai",
        "let v = docker::version();\nprint(`engine ${v.version}`);\n",
    );
    let socket = project.path().join("docker.sock");
    let mut brrt = Running::new(
        project
            .brrt()
            .env("DOCKER_HOST", format!("unix://{}", socket.display()))
            .args(["run", "--watch", "flow.rhai"])
            .spawn(),
    );
    brrt.wait_for("the unreachable line", Duration::from_secs(30), |l| {
        l.iter().any(|l| l.contains("cannot reach Docker"))
    });
    // The engine's socket is back, but the engine does not answer yet: two more retries go by
    // quietly.
    let door = EngineDoor::bind(&socket);
    wait_for(60, "two retries", || match door.knocks() {
        n if n >= 2 => Ok(()),
        n => Err(format!("{n} connection(s)")),
    });
    door.open();
    // The flow prints on stdout, and the watch loop reports on stderr once the run is done.
    brrt.wait_for("the flow to resume", Duration::from_secs(60), |l| {
        l.iter().any(|l| l.starts_with("engine ")) && l.iter().any(|l| l.contains("Docker is back"))
    });
    let complaints = brrt
        .lines()
        .iter()
        .filter(|l| l.contains("cannot reach Docker"))
        .count();
    assert_eq!(complaints, 1, "{:#?}", brrt.lines());
    assert_eq!(brrt.stop("-TERM"), Some(0));
}

/// Saves in place, as `cp new.toml w.toml` or an editor without atomic save do, and slower:
/// the file is truncated, then written in two pieces.
fn save_in_place(path: &Path, text: &str) {
    use std::io::Write;
    let mut file = std::fs::File::create(path).unwrap();
    let (head, tail) = text.split_at(text.len() / 2);
    file.write_all(head.as_bytes()).unwrap();
    file.flush().unwrap();
    std::thread::sleep(Duration::from_millis(1));
    file.write_all(tail.as_bytes()).unwrap();
}

/// Issue 7, item 1: a run that read the config mid-save applied brrt's defaults (the real
/// `kind-registry`, five real upstreams). 200 in-place saves alternating two configs, at
/// random 0–100 ms apart: every run applies one of the two, and the end state is the last.
#[test]
fn in_place_saves_never_apply_a_half_read_config() {
    let Some(tb) = Testbed::require("watch_in_place_saves") else {
        return;
    };
    let cluster = Cluster::without_nodes(&tb);
    let other_port = crate::support::cluster::free_port();
    let a = cluster.config(&CacheConfig {
        enabled: false,
        upstreams: &[],
    });
    let b = a.replace(
        &format!("port = {}", cluster.port),
        &format!("port = {other_port}"),
    );
    assert_ne!(a, b);
    let path = cluster.project.path().join("w.toml");
    std::fs::write(&path, &a).unwrap();
    let mut watching = Running::new(
        cluster
            .project
            .brrt()
            .args([
                "run",
                "--watch",
                &repo_script("scripts/dev-up.rhai"),
                "--set",
                "config=w.toml",
            ])
            .spawn(),
    );
    watching.wait_for_applies(1);

    let mut last = &a;
    for i in 0..200 {
        last = if i % 2 == 0 { &b } else { &a };
        save_in_place(&path, last);
        std::thread::sleep(Duration::from_millis(random_below(100)));
    }
    let last_port = if std::ptr::eq(last, &b) {
        other_port
    } else {
        cluster.port
    };
    wait_for(120, "the last save to be applied", || {
        let bound = crate::support::try_docker(&["port", &cluster.registry, "5000/tcp"]);
        match bound {
            Some(addr) if addr == format!("127.0.0.1:{last_port}") => Ok(()),
            other => Err(format!("{other:?}")),
        }
    });
    assert!(watching.is_running());
    let lines = watching.lines();
    let tables: Vec<&String> = lines
        .iter()
        .filter(|l| l.starts_with("push registry"))
        .collect();
    assert!(tables.len() >= 2, "{lines:#?}");
    for row in &tables {
        let ours = row.contains(&format!(
            "{} (localhost:{})",
            cluster.registry, cluster.port
        )) || row.contains(&format!("{} (localhost:{other_port})", cluster.registry));
        assert!(ours, "a run applied neither config: {row}\n{lines:#?}");
    }
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("kind-registry") || l.starts_with("cache ")),
        "a run applied defaults:\n{lines:#?}"
    );
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("failed; the last applied state is kept")),
        "a run read a half-saved config:\n{lines:#?}"
    );
    assert_eq!(watching.stop("-TERM"), Some(0));
    // Runs cut off by the next save must not leave a switched-out registry behind.
    let aside = format!("{}-brrt-old", cluster.registry);
    assert!(
        crate::support::try_docker(&["container", "inspect", &aside]).is_none(),
        "{aside} was left behind"
    );
}

/// A number below `n`, different on every call.
fn random_below(n: u64) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(n);
    h.finish() % n
}
