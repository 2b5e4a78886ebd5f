//! Issue 7, item 12: two runs that change the same containers on the same engine take turns. A
//! second run waits and says for whom; `--no-wait` fails at once with the same words.
//! Issue 18: the lock is keyed by the containers a config names, not by its path, and lives in
//! a folder only the user can write, never through a symlink, holding no command line.

use crate::support::cluster::{script, CacheConfig, Cluster};
use crate::support::{Output, Project, Running, Testbed};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::Duration;

/// Takes the config's lock, says so, and holds it until the file `release` appears.
const HOLDER: &str = "config::brrt(\"brrt.toml\");\nlog::info(\"holding the lock\");\n\
                      while !fs::exists(\"release\") { sleep(0.05); }\n";

/// A brrt.toml whose push registry, set of caches and cluster are named for this test only, so
/// that no other test's run holds its lock (nor the user's dev-up, whose caches are
/// brrt-cache-*). Its last table is `[registry]`.
fn own_config(test: &str) -> (String, String) {
    let name = format!("brrt-t-{test}-{}", std::process::id());
    (
        format!(
            "[cluster]\nname = \"{name}\"\n\n[cache]\nname = \"{name}-cache\"\n\n\
             [registry]\nname = \"{name}\"\n"
        ),
        name,
    )
}

/// `brrt run --no-wait SCRIPT` in `project`: fails at once where a lock is held.
fn no_wait(project: &Project, script: &str) -> Output {
    project.brrt().args(["run", "--no-wait", script]).run()
}

fn holding(project: &Project) -> Running {
    holding_with(project, &[])
}

fn holding_with(project: &Project, env: &[(&str, &Path)]) -> Running {
    let mut brrt = project.brrt().args(["run", "hold.rhai"]);
    for (k, v) in env {
        brrt = brrt.env(k, v);
    }
    let mut holder = Running::new(brrt.spawn());
    holder.wait_for(
        "the holder to take the lock",
        Duration::from_secs(20),
        |l| l.iter().any(|l| l == "holding the lock"),
    );
    holder
}

#[test]
fn no_wait_fails_at_once_naming_the_holder() {
    let (config, name) = own_config("lock-no-wait");
    let project = Project::new()
        .file("brrt.toml", &config)
        .file("hold.rhai", HOLDER)
        .file(
            "read.rhai",
            "config::brrt(\"brrt.toml\");\nprint(\"read it\");\n",
        );
    let holder = holding(&project);
    let out = no_wait(&project, "read.rhai");
    out.failure(1)
        .stderr_contains(&format!(
            "another brrt (pid {}, applying {}) holds push registry {name} on ",
            holder.id(),
            project.path().join("brrt.toml").display()
        ))
        .stderr_contains("leave out --no-wait to wait for it")
        // Its command line is nobody's business.
        .stderr_lacks("hold.rhai");
    project.write("release", "");
    // Once it is free, the same command goes through.
    let mut holder = holder;
    holder.wait_for_exit(Duration::from_secs(20));
    no_wait(&project, "read.rhai")
        .success()
        .stdout_is("read it\n");
}

/// Issue 18: two configs in two folders that name the same push registry used to take two
/// locks (one per config path), and raced for the same containers.
#[test]
fn two_configs_naming_the_same_containers_take_turns() {
    let (config, name) = own_config("lock-two-configs");
    let first = Project::new()
        .file("brrt.toml", &config)
        .file("hold.rhai", HOLDER);
    // Another folder, another file name, other settings: the same push registry.
    let second = Project::new().file(
        "team/dev.toml",
        format!("{config}port = 5999\nimage = \"registry:2\"\n"),
    );
    second.write(
        "read.rhai",
        "config::brrt(\"team/dev.toml\");\nprint(\"read it\");\n",
    );
    let holder = holding(&first);
    no_wait(&second, "read.rhai")
        .failure(1)
        .stderr_contains(&format!(
            "another brrt (pid {}, applying {}) holds push registry {name}",
            holder.id(),
            first.path().join("brrt.toml").display()
        ));
    // A config that names other containers is not held up.
    let (other, _) = own_config("lock-two-configs-other");
    second.write("other.toml", other);
    second.write(
        "other.rhai",
        "config::brrt(\"other.toml\");\nprint(\"read the other\");\n",
    );
    no_wait(&second, "other.rhai")
        .success()
        .stdout_is("read the other\n");
    first.write("release", "");
}

