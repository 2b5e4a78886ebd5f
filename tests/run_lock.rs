//! Issue 7, item 12: two runs on the same config and engine take turns. A second run waits and
//! says for whom; `--no-wait` fails at once with the same words.

use crate::support::cluster::{script, CacheConfig, Cluster};
use crate::support::{Project, Running, Testbed};
use std::time::Duration;

/// Takes the config's lock, says so, and holds it until the file `release` appears.
const HOLDER: &str = "config::brrt(\"brrt.toml\");\nlog::info(\"holding the lock\");\n\
                      while !fs::exists(\"release\") { sleep(0.05); }\n";

fn holding(project: &Project) -> Running {
    let mut holder = Running::new(project.brrt().args(["run", "hold.rhai"]).spawn());
    holder.wait_for(
        "the holder to take the lock",
        Duration::from_secs(20),
        |l| l.iter().any(|l| l == "holding the lock"),
    );
    holder
}

#[test]
fn no_wait_fails_at_once_naming_the_holder() {
    let project = Project::new()
        .file("brrt.toml", "[cluster]\nname = \"dev\"\n")
        .file("hold.rhai", HOLDER)
        .file(
            "read.rhai",
            "config::brrt(\"brrt.toml\");\nprint(\"read it\");\n",
        );
    let holder = holding(&project);
    project
        .brrt()
        .args(["run", "--no-wait", "read.rhai"])
        .run()
        .failure(1)
        .stderr_contains(&format!("another brrt (pid {}: ", holder.id()))
        .stderr_contains("run hold.rhai) is applying brrt.toml on ")
        .stderr_contains("leave out --no-wait to wait for it");
    project.write("release", "");
    // Once it is free, the same command goes through.
    let mut holder = holder;
    holder.wait_for_exit(Duration::from_secs(20));
    project
        .brrt()
        .args(["run", "--no-wait", "read.rhai"])
        .run()
        .success()
        .stdout_is("read it\n");
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
            .any(|l| l.contains("got the lock for brrt.toml; going on")),
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
    let project = Project::new()
        .file("brrt.toml", "[cluster]\nname = \"dev\"\n")
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
    project
        .brrt()
        .args(["run", "--no-wait", "apply.rhai"])
        .run()
        .success()
        .stdout_is("applied\n");
    // A flow that only looks takes no lock, even while another run holds it.
    let holder = holding(&project);
    project
        .brrt()
        .args(["run", "--no-wait", "look.rhai"])
        .run()
        .success()
        .stdout_is("looked\n");
    project.write("release", "");
    drop(holder);
    assert_eq!(watching.stop("-TERM"), Some(0));
}
