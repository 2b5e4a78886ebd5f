//! Issue 7, items 2–5: brrt.toml is checked whole against a typed schema before a flow changes
//! anything. A typo, a wrong type, an upstream that is not a registry host, two upstreams that
//! would share a cache, or an empty file each get an error naming the file actually loaded,
//! with line and column, and leave the engine as it was.

use crate::support::cluster::{free_port, script};
use crate::support::{docker, try_docker, Output, Project, Testbed};

/// `dev-up` with `--set config=team.toml`: the messages must name that file, not brrt.toml.
fn dev_up_with(config: &str) -> (Project, Output) {
    let project = Project::new().file("team.toml", config);
    let out = project
        .brrt()
        .arg("run")
        .arg(script("dev-up.rhai"))
        .args(["--set", "config=team.toml"])
        .run();
    (project, out)
}

#[test]
fn a_mistyped_key_is_named_with_the_key_meant() {
    let (_p, out) = dev_up_with("[cache]\nenabled = true\nupstream = [\"quay.io\"]\n");
    out.failure(1)
        .stderr_contains(
            "team.toml:3:1: unknown key `upstream` in [cache]; did you mean `upstreams`?",
        )
        .stderr_contains("3 | upstream = [\"quay.io\"]")
        .stderr_contains("[team]")
        .stderr_lacks("brrt.toml:");
}

#[test]
fn a_mistyped_table_is_named_with_the_table_meant() {
    let (_p, out) = dev_up_with("[cahce]\nupstreams = [\"quay.io\"]\n");
    out.failure(1).stderr_contains(
        "team.toml:1:2: unknown key `cahce` at the top level; did you mean `cache`?",
    );
}

#[test]
fn a_wrong_type_is_named_in_words() {
    let (_p, out) = dev_up_with("[registry]\nport = \"5001\"\n");
    out.failure(1)
        .stderr_contains("team.toml:2:8: registry.port: expected an integer, found a string")
        .stderr_lacks("i64");
    let (_p, out) = dev_up_with("[cache]\nenabled = \"yes\"\n");
    out.failure(1)
        .stderr_contains("cache.enabled: expected a boolean, found a string");
}

#[test]
fn an_empty_config_is_an_error_not_all_defaults() {
    for text in ["", "   \n\n\t\n"] {
        let (_p, out) = dev_up_with(text);
        out.failure(1)
            .stderr_contains("team.toml: the config is empty")
            .stderr_contains("never applies defaults from an empty file")
            .stdout_lacks("kind-registry");
    }
}

#[test]
fn upstreams_whose_caches_collide_are_named_both() {
    let (_p, out) = dev_up_with("[cache]\nupstreams = [\"docker.io\", \"docker-io\"]\n");
    out.failure(1)
        .stderr_contains(
            "team.toml:2:27: cache.upstreams: `docker.io` and `docker-io` would share one cache",
        )
        .stderr_contains("container brrt-cache-docker-io");
    let (_p, out) = dev_up_with("[cache]\nupstreams = [\"quay.io\", \"quay.io\"]\n");
    out.failure(1).stderr_contains("`quay.io` is listed twice");
}

#[test]
fn every_problem_is_reported_in_one_run() {
    let (_p, out) = dev_up_with(
        "[cluster]\nname = \"My_Cluster\"\n[registry]\nport = 70000\n[cache]\nttl = \"a week\"\n",
    );
    out.failure(1)
        .stderr_contains("team.toml:2:8: cluster.name: `My_Cluster` is not a kind cluster name")
        .stderr_contains("team.toml:4:8: registry.port: 70000 is not a port number")
        .stderr_contains("team.toml:6:7: cache.ttl: `a week` is not a duration");
}

#[test]
fn a_path_as_upstream_creates_nothing() {
    let Some(tb) = Testbed::require("schema_path_upstream") else {
        return;
    };
    let registry = tb.container("reg");
    let network = tb.network("net");
    let (_p, out) = dev_up_with(&format!(
        "[cluster]\nnetwork = \"{network}\"\n[registry]\nname = \"{registry}\"\nport = {}\n\
         [cache]\nupstreams = [\"docker.io\", \"../../etc\"]\n",
        free_port()
    ));
    out.failure(1)
        .stderr_contains("cache.upstreams: `../../etc` is not a registry host")
        .stderr_contains("e.g. \"docker.io\"");
    // Nothing was made: no network, no push registry, no cache, no volume.
    assert_eq!(try_docker(&["network", "inspect", &network]), None);
    let made = docker(&["ps", "-a", "--filter", &format!("name={registry}"), "-q"]);
    assert_eq!(
        made, "",
        "containers were created before the config was rejected"
    );
    let volumes = docker(&[
        "volume",
        "ls",
        "-q",
        "--filter",
        &format!("name={registry}"),
    ]);
    assert_eq!(
        volumes, "",
        "volumes were created before the config was rejected"
    );
}

#[test]
fn host_ip_must_be_an_ip_address() {
    let (_p, out) = dev_up_with("[registry]\nhost_ip = \"not-an-ip\"\n");
    out.failure(1)
        .stderr_contains("team.toml:2:11: registry.host_ip: `not-an-ip` is not an IP address");
}

#[test]
fn localhost_binds_loopback_and_a_wide_address_is_warned_about() {
    let Some(tb) = Testbed::require("schema_host_ip") else {
        return;
    };
    let registry = tb.container("reg");
    tb.volume("reg-data");
    let network = tb.network("net");
    let port = free_port();
    let config = |ip: &str| {
        format!(
            "[cluster]\nname = \"{registry}\"\nnetwork = \"{network}\"\n[registry]\nname = \"{registry}\"\n\
             port = {port}\nimage = \"brrt-testbed/registry:2\"\nhost_ip = \"{ip}\"\n[cache]\nenabled = false\n"
        )
    };
    let (_p, out) = dev_up_with(&config("localhost"));
    out.success().stderr_lacks("reachable from the network");
    assert_eq!(
        docker(&["port", &registry, "5000/tcp"]),
        format!("127.0.0.1:{port}"),
        "`localhost` must bind loopback only"
    );

    let (_p, out) = dev_up_with(&config("0.0.0.0"));
    out.success()
        .stderr_contains("warning: team.toml: registry.host_ip = \"0.0.0.0\" makes the push registry reachable from the network");
    assert!(
        docker(&["port", &registry, "5000/tcp"]).starts_with(&format!("0.0.0.0:{port}")),
        "an explicit wide address is honoured"
    );
}

#[test]
fn team_keys_reach_scripts_unchecked() {
    Project::new()
        .file("brrt.toml", "[cluster]\nname = \"dev\"\n[team]\nowner = \"infra\"\nslack = { channel = \"#dev\" }\n")
        .file("t.rhai", "let c = config::brrt(\"brrt.toml\");\nprint(`owner=${c.team.owner}`);\nprint(`channel=${c.team.slack.channel}`);\nprint(`port=${c.registry.port}`);\n")
        .brrt()
        .args(["run", "t.rhai"])
        .run()
        .success()
        .stdout_contains("owner=infra")
        .stdout_contains("channel=#dev")
        .stdout_contains("port=5001");
}
