//! Issue 18: brrt never removes, overwrites or merges into what it did not create. Each test
//! puts a look-alike where brrt acts (a registry made by hand under `registry.name`, a container
//! named like a cache or like the aside of a switch, a node's own hosts.toml) and runs the real
//! flows through the real binary against the real engine, registry and containerd.

use crate::support::cluster::{
    container_exists, container_id, docker_hub_cluster, free_port, http_status, push, script,
    volume_exists, wait_for, wait_until_serving, CacheConfig, Cluster, DOCKER_HUB, HELLO_1,
    NO_CACHES, REGISTRY_IMAGE,
};
use crate::support::{docker, try_docker, Containerd, Output, Registry, Testbed};
use std::path::Path;
use std::process::Command;

/// Starts a registry made by hand, as people do (`docker run -d --name kind-registry …
/// registry:2`), its data in the image's anonymous volume, published on a loopback port; waits
/// until it answers. `env` are extra `KEY=VALUE`s. Returns the port.
fn hand_made_registry(tb: &Testbed, name: &str, network: &str, env: &[&str]) -> u16 {
    let mut args = vec![
        "run",
        "--detach",
        "--name",
        name,
        "--network",
        network,
        "--publish",
        "127.0.0.1::5000",
    ];
    for e in env {
        args.extend(["--env", e]);
    }
    args.push(REGISTRY_IMAGE);
    docker(&args);
    tb.remove_volume_on_drop(&anonymous_volume(name));
    let port: u16 = docker(&["port", name, "5000/tcp"])
        .lines()
        .find_map(|l| l.strip_prefix("127.0.0.1:"))
        .and_then(|p| p.parse().ok())
        .expect("a loopback port");
    wait_until_serving(port, &format!("{name} to answer"));
    port
}

/// The anonymous volume a container keeps its `/var/lib/registry` in.
fn anonymous_volume(container: &str) -> String {
    docker(&[
        "container",
        "inspect",
        "--format",
        "{{range .Mounts}}{{.Name}}{{end}}",
        container,
    ])
}

fn running(name: &str) -> bool {
    try_docker(&[
        "container",
        "inspect",
        "--format",
        "{{.State.Running}}",
        name,
    ])
    .as_deref()
        == Some("true")
}

/// Pulls `repo_tag` from the registry on `port` with the docker CLI, as its owner would, and
/// drops the local copy again.
#[track_caller]
fn pull_back(port: u16, repo_tag: &str) {
    let image = format!("127.0.0.1:{port}/{repo_tag}");
    docker(&["pull", "--quiet", &image]);
    docker(&["image", "rm", &image]);
}

/// A container's full config, to compare before and after.
fn fingerprint(name: &str) -> String {
    docker(&[
        "container",
        "inspect",
        "--format",
        "{{.Id}} {{.Name}} {{.State.StartedAt}} {{.State.Running}} {{.RestartCount}}",
        name,
    ])
}

/// Issue 18, case 1: a registry made by hand under `registry.name`, holding an image pushed to
/// it. dev-down printed `push registry … removed` and its anonymous volume, with the image, was
/// gone.
#[test]
fn dev_down_leaves_a_hand_made_registry_running_with_what_was_pushed_to_it() {
    let Some(tb) = Testbed::require("own_down_registry") else {
        return;
    };
    let cluster = Cluster::new(&tb);
    cluster.write_config(&NO_CACHES);
    let port = hand_made_registry(&tb, &cluster.registry, &cluster.network, &[]);
    push(
        "brrt-testbed/hello:1",
        &format!("127.0.0.1:{port}/mine/app:1"),
    );
    let volume = anonymous_volume(&cluster.registry);
    let before = fingerprint(&cluster.registry);

    for purge in ["false", "true"] {
        cluster
            .run("dev-down.rhai", &["--set", &format!("purge={purge}")])
            .success()
            .stdout_contains(&format!("push registry  {}", cluster.registry))
            .stdout_contains("left alone")
            .stdout_lacks("removed")
            .stderr_contains(&format!(
                "warning: {} was not created by brrt (it has no dev.brrt.managed label), so it \
                 was left as it is (running), with its data: it may hold images pushed to it \
                 that exist nowhere else; give brrt's push registry another name (registry.name \
                 in brrt.toml)",
                cluster.registry
            ));
        assert_eq!(fingerprint(&cluster.registry), before);
        assert!(volume_exists(&volume), "its anonymous volume was removed");
        pull_back(port, "mine/app:1");
    }

    // A flow of the team's own cannot remove it either.
    cluster.project.write(
        "rm.rhai",
        format!("docker::remove({:?});\n", cluster.registry),
    );
    cluster
        .project
        .brrt()
        .args(["run", "rm.rhai"])
        .run()
        .failure(1)
        .stderr_contains(&format!(
            "container {} was not created by brrt (it has no dev.brrt.managed label), so brrt \
             leaves it as it is: remove it yourself (`docker rm -f {}`) if it is yours to lose",
            cluster.registry, cluster.registry
        ));
    assert_eq!(fingerprint(&cluster.registry), before);
    pull_back(port, "mine/app:1");
}

