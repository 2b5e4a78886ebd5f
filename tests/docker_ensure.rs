//! `docker::ensure`: the second run changes nothing, a changed spec re-creates (without leaving
//! the old container's anonymous volume behind), a stopped container is started, and
//! `--dry-run` leaves the engine alone.

use crate::support::{docker, set, try_docker, Project, Testbed};

/// A registry container (it stops at once on SIGTERM) whose env comes from `--set mode=…`.
const ENSURE: &str = r#"
let r = docker::ensure(#{
    name: SET.name,
    image: "brrt-testbed/registry:2",
    env: #{ BRRT_TEST_MODE: SET.mode },
});
print(`action=${r.action}`);
print(`id=${r.id}`);
"#;

fn ensure(project: &Project, name: &str, mode: &str) -> (String, String) {
    let out = project
        .brrt()
        .arg("run")
        .arg("up.rhai")
        .args(set("name", name))
        .args(set("mode", mode))
        .run();
    out.success();
    (out.printed("action"), out.printed("id"))
}

fn container_id(name: &str) -> String {
    docker(&["container", "inspect", "--format", "{{.Id}}", name])
}

#[test]
fn ensure_twice_leaves_the_container_alone() {
    let Some(tb) = Testbed::require("ensure_twice") else {
        return;
    };
    let name = tb.container("registry");
    let project = Project::new().file("up.rhai", ENSURE);

    let (action, first_id) = ensure(&project, &name, "a");
    assert_eq!(action, "created");
    assert_eq!(first_id, container_id(&name));

    let (action, second_id) = ensure(&project, &name, "a");
    assert_eq!(action, "unchanged");
    assert_eq!(second_id, first_id);
    assert_eq!(container_id(&name), first_id, "the container was replaced");
}

#[test]
fn changed_env_recreates_and_stopped_container_is_started() {
    let Some(tb) = Testbed::require("ensure_recreate") else {
        return;
    };
    let name = tb.container("registry");
    let project = Project::new().file("up.rhai", ENSURE);

    let (_, first_id) = ensure(&project, &name, "a");
    // The registry image declares `VOLUME /var/lib/registry`: with nothing mounted there, the
    // engine gives the container an anonymous volume.
    let old_volume = docker(&[
        "container",
        "inspect",
        "--format",
        "{{range .Mounts}}{{.Name}}{{end}}",
        &name,
    ]);
    assert!(!old_volume.is_empty(), "no anonymous volume on {name}");

    let (action, new_id) = ensure(&project, &name, "b");
    assert_eq!(action, "recreated");
    assert_ne!(new_id, first_id);
    assert_eq!(container_id(&name), new_id);
    let env = docker(&[
        "container",
        "inspect",
        "--format",
        "{{json .Config.Env}}",
        &name,
    ]);
    assert!(env.contains("\"BRRT_TEST_MODE=b\""), "env is {env}");

    assert!(
        try_docker(&["volume", "inspect", &old_volume]).is_none(),
        "re-creating left the old container's anonymous volume {old_volume} behind"
    );

    docker(&["stop", &name]);
    let (action, id) = ensure(&project, &name, "b");
    assert_eq!(action, "started");
    assert_eq!(id, new_id);
    let running = docker(&[
        "container",
        "inspect",
        "--format",
        "{{.State.Running}}",
        &name,
    ]);
    assert_eq!(running, "true");
}

#[test]
fn dry_run_changes_nothing() {
    let Some(tb) = Testbed::require("dry_run") else {
        return;
    };
    let name = tb.container("registry");
    let network = tb.network("net");
    let volume = tb.volume("data");
    let project = Project::new().file(
        "up.rhai",
        r#"
        print("network=" + docker::network::ensure(SET.network));
        print("volume=" + docker::volume::ensure(SET.volume));
        let r = docker::ensure(#{
            name: SET.name,
            image: "brrt-testbed/registry:2",
            network: SET.network,
            mounts: [SET.volume + ":/var/lib/registry"],
        });
        print(`action=${r.action}`);
        "#,
    );

    let out = project
        .brrt()
        .args(["run", "--dry-run", "up.rhai"])
        .args(set("name", &name))
        .args(set("network", &network))
        .args(set("volume", &volume))
        .run();
    out.success()
        .stderr_contains(&format!("would create network {network}"))
        .stderr_contains(&format!("would create volume {volume}"))
        .stderr_contains(&format!("would create container {name}"))
        .stderr_contains("dry run: 3 change(s) would be made; none was");
    assert_eq!(out.printed("action"), "created");

    let containers = docker(&["ps", "--all", "--format", "{{.Names}}"]);
    assert!(
        !containers.lines().any(|n| n == name),
        "a dry run created container {name}"
    );
    let networks = docker(&["network", "ls", "--format", "{{.Name}}"]);
    assert!(
        !networks.lines().any(|n| n == network),
        "a dry run created network {network}"
    );
    assert!(
        try_docker(&["volume", "inspect", &volume]).is_none(),
        "a dry run created volume {volume}"
    );
}

#[test]
fn dry_run_of_a_changed_spec_keeps_the_old_container() {
    let Some(tb) = Testbed::require("dry_run_existing") else {
        return;
    };
    let name = tb.container("registry");
    let project = Project::new().file("up.rhai", ENSURE);
    let (_, id) = ensure(&project, &name, "a");

    let out = project
        .brrt()
        .args(["run", "--dry-run", "up.rhai"])
        .args(set("name", &name))
        .args(set("mode", "b"))
        .run();
    out.success()
        .stderr_contains(&format!("would re-create container {name}"));
    assert_eq!(out.printed("action"), "recreated");
    assert_eq!(container_id(&name), id, "a dry run replaced the container");
    let env = docker(&[
        "container",
        "inspect",
        "--format",
        "{{json .Config.Env}}",
        &name,
    ]);
    assert!(env.contains("\"BRRT_TEST_MODE=a\""), "env is {env}");
}