/// Issue 18: lock files were made in a world-writable /tmp/brrt-locks (mode 1777), opened
/// through whatever symlink someone planted there, and held the holder's command line.
#[test]
fn locks_live_in_a_folder_only_the_user_can_write() {
    let (config, _) = own_config("lock-private");
    let runtime = tempfile::Builder::new()
        .prefix("brrt-t-runtime-")
        .tempdir()
        .expect("a temp dir");
    std::fs::set_permissions(runtime.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let project = Project::new()
        .file("brrt.toml", &config)
        .file("hold.rhai", HOLDER)
        .file(
            "read.rhai",
            "config::brrt(\"brrt.toml\");\nprint(\"read it\");\n",
        );
    let env = [("XDG_RUNTIME_DIR", runtime.path())];
    let mut holder = holding_with(&project, &env);
    let dir = runtime.path().join("brrt");
    let meta = std::fs::symlink_metadata(&dir).expect("brrt made its folder");
    assert!(meta.is_dir());
    assert_eq!(meta.permissions().mode() & 0o777, 0o700);
    let locks: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(
        locks.len(),
        3,
        "a lock for the push registry, one for the caches and one for the cluster: {locks:?}"
    );
    for lock in &locks {
        let text = std::fs::read_to_string(lock).unwrap();
        assert_eq!(
            text,
            format!(
                "pid {}, applying {}",
                holder.id(),
                project.path().join("brrt.toml").display()
            )
        );
        assert_eq!(std::fs::metadata(lock).unwrap().mode() & 0o777, 0o600);
    }
    project.write("release", "");
    holder.wait_for_exit(Duration::from_secs(20));

    // A symlink planted where a lock goes is never followed: the file it points at stays as
    // it was, and the run stops saying why.
    let victim = runtime.path().join("victim");
    std::fs::write(&victim, "precious\n").unwrap();
    std::fs::remove_file(&locks[0]).unwrap();
    std::os::unix::fs::symlink(&victim, &locks[0]).unwrap();
    project
        .brrt()
        .env("XDG_RUNTIME_DIR", runtime.path())
        .args(["run", "read.rhai"])
        .run()
        .failure(1)
        .stderr_contains(&format!(
            "cannot open {}: it is a symbolic link, which brrt never follows there; remove it",
            locks[0].display()
        ));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    std::fs::remove_file(&locks[0]).unwrap();

    // Without XDG_RUNTIME_DIR: brrt-<uid> in the temp folder, made 0700; one that others may
    // write is refused, not used.
    let tmp = tempfile::Builder::new()
        .prefix("brrt-t-tmp-")
        .tempdir()
        .expect("a temp dir");
    let run = || {
        project
            .brrt()
            .env("XDG_RUNTIME_DIR", "")
            .env("TMPDIR", tmp.path())
            .args(["run", "read.rhai"])
            .run()
    };
    run().success().stdout_is("read it\n");
    let uid = std::fs::metadata("/proc/self").unwrap().uid();
    let fallback = tmp.path().join(format!("brrt-{uid}"));
    assert_eq!(
        std::fs::symlink_metadata(&fallback).unwrap().mode() & 0o777,
        0o700
    );
    std::fs::set_permissions(&fallback, std::fs::Permissions::from_mode(0o777)).unwrap();
    run().failure(1).stderr_contains(&format!(
        "brrt keeps its run locks in {}, but others may enter or write it (mode 777, not 700)",
        fallback.display()
    ));
}

/// Issue 20: every cluster on an engine shares one cache per upstream, so two configs that
/// name nothing else in common (their own push registry, their own cluster) but the same set of
/// caches take turns; a config with caches of its own does not wait.
#[test]
fn two_configs_sharing_caches_take_turns() {
    let (first_config, first) = own_config("lock-shared-a");
    let (_, second) = own_config("lock-shared-b");
    let holder_project = Project::new()
        .file("brrt.toml", &first_config)
        .file("hold.rhai", HOLDER);
    let set = format!("{first}-cache");
    let other = Project::new()
        .file(
            "brrt.toml",
            format!(
                "[cluster]\nname = \"{second}\"\n\n[cache]\nname = \"{set}\"\n\n\
                 [registry]\nname = \"{second}\"\nport = 5998\n"
            ),
        )
        .file(
            "read.rhai",
            "config::brrt(\"brrt.toml\");\nprint(\"read it\");\n",
        );
    let holder = holding(&holder_project);
    no_wait(&other, "read.rhai")
        .failure(1)
        .stderr_contains(&format!(
            "another brrt (pid {}, applying {}) holds the caches {set}-* that every cluster \
             shares on ",
            holder.id(),
            holder_project.path().join("brrt.toml").display()
        ));
    // With caches of its own, the same config goes ahead.
    other.write(
        "brrt.toml",
        format!(
            "[cluster]\nname = \"{second}\"\n\n[cache]\nname = \"{second}-cache\"\n\n\
             [registry]\nname = \"{second}\"\nport = 5998\n"
        ),
    );
    no_wait(&other, "read.rhai")
        .success()
        .stdout_is("read it\n");
    holder_project.write("release", "");
}

#[test]
fn a_second_dev_up_waits_for_the_first_and_says_for_whom() {
    let Some(tb) = Testbed::require("lock_second_dev_up") else {
        return;
    };
    let cluster = Cluster::new(&tb);
    cluster.write_config(&CacheConfig {
        enabled: false,
        upstreams: &[],
    });
    cluster.project.write("hold.rhai", HOLDER);
    let holder = holding(&cluster.project);

    let mut second = Running::new(
        cluster
            .project
            .brrt()
            .arg("run")
            .arg(script("dev-up.rhai"))
            .spawn(),
    );
    second.wait_for("the second run to wait", Duration::from_secs(20), |l| {
        l.iter().any(|l| {
            l.starts_with(&format!(
                "warning: waiting: another brrt (pid {}",
                holder.id()
            ))
        })
    });
    assert!(second.is_running(), "it waits instead of failing");
    cluster.project.write("release", "");
    assert_eq!(
        second.wait_for_exit(Duration::from_secs(60)),
        Some(0),
        "{:#?}",
        second.lines()
    );
    assert!(
        second
            .lines()
            .iter()
            .any(|l| l.contains("; going on") && l.contains("got the lock for push registry")),
        "{:#?}",
        second.lines()
    );
}

#[test]
fn two_dev_ups_started_together_both_succeed() {
    let Some(tb) = Testbed::require("lock_two_dev_ups") else {
        return;
    };
    let mut cluster = Cluster::new(&tb);
    cluster
        .add_upstream("docker.io")
        .push("brrt-testbed/hello:1", "library/hello:1");
    cluster.write_config(&CacheConfig {
        enabled: true,
        upstreams: &["docker.io"],
    });
    let start = || {
        Running::new(
            cluster
                .project
                .brrt()
                .arg("run")
                .arg(script("dev-up.rhai"))
                .spawn(),
        )
    };
    let (mut a, mut b) = (start(), start());
    let (code_a, code_b) = (
        a.wait_for_exit(Duration::from_secs(60)),
        b.wait_for_exit(Duration::from_secs(60)),
    );
    assert_eq!(
        (code_a, code_b),
        (Some(0), Some(0)),
        "first:\n{:#?}\nsecond:\n{:#?}",
        a.lines(),
        b.lines()
    );
    // One of them made everything; the other found it made.
    let all: Vec<String> = a.lines().into_iter().chain(b.lines()).collect();
    assert!(
        all.iter().any(|l| l.contains("dev-up: nothing changed")),
        "{all:#?}"
    );
    assert!(!all.iter().any(|l| l.contains("409")), "{all:#?}");
}

/// Issue 9: `dev-up --watch` holds the lock while it applies, not while it waits for the next
/// save, so `cache stats` or `cache warm` in another terminal go ahead.
#[test]
fn an_idle_watch_holds_no_lock_and_a_look_takes_none() {
    let (config, _) = own_config("lock-idle-watch");
    let project = Project::new()
        .file("brrt.toml", &config)
        .file(
            "apply.rhai",
            "config::brrt(\"brrt.toml\");\nprint(\"applied\");\n",
        )
        .file("hold.rhai", HOLDER)
        .file(
            "look.rhai",
            "config::brrt(\"brrt.toml\", #{ lock: false });\nprint(\"looked\");\n",
        );
    let mut watching = Running::new(
        project
            .brrt()
            .args(["run", "--watch", "apply.rhai"])
            .spawn(),
    );
    watching.wait_for_applies(1);
    no_wait(&project, "apply.rhai")
        .success()
        .stdout_is("applied\n");
    // A flow that only looks takes no lock, even while another run holds it.
    let holder = holding(&project);
    no_wait(&project, "look.rhai")
        .success()
        .stdout_is("looked\n");
    project.write("release", "");
    drop(holder);
    assert_eq!(watching.stop("-TERM"), Some(0));
}