/// Issue 18, case 1, with an old proxy under `registry.name`: dev-up and dev-down both leave it
/// running and name `brrt run migrate`.
#[test]
fn a_hand_made_proxy_is_left_running_and_migrate_is_named() {
    let Some(tb) = Testbed::require("own_down_proxy") else {
        return;
    };
    let mut cluster = Cluster::new(&tb);
    let remote = cluster.add_upstream("docker.io").remote();
    cluster.write_config(&NO_CACHES);
    hand_made_registry(
        &tb,
        &cluster.registry,
        &cluster.network,
        &[&format!("REGISTRY_PROXY_REMOTEURL={remote}")],
    );
    let before = fingerprint(&cluster.registry);
    cluster.dev_up().failure(1).stderr_contains(&format!(
        "container {} was not created by brrt (it has no dev.brrt.managed label), so brrt \
             leaves it as it is: it is a pull-through cache made by hand: `brrt run migrate` \
             moves what it cached into brrt's cache and puts brrt's push registry in its place",
        cluster.registry
    ));
    cluster
        .run("dev-down.rhai", &["--set", "purge=true"])
        .success()
        .stderr_contains(
            "it is a pull-through cache made by hand: `brrt run migrate` takes it over",
        );
    assert_eq!(fingerprint(&cluster.registry), before);
    assert!(running(&cluster.registry));
}

/// Issue 18, case 3: with a hand-made container named like a cache, dev-up stopped with "not
/// created by brrt" after it had written the node's `ghcr.io/hosts.toml` toward it (and made
/// the push registry and the network).
#[test]
fn a_hand_made_container_named_like_a_cache_stops_dev_up_before_any_change() {
    let Some(tb) = Testbed::require("own_cache_name") else {
        return;
    };
    let mut cluster = Cluster::new(&tb);
    cluster.add_upstream("ghcr.io");
    cluster.write_config(&CacheConfig {
        enabled: true,
        upstreams: &["ghcr.io"],
    });
    let look_alike = cluster.cache("ghcr.io");
    hand_made_registry(&tb, &look_alike, &cluster.network, &[]);
    let before = fingerprint(&look_alike);
    let node = cluster.control_plane();
    let files = node.mirrored_hosts();

    cluster.dev_up().failure(1).stderr_contains(&format!(
        "error: container {look_alike} was not created by brrt (it has no dev.brrt.managed \
         label), so brrt leaves it as it is: brrt names its caches <cache.name>-<upstream> \
         (brrt-cache-docker-io, shared by every cluster on the engine), and {look_alike} is one \
         of them: give brrt's caches another name ([cache] name in brrt.toml), or rename that \
         container"
    ));
    assert_eq!(node.mirror("ghcr.io"), None, "a mirror points at it");
    assert_eq!(node.mirrored_hosts(), files, "a node file was written");
    assert!(
        !container_exists(&cluster.registry),
        "the push registry was made"
    );
    assert!(!volume_exists(&cluster.volume(&cluster.registry)));
    assert!(!volume_exists(&cluster.volume(&look_alike)));
    assert_eq!(fingerprint(&look_alike), before);
}

/// Issue 18: a volume made by hand under the name of a cache's volume was mounted and written
/// into by the cache; now dev-up stops before it makes anything.
#[test]
fn a_hand_made_volume_named_like_a_caches_stops_dev_up_before_any_change() {
    let Some(tb) = Testbed::require("own_volume_name") else {
        return;
    };
    let cluster = docker_hub_cluster(&tb);
    let cache = cluster.cache("docker.io");
    let volume = cluster.volume(&cache);
    docker(&["volume", "create", "--label", "owner=me", &volume]);
    cluster.dev_up().failure(1).stderr_contains(&format!(
        "error: volume {volume} was not created by brrt (it has no dev.brrt.managed label), so \
         brrt leaves it as it is: brrt keeps the data of {cache} in a volume of that name and \
         would write into it"
    ));
    assert!(!container_exists(&cache) && !container_exists(&cluster.registry));
    assert_eq!(cluster.control_plane().mirror("docker.io"), None);
    assert_eq!(
        docker(&["volume", "inspect", "--format", "{{.Labels}}", &volume]),
        "map[owner:me]"
    );
}

/// Issue 18: `cache clear` removed a container by the labels of a cache alone; one without
/// brrt's own label (a copy of a cache's labels made by hand) is now left alone.
#[test]
fn cache_clear_leaves_a_container_that_only_looks_like_a_cache() {
    let Some(tb) = Testbed::require("own_clear") else {
        return;
    };
    let cluster = docker_hub_cluster(&tb);
    let look_alike = cluster.cache("docker.io");
    let upstream_remote = cluster.upstream("docker.io").remote();
    // Labelled like brrt's cache for docker.io, but not by brrt.
    docker(&[
        "run",
        "--detach",
        "--name",
        &look_alike,
        "--network",
        &cluster.network,
        "--label",
        "dev.brrt.registry.role=cache",
        "--label",
        &format!("dev.brrt.cache.set={}", cluster.cache_set()),
        "--label",
        "dev.brrt.registry.upstream=docker.io",
        "--env",
        &format!("REGISTRY_PROXY_REMOTEURL={upstream_remote}"),
        REGISTRY_IMAGE,
    ]);
    tb.remove_volume_on_drop(&anonymous_volume(&look_alike));
    let before = fingerprint(&look_alike);
    cluster
        .run("cache.rhai", &["--", "clear", "docker.io"])
        .failure(1)
        .stderr_contains(&format!(
            "container {look_alike} was not created by brrt (it has no dev.brrt.managed label), \
             so brrt leaves it as it is: it was not emptied"
        ));
    cluster
        .run("dev-down.rhai", &["--set", "purge=true"])
        .success()
        .stderr_contains(&format!(
            "warning: {look_alike} was not created by brrt (it has no dev.brrt.managed label), \
             so it was left as it is (running), with its data: it carries brrt's registry \
             labels, but brrt did not make it"
        ));
    assert_eq!(fingerprint(&look_alike), before);
    assert!(volume_exists(&anonymous_volume(&look_alike)));
}

on_both_stacks!(a_nodes_own_hosts_toml_is_never_lost);

/// A node's own mirror config, as an admin writes it: a company mirror with its CA. CRLF line
/// ends, non-ASCII text and no newline at the end, so "byte for byte" means something.
const CORP_HOSTS: &str = "# the company mirror, set up by IT: do not edit\r\n\
    server = \"https://registry-1.docker.io\"\r\n\r\n\
    [host.\"https://mirror.corp.example\"]\r\n  capabilities = [\"pull\", \"resolve\"]\r\n  \
    ca = \"/etc/containerd/certs.d/docker.io/corp-ca.crt\"\r\n# Grüße, IT";
const DOCKER_IO_HOSTS: &str = "/etc/containerd/certs.d/docker.io/hosts.toml";

/// sha256, mode and size of a file in the node; `None` when it is not there.
fn file_print(node: &crate::support::cluster::Node, path: &str) -> Option<String> {
    node.exec(&[
        "sh",
        "-c",
        &format!("sha256sum '{path}' && stat -c '%a %s' '{path}'"),
    ])
    .ok()
}

/// Issue 18, case 2: dev-up replaced a node's own `docker.io/hosts.toml` (a company mirror with
/// its CA) with brrt's file, without a word or a copy, and dev-down deleted it, so the node was
/// left with neither.
fn a_nodes_own_hosts_toml_is_never_lost(stack: (Containerd, Registry)) {
    let Some(tb) = Testbed::require_stack("own_hosts_toml", stack) else {
        return;
    };
    let cluster = docker_hub_cluster(&tb);
    let node = cluster.control_plane();
    let cache = cluster.cache("docker.io");
    let local = tempfile::tempdir().expect("a temp dir");
    std::fs::write(local.path().join("hosts.toml"), CORP_HOSTS).unwrap();
    std::fs::write(
        local.path().join("corp-ca.crt"),
        "-----BEGIN CERTIFICATE-----\n",
    )
    .unwrap();
    node.exec(&["mkdir", "-p", "/etc/containerd/certs.d/docker.io"])
        .unwrap();
    for f in ["hosts.toml", "corp-ca.crt"] {
        docker(&[
            "cp",
            &local.path().join(f).display().to_string(),
            &format!("{}:/etc/containerd/certs.d/docker.io/{f}", node.name),
        ]);
    }
    node.exec(&["chmod", "640", DOCKER_IO_HOSTS]).unwrap();
    let original = file_print(&node, DOCKER_IO_HOSTS).expect("the node's own file");
    let ca = "/etc/containerd/certs.d/docker.io/corp-ca.crt";
    let ca_print = file_print(&node, ca).expect("its CA");
    let kept = format!("{DOCKER_IO_HOSTS}.brrt-original");

    // init reads the nodes and says what dev-up will do about it.
    cluster
        .project
        .brrt()
        .arg("init")
        .run()
        .success()
        .stdout_contains(&format!(
            "node {}: {DOCKER_IO_HOSTS} (it sends pulls to https://mirror.corp.example, falling \
             back to https://registry-1.docker.io) was not written by brrt, so dev-up stops before \
             changing anything while brrt would write a mirror for docker.io: add \"docker.io\" to \
             [cluster] take_over_mirrors",
            node.name
        ));

    // dev-up stops before any change, naming the node, the file, the hosts and the ways on.
    cluster.dev_up().failure(1).stderr_contains(&format!(
        "1 hosts.toml file(s) in the nodes were not written by brrt, and brrt would replace \
             them: node {}: {DOCKER_IO_HOSTS} (it sends pulls to https://mirror.corp.example, \
             falling back to https://registry-1.docker.io). brrt leaves them as they are, and \
             nothing was changed. To cache what that mirror serves, make it the upstream's \
             remote in brrt.toml: [cache.remotes] \"docker.io\" = \"https://mirror.corp.example\". \
             To let brrt use those hosts while it runs, set [cluster] take_over_mirrors = \
             [\"docker.io\"] in brrt.toml",
        node.name
    ));
    assert_eq!(file_print(&node, DOCKER_IO_HOSTS).as_ref(), Some(&original));
    assert_eq!(node.mirrored_hosts(), ["docker.io"]);
    assert!(!container_exists(&cache) && !container_exists(&cluster.registry));

    // Told to take it over, brrt keeps the original beside its own file.
    let take_over = |cache: &CacheConfig<'_>| {
        cluster.project.write(
            "brrt.toml",
            cluster.config(cache).replacen(
                "[cluster]\n",
                "[cluster]\ntake_over_mirrors = [\"docker.io\"]\n",
                1,
            ),
        );
    };
    take_over(&DOCKER_HUB);
    cluster
        .dev_up()
        .success()
        .stdout_contains("took over docker.io, originals kept as hosts.toml.brrt-original");
    assert!(node
        .mirror("docker.io")
        .is_some_and(|m| m.starts_with("# Managed by brrt")));
    let beside = file_print(&node, &kept).expect("the original beside brrt's file");
    assert_eq!(beside.replace(&kept, DOCKER_IO_HOSTS), original);
    assert_eq!(file_print(&node, ca).as_ref(), Some(&ca_print));
    node.must_pull("docker.io/library/hello:1");
    assert_eq!(
        node.file_in_image("docker.io/library/hello:1", "hello.txt"),
        HELLO_1
    );
    cluster.wait_until_cached("docker.io", "docker.io/library/hello:1");
    cluster
        .dev_up()
        .success()
        .stdout_contains("nothing changed");

    // The cache switched off: the original is back, byte for byte.
    take_over(&CacheConfig {
        enabled: false,
        ..DOCKER_HUB
    });
    cluster.dev_up().success();
    assert_eq!(file_print(&node, DOCKER_IO_HOSTS).as_ref(), Some(&original));
    assert_eq!(file_print(&node, &kept), None);
    // On again, and then dev-down: back again.
    take_over(&DOCKER_HUB);
    cluster.dev_up().success();
    assert!(file_print(&node, &kept).is_some());
    cluster.run("dev-down.rhai", &[]).success();
    assert_eq!(file_print(&node, DOCKER_IO_HOSTS).as_ref(), Some(&original));
    assert_eq!(file_print(&node, &kept), None);
    assert_eq!(file_print(&node, ca).as_ref(), Some(&ca_print));
}

/// A registry stand-in that answers `GET /v2/` at once and dies a second later (busybox
/// httpd in a testbed image): a replacement that passes a one-off readiness check, then stops
/// serving.
const ANSWERS_THEN_DIES: &str = "FROM brrt-testbed/node:latest\n\
    ENTRYPOINT [\"/bin/sh\", \"-c\", \"mkdir -p /www/v2 && echo '{}' > /www/v2/index.html && \
    httpd -p 5000 -h /www && sleep 2 && exit 1\"]\n";

/// A TCP server that accepts every connection on port 5000 and never answers: an upstream (or a
/// registry) that hangs.
const ACCEPTS_NEVER_ANSWERS: &str = "FROM brrt-testbed/node:latest\n\
    ENTRYPOINT [\"/bin/nc\", \"-ll\", \"-p\", \"5000\", \"-e\", \"/bin/sleep\", \"3600\"]\n";

/// The config with `cache.image` set.
fn with_cache_image(cluster: &Cluster<'_>, image: &str) -> String {
    cluster
        .config(&DOCKER_HUB)
        .replace("[cache]\n", &format!("[cache]\nimage = {image:?}\n"))
}

/// The config with a `cache.ttl`: a change that re-creates the cache.
fn with_ttl(cluster: &Cluster<'_>, ttl: &str) -> String {
    cluster
        .config(&DOCKER_HUB)
        .replace("[cache]\n", &format!("[cache]\nttl = {ttl:?}\n"))
}

fn api_port(container: &str) -> u16 {
    docker(&["port", container, "5000/tcp"])
        .lines()
        .next()
        .and_then(|l| l.rsplit(':').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("{container} publishes no API port"))
}

/// Issue 18: a switch removed whatever held `<name>-brrt-old` before it began; now a container
/// brrt did not create there stops the switch before anything changes.
#[test]
fn a_hand_made_container_at_the_aside_name_stops_a_switch_before_it_starts() {
    let Some(tb) = Testbed::require("own_aside_name") else {
        return;
    };
    let cluster = docker_hub_cluster(&tb);
    let cache = cluster.cache("docker.io");
    cluster.dev_up().success();
    let aside = tb.container("cache-docker-io-brrt-old");
    assert_eq!(aside, format!("{cache}-brrt-old"));
    hand_made_registry(&tb, &aside, &cluster.network, &[]);
    let (before, theirs) = (fingerprint(&cache), fingerprint(&aside));
    cluster
        .project
        .write("brrt.toml", with_ttl(&cluster, "72h"));
    cluster.dev_up().failure(1).stderr_contains(&format!(
        "error: container {aside} was not created by brrt (it has no dev.brrt.managed label), \
         so brrt leaves it as it is: brrt renames {cache} to that name while it replaces it"
    ));
    assert_eq!(fingerprint(&cache), before, "the cache was touched");
    assert_eq!(fingerprint(&aside), theirs);
    assert_eq!(http_status(api_port(&cache), "/v2/"), Ok(200));
}

/// Issue 18: "ready" was one answer to `/v2/`: a replacement that answered once and then died
/// cost the user the working cache. Now it must still run a few seconds later, or the old one
/// comes back.
#[test]
fn a_replacement_that_answers_and_then_dies_gives_the_old_cache_back() {
    let Some(tb) = Testbed::require("own_settle") else {
        return;
    };
    let flaky = tb.image("flaky", ANSWERS_THEN_DIES);
    let cluster = docker_hub_cluster(&tb);
    let cache = cluster.cache("docker.io");
    let node = cluster.up_with_hello_pulled();
    let before = container_id(&cache);
    cluster
        .project
        .write("brrt.toml", with_cache_image(&cluster, &flaky));
    cluster
        .dev_up()
        .failure(1)
        .stderr_contains(&format!("{cache} did not start: it answered, then"))
        .stderr_contains("the previous container is back and serving");
    assert_eq!(container_id(&cache), before);
    assert!(running(&cache));
    assert_eq!(http_status(api_port(&cache), "/v2/"), Ok(200));
    assert!(!container_exists(&format!("{cache}-brrt-old")));
    node.must_pull_afresh("docker.io/library/hello:1");
}

/// The name and action of the table row `what` a flow printed, with the padding squeezed.
#[track_caller]
fn row(out: &Output, what: &str) -> String {
    let line = out
        .stdout
        .lines()
        .find(|l| l.starts_with(&format!("{what} ")))
        .unwrap_or_else(|| panic!("no row {what:?} in:\n{}", out.stdout));
    line[what.len()..]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Waits until a switch of `cache` is half done: the old container renamed aside and a new one
/// under the name, for which `new_ready` holds.
fn wait_for_half_switch(cache: &str, old_id: &str, new_ready: impl Fn() -> bool) {
    let aside = format!("{cache}-brrt-old");
    wait_for(120, "the switch to be half done", || {
        let now = try_docker(&["container", "inspect", "--format", "{{.Id}}", cache]);
        let set_aside = try_docker(&["container", "inspect", "--format", "{{.Id}}", &aside]);
        match (now, set_aside) {
            (Some(new), Some(old)) if new != old_id && old == old_id && new_ready() => Ok(()),
            other => Err(format!("{other:?}")),
        }
    });
}

/// SIGKILLs a dev-up once the switch it started is half done.
fn kill_mid_switch(cluster: &Cluster<'_>, cache: &str, old_id: &str, new_ready: impl Fn() -> bool) {
    let mut run = cluster
        .project
        .brrt()
        .arg("run")
        .arg(script("dev-up.rhai"))
        .spawn();
    wait_for_half_switch(cache, old_id, new_ready);
    run.kill().expect("SIGKILL");
    run.wait().expect("it ends");
}

/// Issue 18: a run SIGKILLed between creating the new container and removing the old one left
/// a stopped `<name>-brrt-old` that the next runs said nothing about. The next run finishes the
/// switch: the new container serves, so the leftover goes, and it says so.
#[test]
fn a_switch_cut_short_by_sigkill_is_finished_by_the_next_run() {
    let Some(tb) = Testbed::require("own_sigkill_serves") else {
        return;
    };
    let cluster = docker_hub_cluster(&tb);
    let cache = cluster.cache("docker.io");
    let aside = tb.container("cache-docker-io-brrt-old");
    cluster.dev_up().success();
    let old_id = container_id(&cache);
    cluster
        .project
        .write("brrt.toml", with_ttl(&cluster, "72h"));
    // Killed while the new one, answering, is watched before the old one goes.
    kill_mid_switch(&cluster, &cache, &old_id, || {
        try_docker(&["port", &cache, "5000/tcp"])
            .and_then(|p| p.lines().next()?.rsplit(':').next()?.parse().ok())
            .is_some_and(|port| http_status(port, "/v2/") == Ok(200))
    });
    let new_id = container_id(&cache);
    assert!(
        container_exists(&aside),
        "the kill came too late to test anything"
    );

    let out = cluster.dev_up();
    out.success()
        .stderr_contains(&format!(
            "warning: {aside} was left aside by an interrupted switch; the new {cache} serves, \
             so {aside} was removed"
        ))
        .stdout_contains("dev-up: 1 removed, ");
    assert_eq!(row(&out, "left aside"), format!("{aside} removed"));
    assert!(!container_exists(&aside));
    assert_eq!(container_id(&cache), new_id);
    cluster.dev_up().success().stderr_lacks("left aside");
}

/// The other way: the new container does not serve, so the next run removes it and puts the
/// old one back, and says so.
#[test]
fn a_switch_cut_short_by_sigkill_to_a_container_that_never_serves_is_undone() {
    let Some(tb) = Testbed::require("own_sigkill_mute") else {
        return;
    };
    let mute = tb.image("mute", ACCEPTS_NEVER_ANSWERS);
    let cluster = docker_hub_cluster(&tb);
    let cache = cluster.cache("docker.io");
    let aside = tb.container("cache-docker-io-brrt-old");
    let node = cluster.up_with_hello_pulled();
    cluster.wait_until_cached("docker.io", "docker.io/library/hello:1");
    let old_id = container_id(&cache);
    cluster
        .project
        .write("brrt.toml", with_cache_image(&cluster, &mute));
    // Killed while brrt waits for the new one to answer, which it never does.
    kill_mid_switch(&cluster, &cache, &old_id, || running(&cache));
    // The team puts the config back, and runs dev-up again.
    cluster.write_config(&DOCKER_HUB);
    let out = cluster.dev_up();
    out.success().stderr_contains(&format!(
        "warning: {aside} was left aside by an interrupted switch, and the new {cache} does not \
         serve (it did not answer /v2/ within 15 s): it was removed, and {aside} is back as \
         {cache} and running"
    ));
    assert_eq!(row(&out, "left aside"), format!("{aside} put back"));
    assert_eq!(container_id(&cache), old_id);
    assert!(running(&cache) && !container_exists(&aside));
    cluster.upstream("docker.io").stop();
    node.must_pull_afresh("docker.io/library/hello:1");
}

/// Issue 18: an upstream that accepts connections and never answers kept a new proxy from ever
/// listening, and dev-up failed after 16 s on every run. It is now treated like one that
/// refuses: the cache starts offline and serves what it holds.
#[test]
fn an_upstream_that_never_answers_leaves_the_cache_serving_offline() {
    let Some(tb) = Testbed::require("own_mute_upstream") else {
        return;
    };
    let mute = tb.image("mute", ACCEPTS_NEVER_ANSWERS);
    let cluster = docker_hub_cluster(&tb);
    let cache = cluster.cache("docker.io");
    let node = cluster.up_with_hello_pulled();
    cluster.wait_until_cached("docker.io", "docker.io/library/hello:1");

    // Docker Hub now hangs: the cache is switched off and on again (re-created) meanwhile.
    let hanging = tb.container("hanging-upstream");
    docker(&[
        "run",
        "--detach",
        "--name",
        &hanging,
        "--network",
        &cluster.network,
        &mute,
    ]);
    let config = |enabled: bool| {
        cluster
            .config(&CacheConfig {
                enabled,
                ..DOCKER_HUB
            })
            .replace(
                &cluster.upstream("docker.io").remote(),
                &format!("http://{hanging}:5000"),
            )
    };
    cluster.project.write("brrt.toml", config(false));
    cluster.dev_up().success();
    cluster.project.write("brrt.toml", config(true));
    for _ in 0..2 {
        cluster
            .dev_up()
            .success()
            .stdout_contains("docker.io, offline (upstream unreachable): serving what it holds");
    }
    assert_eq!(
        docker(&[
            "inspect",
            "-f",
            "{{index .Config.Labels \"dev.brrt.cache.mode\"}}",
            &cache
        ]),
        "offline-auto"
    );
    node.must_pull_afresh("docker.io/library/hello:1");
}

/// Issue 18: the probe that checks an offline cache's upstream removed whatever held
/// `<cache>-probe` first.
#[test]
fn the_upstream_probe_leaves_a_hand_made_container_of_its_name() {
    let Some(tb) = Testbed::require("own_probe_name") else {
        return;
    };
    let cluster = docker_hub_cluster(&tb);
    let cache = cluster.cache("docker.io");
    cluster.upstream("docker.io").stop();
    cluster
        .dev_up()
        .success()
        .stdout_contains("offline (upstream unreachable)");
    let probe = tb.container("cache-docker-io-probe");
    assert_eq!(probe, format!("{cache}-probe"));
    hand_made_registry(&tb, &probe, &cluster.network, &[]);
    let before = fingerprint(&probe);
    cluster.upstream("docker.io").start();
    cluster
        .dev_up()
        .success()
        .stderr_contains(&format!(
            "warning: {probe} was not created by brrt, and brrt checks the upstream of {cache} \
             with a container of that name: it is left as it is, and {cache} keeps serving what \
             it holds; rename or remove it"
        ))
        .stdout_contains("offline (upstream unreachable)");
    assert_eq!(fingerprint(&probe), before);
}

/// Issue 18: the Tilt extension's `brrt-down` button (dev-down, with purge) is one click; under
/// the real Tilt, it removes what brrt made and leaves the look-alikes: a container that copies
/// a cache's labels, a volume named like a cache's, and a node's own hosts.toml.
#[test]
fn the_tilt_down_button_removes_only_what_brrt_made() {
    let tilt = crate::support::testbed_bin().join("tilt");
    if !tilt.is_file() {
        crate::support::missing(
            "the_tilt_down_button_removes_only_what_brrt_made",
            &format!("no tilt in {}", tilt.display()),
        );
        return;
    }
    let Some(tb) = Testbed::require("own_tilt_down") else {
        return;
    };
    let cluster = docker_hub_cluster(&tb);
    let cache = cluster.cache("docker.io");
    cluster.dev_up().success();
    let node = cluster.control_plane();
    // The look-alikes.
    let labelled = tb.container("cache-quay-io");
    docker(&[
        "run",
        "--detach",
        "--name",
        &labelled,
        "--network",
        &cluster.network,
        "--label",
        "dev.brrt.registry.role=cache",
        "--label",
        &format!("dev.brrt.cache.set={}", cluster.cache_set()),
        REGISTRY_IMAGE,
    ]);
    tb.remove_volume_on_drop(&anonymous_volume(&labelled));
    let volume = tb.volume("cache-gcr-io-data");
    docker(&["volume", "create", &volume]);
    node.exec(&[
        "sh", "-c",
        "mkdir -p /etc/containerd/certs.d/quay.io && printf 'server = \"https://quay.io\"\\n' > /etc/containerd/certs.d/quay.io/hosts.toml",
    ])
    .unwrap();
    let (container_before, file_before) = (
        fingerprint(&labelled),
        node.mirror("quay.io").expect("the node's own file"),
    );

    let project = cluster.project.path();
    let extension = Path::new(env!("CARGO_MANIFEST_DIR")).join("plugins/tilt/brrt/Tiltfile");
    cluster.project.write(
        "Tiltfile",
        format!(
            "load({:?}, 'brrt_down')\nbrrt_down(brrt={:?}, script={:?}, purge=True)\n",
            extension.display().to_string(),
            crate::support::BRRT,
            script("dev-down.rhai").display().to_string(),
        ),
    );
    let dev_dir = tempfile::tempdir().expect("Tilt's state folder");
    let port = free_port().to_string();
    let tilt_cmd = |args: &[&str]| {
        let mut c = Command::new(&tilt);
        c.args(args)
            .current_dir(project)
            .env("TILT_DISABLE_ANALYTICS", "1")
            .env("TILT_DEV_DIR", dev_dir.path())
            .env("TILT_PORT", &port)
            .env("KUBECONFIG", crate::support::NO_KUBECONFIG)
            .env_remove("BRRT_LOG");
        c
    };
    let mut up = tilt_cmd(&["up", "--stream"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("tilt up starts");
    let status = || {
        let out = tilt_cmd(&["get", "uiresource", "brrt-down", "-o", "json"])
            .output()
            .map_err(|e| e.to_string())?;
        let json: serde_json::Value =
            serde_json::from_slice(&out.stdout).map_err(|e| format!("{e}: {out:?}"))?;
        Ok::<_, String>(json["status"].clone())
    };
    // Tilt lists the resource before it fills in its status: wait for the status itself.
    let loaded = wait_for(120, "Tilt to load the button", || {
        let s = status()?;
        match s["updateStatus"].as_str() {
            Some(u) => Ok(u.to_string()),
            None => Err(format!("{s}")),
        }
    });
    assert_eq!(loaded, "none", "it ran by itself");
    // The click.
    let clicked = tilt_cmd(&["trigger", "brrt-down"]).output().unwrap();
    assert!(clicked.status.success(), "{clicked:?}");
    let done = wait_for(180, "the button's run to end", || {
        let s = status()?;
        match s["buildHistory"][0]["finishTime"].as_str() {
            Some(_) => Ok(s),
            None => Err(format!("{s}")),
        }
    });
    let _ = up.kill();
    let _ = up.wait();
    assert_eq!(
        done["buildHistory"][0]["error"],
        serde_json::Value::Null,
        "{done}"
    );

    // brrt's own are gone…
    assert!(!container_exists(&cache) && !container_exists(&cluster.registry));
    assert!(!volume_exists(&cluster.volume(&cache)));
    assert_eq!(node.mirror("docker.io"), None);
    // …the look-alikes are not.
    assert_eq!(fingerprint(&labelled), container_before);
    assert!(volume_exists(&volume));
    assert_eq!(node.mirror("quay.io").as_ref(), Some(&file_before));
}

/// Issue 18: the kind config for `kind create cluster --config` was written to a predictable
/// name in the shared /tmp, through whatever symlink was there. It now goes into brrt's
/// private folder, 0600. A SPY stands in for the kind CLI here (none can run on these
/// machines): it only reports how the file it was handed looks, and fails.
#[test]
fn the_kind_config_is_written_where_only_the_user_can_reach_it() {
    // dev-up's checks before it asks kind need the engine.
    let Some(_tb) = Testbed::require("own_kind_file") else {
        return;
    };
    let spy = tempfile::tempdir().expect("a temp dir");
    let kind = spy.path().join("kind");
    std::fs::write(
        &kind,
        "#!/bin/sh\n\
         case \"$1 $2\" in\n\
         \x20 version*) echo 'kind v0.27.0 go1.23.4 linux/amd64' ;;\n\
         \x20 'get clusters') ;;\n\
         \x20 'create cluster')\n\
         \x20   while [ $# -gt 0 ]; do [ \"$1\" = --config ] && cfg=$2; shift; done\n\
         \x20   [ -L \"$cfg\" ] && echo 'spy: a symlink' >&2\n\
         \x20   echo \"spy: $(stat -c '%a %F' \"$cfg\") in $(dirname \"$cfg\"), $(stat -c '%a' \"$(dirname \"$cfg\")\")\" >&2\n\
         \x20   exit 1 ;;\n\
         esac\n",
    )
    .unwrap();
    std::fs::set_permissions(&kind, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let runtime = tempfile::tempdir().expect("a temp dir");
    std::fs::set_permissions(
        runtime.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    let name = format!("brrt-t-kind-file-{}", std::process::id());
    let project = crate::support::Project::new().file(
        "brrt.toml",
        format!(
            "[cluster]\nname = {name:?}\ncreate = true\nnetwork = {name:?}\n\n[registry]\nname = \
             {name:?}\nport = {}\nimage = {REGISTRY_IMAGE:?}\n\n[cache]\nenabled = false\n",
            free_port()
        ),
    );
    let out = project
        .brrt()
        .env(
            "PATH",
            format!(
                "{}:{}",
                spy.path().display(),
                std::env::var("PATH").unwrap()
            ),
        )
        .env("XDG_RUNTIME_DIR", runtime.path())
        .arg("run")
        .arg(script("dev-up.rhai"))
        .run();
    out.failure(1).stderr_contains(&format!(
        "spy: 600 regular file in {}, 700",
        runtime.path().join("brrt").display()
    ));
    out.stderr_lacks("spy: a symlink");
    // And it is gone again.
    let left: Vec<_> = std::fs::read_dir(runtime.path().join("brrt"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// Issue 18: a `[cache.remotes]` URL with a user and password was taken as it was (and shown
/// in errors); it is refused like one in `[cache.shared]`, pointing to the variables, without
/// the password.
#[test]
fn a_password_in_cache_remotes_is_refused_and_never_echoed() {
    let project = crate::support::Project::new().file(
        "brrt.toml",
        "[cache]\nupstreams = [\"quay.io\"]\n\n[cache.remotes]\n\
         \"quay.io\" = \"https://robot:hunter2-18@mirror.corp.example\"\n",
    );
    let out = project.brrt().arg("run").arg(script("dev-up.rhai")).run();
    out.failure(1)
        .stderr_contains(
            "brrt.toml:5:13: cache.remotes: the URL for `quay.io` holds a user or password, and \
             brrt.toml is no place for secrets (it is shared, and kept in git): write \
             \"https://mirror.corp.example\" and set BRRT_QUAY_IO_USERNAME and \
             BRRT_QUAY_IO_PASSWORD in the environment instead",
        )
        .stderr_contains("\"https://***@mirror.corp.example\"")
        .stderr_lacks("hunter2-18")
        .stdout_lacks("hunter2-18");
}
