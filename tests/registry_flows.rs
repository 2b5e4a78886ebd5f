//! The registry flows end to end: `scripts/dev-up.rhai`, `dev-down.rhai`, `cache.rhai` and
//! `doctor.rhai` from this repository, run by the real binary against real registries and a
//! node running real containerd. Upstreams are stand-in registries on the test's own network,
//! so "Docker Hub" is a container the test pushes into and can stop.
//!
//! The flows a kind user meets every day run twice, on the two stacks of `support::STACKS`:
//! `<flow>::containerd16_registry2` (nodes with containerd 1.6, as kind before v0.27, and
//! `registry:2` caches) and `<flow>::containerd2_registry3` (the containerd 2.3 of kind's current
//! node image, and `registry:3`, brrt's default).

use crate::support::cluster::{
    container_exists, container_id, docker_and_quay_cluster, docker_hub_cluster, free_port,
    network_exists, push, script, volume_exists, wait_for, CacheConfig, Cluster, DOCKER_HUB,
    HELLO_1, HELLO_2, REGISTRY_IMAGE,
};
use crate::support::{docker, set, try_docker, Containerd, Project, Registry, Testbed};
use std::net::TcpListener;
use std::time::Duration;

on_both_stacks!(
    dev_up_from_nothing_lets_a_node_pull_docker_io_through_the_cache,
    cache_serves_a_pulled_image_with_the_upstream_stopped,
    node_pulls_what_was_pushed_to_the_push_registry,
    switching_the_cache_off_and_on_keeps_its_volume_and_never_restarts_containerd,
    second_dev_up_changes_nothing,
    doctor_reads_the_node_config_in_the_layout_of_its_containerd,
    cache_ttl_expires_on_registry3_and_is_reported_ignored_on_registry2,
);

/// `cache.ttl` reaches the cache as `REGISTRY_PROXY_TTL`. distribution v3 honours it: what the
/// cache fetched is gone once the TTL passes, so a node pulls it no more with the upstream
/// stopped. 2.8 ignores it (and logs so), which dev-up says once per process (a save under
/// `--watch` does not repeat it) and doctor says too.
fn cache_ttl_expires_on_registry3_and_is_reported_ignored_on_registry2(
    stack: (Containerd, Registry),
) {
    let Some(tb) = Testbed::require_stack("ttl", stack) else {
        return;
    };
    let cluster = docker_hub_cluster(&tb);
    let cache = cluster.cache("docker.io");
    let config = cluster
        .config(&DOCKER_HUB)
        .replace("[cache]\n", "[cache]\nttl = \"30s\"\n");
    cluster.project.write("brrt.toml", &config);
    let ignored = format!("cache.ttl = \"30s\" is ignored by {cache}: it runs distribution 2.8");

    let mut watch = cluster.watch_dev_up();
    watch.wait_for("the first apply", Duration::from_secs(60), |l| {
        l.iter().any(|l| l.starts_with("dev-up: "))
    });
    // A save that changes nothing for the cache: no second word about the TTL.
    cluster
        .project
        .write("brrt.toml", format!("{config}\n# saved again\n"));
    watch.wait_for_applies(1);
    let said = watch
        .lines()
        .iter()
        .filter(|l| l.contains("is ignored by"))
        .count();
    assert_eq!(watch.stop("-TERM"), Some(0));
    let doctor = cluster.run("doctor.rhai", &[]);
    doctor.success();
    let env = docker(&[
        "inspect",
        "-f",
        "{{range .Config.Env}}{{println .}}{{end}}",
        &cache,
    ]);
    assert!(env.lines().any(|l| l == "REGISTRY_PROXY_TTL=30s"), "{env}");

    let node = cluster.control_plane();
    match tb.registry() {
        Registry::V2 => {
            assert_eq!(said, 1, "the TTL warning, once per process");
            doctor.stdout_contains(&format!("warn  {ignored}"));
            doctor.stdout_contains("use image = \"registry:3\" for the TTL to apply");
            // What the warning says is what the cache says.
            let log = registry_log(&cache);
            assert!(
                log.contains("Ignoring unrecognized environment variable REGISTRY_PROXY_TTL"),
                "{log}"
            );
        }
        Registry::V3 => {
            assert_eq!(said, 0);
            doctor.stdout_lacks("is ignored by");
            node.must_pull("docker.io/library/hello:1");
            cluster.upstream("docker.io").stop();
            // Within the TTL the cache serves it; once the TTL passes, it has let it go.
            node.must_pull_afresh("docker.io/library/hello:1");
            wait_for(180, "the cached image to expire", || {
                node.forget_images();
                match node.pull("docker.io/library/hello:1") {
                    Err(_) => Ok(()),
                    Ok(()) => Err("the node still pulls it".to_string()),
                }
            });
        }
    }
}

fn dev_up_from_nothing_lets_a_node_pull_docker_io_through_the_cache(stack: (Containerd, Registry)) {
    let Some(tb) = Testbed::require_stack("flowpull", stack) else {
        return;
    };
    let cluster = docker_hub_cluster(&tb);
    let cache = cluster.cache("docker.io");
    assert!(!container_exists(&cluster.registry) && !container_exists(&cache));

    cluster
        .dev_up()
        .success()
        .stdout_contains(&format!(
            "{} (localhost:{})",
            cluster.registry, cluster.port
        ))
        .stdout_contains(&format!("{cache} (docker.io)"))
        .stdout_contains("created");
    assert!(volume_exists(&cluster.volume(&cluster.registry)));
    assert!(volume_exists(&cluster.volume(&cache)));

    let node = cluster.control_plane();
    let mirror = node
        .mirror("docker.io")
        .expect("a docker.io mirror in the node");
    assert!(
        mirror.contains(&format!("[host.\"http://{cache}:5000\"]")),
        "{mirror}"
    );
    node.must_pull("docker.io/library/hello:1");
    assert_eq!(
        node.file_in_image("docker.io/library/hello:1", "hello.txt"),
        HELLO_1
    );

    let ls = cluster.wait_until_cached("docker.io", "docker.io/library/hello:1");
    ls.stdout_contains(&format!(
        "docker.io ({cache}, serves {}): 1 image(s)",
        cluster.name
    ));
}

fn cache_serves_a_pulled_image_with_the_upstream_stopped(stack: (Containerd, Registry)) {
    let Some(tb) = Testbed::require_stack("upstreamstopped", stack) else {
        return;
    };
    let cluster = docker_hub_cluster(&tb);
    let node = cluster.up_with_hello_pulled();
    cluster.wait_until_cached("docker.io", "docker.io/library/hello:1");

    cluster.upstream("docker.io").stop();
    node.must_pull_afresh("docker.io/library/hello:1");
    assert_eq!(
        node.file_in_image("docker.io/library/hello:1", "hello.txt"),
        HELLO_1
    );
}

fn node_pulls_what_was_pushed_to_the_push_registry(stack: (Containerd, Registry)) {
    let Some(tb) = Testbed::require_stack("pushreg", stack) else {
        return;
    };
    let cluster = docker_hub_cluster(&tb);
    cluster.dev_up().success();

    push(
        "brrt-testbed/hello:2",
        &format!("127.0.0.1:{}/app:dev", cluster.port),
    );
    let node = cluster.control_plane();
    let image = format!("localhost:{}/app:dev", cluster.port);
    node.must_pull(&image);
    assert_eq!(node.file_in_image(&image, "hello.txt"), HELLO_2);
}

fn second_dev_up_changes_nothing(stack: (Containerd, Registry)) {
    let Some(tb) = Testbed::require_stack("noop", stack) else {
        return;
    };
    let cluster = docker_hub_cluster(&tb);
    cluster.dev_up().success();
    let node = cluster.control_plane();
    let ids = |c: &Cluster<'_>| {
        [&c.registry, &c.cache("docker.io"), &node.name].map(|name| container_id(name))
    };
    let (ids_before, files_before, life_before) =
        (ids(&cluster), node.mirror_files(), node.lifetime());
    assert_eq!(files_before.lines().count(), 2, "{files_before}");

    let out = cluster.dev_up();
    out.success()
        .stdout_contains("dev-up: nothing changed")
        .stdout_lacks("created")
        .stdout_lacks("updated")
        .stdout_lacks("removed");
    assert_eq!(ids(&cluster), ids_before, "a container was replaced");
    assert_eq!(
        node.mirror_files(),
        files_before,
        "a hosts.toml was rewritten"
    );
    assert_eq!(node.lifetime(), life_before, "the node was restarted");
}

/// A node config with only what matters here, in containerd 1.x's layout (config version 2).
const CONFIG_1X: &str = r#"version = 2
[plugins."io.containerd.grpc.v1.cri".registry]
  config_path = "/etc/containerd/certs.d"
"#;

/// The same in containerd 2.x's layout (config version 3).
const CONFIG_2X: &str = r#"version = 3
[plugins."io.containerd.cri.v1.images".registry]
  config_path = "/etc/containerd/certs.d"
"#;

/// doctor on a cluster dev-up wired, then on node configs a team may have: a deprecated
/// `registry.mirrors` table (kind's older local-registry patch), and the other containerd's
/// layout. doctor reads the file; containerd reads it at its next start.
fn doctor_reads_the_node_config_in_the_layout_of_its_containerd(stack: (Containerd, Registry)) {
    let Some(tb) = Testbed::require_stack("doctor", stack) else {
        return;
    };
    let (containerd, registry) = stack;
    let cluster = docker_hub_cluster(&tb);
    cluster.dev_up().success();
    let node = cluster.control_plane();
    // Each registry says which distribution it runs (Debian's 2.8.2, or v3 built from its tag).
    let release = match registry {
        Registry::V2 => "distribution 2.8",
        Registry::V3 => "distribution v3.",
    };
    let (version, own, other) = match containerd {
        Containerd::V1_6 => ("containerd 1.", "io.containerd.grpc.v1.cri", CONFIG_2X),
        Containerd::V2 => ("containerd 2.", "io.containerd.cri.v1.images", CONFIG_1X),
    };
    let node_line = format!("node {} (control-plane): {version}", node.name);
    let config_version = if containerd == Containerd::V2 { 3 } else { 2 };
    cluster
        .run("doctor.rhai", &[])
        .success()
        .stdout_contains(&node_line)
        .stdout_contains(&format!("(config version {config_version})"))
        .stdout_contains(&format!(
            "ok    push registry: {} answers (0 repositories, {release}",
            cluster.registry
        ))
        .stdout_contains(&format!(
            "ok    cache for docker.io: {} answers (0 repositories, {release}",
            cluster.cache("docker.io")
        ))
        // The stand-in cluster has nodes but no API server (nor kubeconfig): the one warning.
        .stdout_contains(&format!(
            "warn  no context `kind-{}` in the kubeconfig",
            cluster.name
        ))
        .stdout_contains("doctor: 0 failure(s), 1 warning(s)");

    let write_config = |text: &str| {
        node.exec(&[
            "sh",
            "-c",
            &format!("cat > /etc/containerd/config.toml <<'EOF'\n{text}EOF\n"),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
    };
    let original = node
        .exec(&["cat", "/etc/containerd/config.toml"])
        .unwrap_or_else(|e| panic!("{e}"));
    write_config(&format!(
        "{original}\n[plugins.\"{own}\".registry.mirrors.\"docker.io\"]\n  \
         endpoint = [\"http://{}:5000\"]\n",
        cluster.registry
    ));
    cluster
        .run("doctor.rhai", &[])
        .failure(1)
        .stdout_contains(&format!(
            "node {}: containerd config sets both config_path and the deprecated \
             registry.mirrors (docker.io), so containerd does not load its CRI plugin",
            node.name
        ));

    // containerd 2.x migrates 1.x's table; containerd 1.x never reads 2.x's.
    write_config(other);
    let doctor = cluster.run("doctor.rhai", &[]);
    match containerd {
        Containerd::V2 => doctor
            .success()
            .stdout_contains(&node_line)
            .stdout_contains("(config version 2)"),
        Containerd::V1_6 => doctor.failure(1).stdout_contains(&format!(
            "node {}: containerd has no registry config_path \
             (plugins.\"io.containerd.cri.v1.images\".registry sets one, but containerd 1.x \
             does not read it there), so it ignores certs.d",
            node.name
        )),
    };
}

#[test]
fn dev_up_repairs_what_was_changed_by_hand() {
    let Some(tb) = Testbed::require("drift") else {
        return;
    };
    let cluster = docker_hub_cluster(&tb);
    cluster.dev_up().success();
    let node = cluster.control_plane();
    let wired = node
        .mirror("docker.io")
        .expect("dev-up wrote the docker.io mirror");

    // A hand edit of a managed file (even one that keeps its size), and a cache pulled off the
    // cluster network: a no-op check must not miss either.
    let edited = wired.replacen("pull", "PULL", 1);
    node.exec(&[
        "sh",
        "-c",
        &format!("printf '%s' '{edited}' > /etc/containerd/certs.d/docker.io/hosts.toml"),
    ])
    .unwrap_or_else(|e| panic!("{e}"));
    docker(&[
        "network",
        "disconnect",
        &cluster.network,
        &cluster.cache("docker.io"),
    ]);

    cluster
        .dev_up()
        .success()
        .stdout_contains("updated")
        .stdout_lacks("nothing changed");
    assert_eq!(node.mirror("docker.io").as_deref(), Some(wired.as_str()));
    let networks = docker(&[
        "inspect",
        "-f",
        "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}",
        &cluster.cache("docker.io"),
    ]);
    assert!(
        networks.split_whitespace().any(|n| n == cluster.network),
        "{networks}"
    );
    cluster
        .dev_up()
        .success()
        .stdout_contains("dev-up: nothing changed");
    node.must_pull("docker.io/library/hello:1");
}

/// containerd is the node's first process, so the node's start time is containerd's.
fn switching_the_cache_off_and_on_keeps_its_volume_and_never_restarts_containerd(
    stack: (Containerd, Registry),
) {
    let Some(tb) = Testbed::require_stack("toggle", stack) else {
        return;
    };
    let cluster = docker_hub_cluster(&tb);
    let cache = cluster.cache("docker.io");
    let volume = cluster.volume(&cache);
    let push_mirror = format!("localhost:{}", cluster.port);
    cluster.dev_up().success();
    let node = cluster.control_plane();
    let life = node.lifetime();
    node.must_pull("docker.io/library/hello:1");
    cluster.wait_until_cached("docker.io", "docker.io/library/hello:1");
    let volume_born = docker(&["volume", "inspect", "--format", "{{.CreatedAt}}", &volume]);

    cluster.write_config(&CacheConfig {
        enabled: false,
        ..DOCKER_HUB
    });
    cluster.dev_up().success().stdout_contains("volume kept");
    assert_eq!(node.mirrored_hosts(), std::slice::from_ref(&push_mirror));
    assert!(
        !container_exists(&cache),
        "the cache container is still there"
    );
    assert!(volume_exists(&volume), "the cache volume was removed");
    assert_eq!(node.lifetime(), life, "the node was restarted");

    cluster.write_config(&DOCKER_HUB);
    cluster.dev_up().success();
    assert_eq!(
        node.mirrored_hosts(),
        ["docker.io".to_string(), push_mirror]
    );
    assert_eq!(
        docker(&[
            "container",
            "inspect",
            "--format",
            "{{.State.Running}}",
            &cache
        ]),
        "true"
    );
    assert_eq!(
        docker(&["volume", "inspect", "--format", "{{.CreatedAt}}", &volume]),
        volume_born,
        "the cache volume was re-created"
    );

    // What was cached before the switch is still served, with Docker Hub gone.
    cluster.upstream("docker.io").stop();
    node.must_pull_afresh("docker.io/library/hello:1");
    assert_eq!(
        node.file_in_image("docker.io/library/hello:1", "hello.txt"),
        HELLO_1
    );
    assert_eq!(node.lifetime(), life, "the node was restarted");
}

#[test]
fn dropping_one_upstream_removes_only_its_mirror_and_cache() {
    let Some(tb) = Testbed::require("dropone") else {
        return;
    };
    let mut cluster = Cluster::new(&tb);
    cluster.add_upstream("docker.io");
    cluster.add_upstream("quay.io");
    cluster.write_config(&CacheConfig {
        enabled: true,
        upstreams: &["docker.io", "quay.io"],
    });
    cluster.dev_up().success();
    let node = cluster.control_plane();
    let (docker_cache, quay_cache) = (cluster.cache("docker.io"), cluster.cache("quay.io"));
    let kept_ids = [container_id(&cluster.registry), container_id(&docker_cache)];
    let life = node.lifetime();
    let files = node.mirror_files();
    assert_eq!(files.lines().count(), 3, "{files}");

    cluster.write_config(&DOCKER_HUB);
    cluster
        .dev_up()
        .success()
        .stdout_contains(&format!("{quay_cache} (quay.io, volume kept)"));
    assert_eq!(
        node.mirrored_hosts(),
        [
            "docker.io".to_string(),
            format!("localhost:{}", cluster.port)
        ]
    );
    assert!(!container_exists(&quay_cache));
    assert!(volume_exists(&cluster.volume(&quay_cache)));
    assert_eq!(
        [container_id(&cluster.registry), container_id(&docker_cache)],
        kept_ids
    );
    let untouched: Vec<&str> = files.lines().filter(|l| !l.contains("quay.io")).collect();
    assert_eq!(
        node.mirror_files().lines().collect::<Vec<_>>(),
        untouched,
        "a remaining hosts.toml was rewritten"
    );
    assert_eq!(node.lifetime(), life, "the node was restarted");
}

#[test]
fn each_upstream_is_served_by_its_own_cache() {
    let Some(tb) = Testbed::require("twoupstreams") else {
        return;
    };
    let cluster = docker_and_quay_cluster(&tb, "team/hello:2");
    cluster.write_config(&CacheConfig {
        enabled: true,
        upstreams: &["docker.io", "quay.io"],
    });
    let node = cluster.up_with_hello_pulled();
    node.must_pull("quay.io/team/hello:2");
    assert_eq!(
        node.file_in_image("docker.io/library/hello:1", "hello.txt"),
        HELLO_1
    );
    assert_eq!(
        node.file_in_image("quay.io/team/hello:2", "hello.txt"),
        HELLO_2
    );

    let docker_ls = cluster.wait_until_cached("docker.io", "docker.io/library/hello:1");
    let quay_ls = cluster.wait_until_cached("quay.io", "quay.io/team/hello:2");
    docker_ls
        .stdout_contains(&format!(
            "docker.io ({}, serves {}): 1 image(s)",
            cluster.cache("docker.io"),
            cluster.name
        ))
        .stdout_lacks("team/hello")
        .stdout_lacks("quay.io");
    quay_ls
        .stdout_contains(&format!(
            "quay.io ({}, serves {}): 1 image(s)",
            cluster.cache("quay.io"),
            cluster.name
        ))
        .stdout_lacks("library/hello")
        .stdout_lacks("docker.io");
}

#[test]
fn unknown_upstream_without_a_remote_is_refused_before_anything_is_made() {
    let Some(tb) = Testbed::require("unknownup") else {
        return;
    };
    let network = tb.network("net");
    let registry = tb.container("reg");
    let cache = tb.container("cache-docker-io");
    let project = Project::new().file(
        "brrt.toml",
        format!(
            "[cluster]\nname = \"{registry}-kind\"\nnetwork = \"{network}\"\n\n\
             [registry]\nname = \"{registry}\"\nport = {}\nimage = \"{REGISTRY_IMAGE}\"\n\n\
             [cache]\nname = \"{}\"\nupstreams = [\"docker.io\", \"registry.example.com\"]\n",
            free_port(),
            tb.name("cache")
        ),
    );

    project
        .brrt()
        .arg("run")
        .arg(script("dev-up.rhai"))
        .run()
        .failure(1)
        .stderr_contains("unknown upstream `registry.example.com`")
        .stderr_contains("docker.io, gcr.io, quay.io, ghcr.io, registry.k8s.io")
        .stderr_contains("[cache.remotes]");
    assert!(!network_exists(&network), "network {network} was created");
    for name in [&registry, &cache] {
        assert!(!container_exists(name), "container {name} was created");
        assert!(
            !volume_exists(&format!("{name}-data")),
            "volume of {name} was created"
        );
    }
}

#[test]
fn port_held_by_a_process_is_named_with_the_process() {
    let Some(tb) = Testbed::require("portproc") else {
        return;
    };
    let cluster = docker_hub_cluster(&tb);
    let _held = TcpListener::bind(("127.0.0.1", cluster.port)).expect("bind the test's port");

    cluster
        .dev_up()
        .failure(1)
        .stderr_contains(&format!(
            "port {} on 127.0.0.1 is already in use",
            cluster.port
        ))
        .stderr_contains(&format!("(pid {})", std::process::id()));
    assert!(!container_exists(&cluster.registry));
}

#[test]
fn port_held_by_a_container_is_named_with_the_container() {
    let Some(tb) = Testbed::require("portcontainer") else {
        return;
    };
    let cluster = docker_hub_cluster(&tb);
    let squatter = tb.container("squatter");
    docker(&[
        "run",
        "--detach",
        "--name",
        &squatter,
        "--publish",
        &format!("127.0.0.1:{}:5000", cluster.port),
        REGISTRY_IMAGE,
    ]);

    cluster
        .dev_up()
        .failure(1)
        .stderr_contains(&format!("port {}", cluster.port))
        .stderr_contains(&format!("container `{squatter}`"));
    assert!(!container_exists(&cluster.registry));
}

#[test]
fn moving_the_push_registry_to_a_taken_port_keeps_the_running_one() {
    let Some(tb) = Testbed::require("portmove") else {
        return;
    };
    let mut cluster = docker_hub_cluster(&tb);
    cluster.dev_up().success();
    let id = container_id(&cluster.registry);
    let old_port = cluster.port;
    let taken = free_port();
    let _held = TcpListener::bind(("127.0.0.1", taken)).expect("bind the taken port");

    cluster.port = taken;
    cluster.write_config(&DOCKER_HUB);
    cluster
        .dev_up()
        .failure(1)
        .stderr_contains(&format!("port {taken}"))
        .stderr_contains(&format!("(pid {})", std::process::id()));
    assert!(
        container_exists(&cluster.registry),
        "the running push registry was removed"
    );
    assert_eq!(
        container_id(&cluster.registry),
        id,
        "the push registry was replaced"
    );
    push(
        "brrt-testbed/hello:2",
        &format!("127.0.0.1:{old_port}/app:dev"),
    );
}

#[test]
fn cluster_without_nodes_gets_its_caches_and_is_told_nodes_are_not_wired() {
    let Some(tb) = Testbed::require("nonodes") else {
        return;
    };
    let mut cluster = Cluster::without_nodes(&tb);
    cluster.add_upstream("docker.io");
    cluster.write_config(&DOCKER_HUB);

    cluster
        .dev_up()
        .success()
        .stderr_contains(&format!("cluster \"{}\" has no nodes", cluster.name))
        .stderr_contains("the registry and caches are up, but no node is wired to them")
        .stderr_contains(&format!("kind create cluster --name {}", cluster.name));
    for name in [cluster.registry.clone(), cluster.cache("docker.io")] {
        assert_eq!(
            docker(&[
                "container",
                "inspect",
                "--format",
                "{{.State.Running}}",
                &name
            ]),
            "true",
            "{name} is not running"
        );
    }
}

#[test]
fn config_syntax_error_names_line_and_column() {
    let Some(tb) = Testbed::require("badtoml") else {
        return;
    };
    let cluster = Cluster::without_nodes(&tb);
    cluster.project.write(
        "brrt.toml",
        "[cluster]\nname = \"dev\"\n\n[cache\nenabled = true\n",
    );

    cluster
        .dev_up()
        .failure(1)
        .stderr_contains("brrt.toml:4:7")
        .stderr_contains("[cache");
    assert!(!container_exists(&cluster.registry));
}

#[test]
fn nodes_that_cannot_take_mirrors_are_named_and_the_others_are_wired() {
    let Some(tb) = Testbed::require("badnode") else {
        return;
    };
    let cluster = docker_hub_cluster(&tb);
    // A "worker" that is really a registry: no shell to move files into place.
    let shell_less = tb.container("kind-worker");
    docker(&[
        "run",
        "--detach",
        "--name",
        &shell_less,
        "--network",
        &cluster.network,
        "--label",
        &format!("io.x-k8s.kind.cluster={}", cluster.name),
        "--label",
        "io.x-k8s.kind.role=worker",
        REGISTRY_IMAGE,
    ]);
    // A worker that is stopped.
    let stopped = cluster.add_node("worker", "worker2").name;
    docker(&["stop", "--time", "1", &stopped]);

    cluster
        .dev_up()
        .failure(1)
        .stderr_contains(&format!("node {shell_less}: mirrors not written"))
        .stderr_contains(&format!("node {stopped} is not running: start it"))
        .stderr_contains("mirrors could not be written into 2 node(s)")
        .stderr_contains("the other nodes are wired");

    let node = cluster.control_plane();
    assert_eq!(
        node.mirrored_hosts(),
        [
            "docker.io".to_string(),
            format!("localhost:{}", cluster.port)
        ]
    );
    node.must_pull("docker.io/library/hello:1");
}

#[test]
fn dev_down_keeps_the_volumes_and_purge_removes_them() {
    let Some(tb) = Testbed::require("devdown") else {
        return;
    };
    let cluster = docker_hub_cluster(&tb);
    cluster.dev_up().success();
    let node = cluster.control_plane();
    let cache = cluster.cache("docker.io");
    let volumes = [cluster.volume(&cluster.registry), cluster.volume(&cache)];

    cluster
        .run("dev-down.rhai", &[])
        .success()
        .stdout_contains("cache volumes kept");
    assert_eq!(node.mirrored_hosts(), Vec::<String>::new());
    for name in [&cluster.registry, &cache] {
        assert!(!container_exists(name), "{name} is still there");
    }
    for v in &volumes {
        assert!(volume_exists(v), "volume {v} was removed without purge");
    }
    let life = node.lifetime();

    let purge = set("purge", "true");
    cluster
        .run("dev-down.rhai", &[purge[0].as_str(), purge[1].as_str()])
        .success();
    for v in &volumes {
        assert!(!volume_exists(v), "volume {v} survived purge");
    }
    assert_eq!(node.lifetime(), life, "the node was restarted");
}

#[test]
fn catalog_follows_pagination() {
    let Some(tb) = Testbed::require("catalog") else {
        return;
    };
    let mut cluster = Cluster::without_nodes(&tb);
    let port = cluster.add_upstream("docker.io").port;
    for repo in ["one", "two", "three"] {
        push(
            "brrt-testbed/hello:1",
            &format!("127.0.0.1:{port}/{repo}:1"),
        );
    }
    let url = format!("http://127.0.0.1:{port}");
    cluster.project.write(
        "catalog.rhai",
        r#"
        print(`paged=${registry::catalog(SET.url, 1)}`);
        print(`whole=${registry::catalog(SET.url)}`);
        "#,
    );
    let out = cluster
        .project
        .brrt()
        .args(["run", "catalog.rhai"])
        .args(set("url", &url))
        .run();
    out.success();
    assert_eq!(out.printed("paged"), r#"["one", "three", "two"]"#);
    assert_eq!(out.printed("whole"), out.printed("paged"));
    // One repository per page: the registry was asked for the next page after each one.
    let log = registry_log(&cluster.upstream("docker.io").container);
    for last in ["one", "three"] {
        assert!(
            log.contains(&format!("/v2/_catalog?last={last}&n=1")),
            "no request for the page after `{last}`:\n{log}"
        );
    }
}

/// What a registry container logged (it logs to stderr).
fn registry_log(container: &str) -> String {
    let out = std::process::Command::new("docker")
        .args(["logs", container])
        .output()
        .expect("docker logs");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn upstream_credentials_reach_only_their_cache_and_are_never_printed() {
    let Some(tb) = Testbed::require("credentials") else {
        return;
    };
    let cluster = docker_hub_cluster(&tb);
    let secret = "s3cr3t-pa55word-for-brrt";
    let with_credentials = |args: &[&str]| {
        cluster
            .project
            .brrt()
            .env("BRRT_DOCKER_IO_USERNAME", "team-bot")
            .env("BRRT_DOCKER_IO_PASSWORD", secret)
            .args(args)
            .run()
    };
    let dev_up = script("dev-up.rhai");
    let dev_up = dev_up.to_str().unwrap();
    for out in [
        with_credentials(&["run", "-vv", "--dry-run", dev_up]),
        with_credentials(&["run", "-vv", dev_up]),
    ] {
        out.success();
        assert!(
            !out.stdout.contains(secret) && !out.stderr.contains(secret),
            "{out:?}"
        );
    }
    // What a script can see of the cache does not hold it either.
    cluster.project.write(
        "show.rhai",
        "print(docker::inspect(SET.name)); print(registry::caches(SET.registry));",
    );
    let shown = with_credentials(&[
        "run",
        "show.rhai",
        "--set",
        &format!("name={}", cluster.cache("docker.io")),
        "--set",
        &format!("registry={}", cluster.registry),
    ]);
    shown.success();
    assert!(!shown.stderr.contains(secret), "{shown:?}");

    let env_of = |container: &str| {
        docker(&[
            "inspect",
            "-f",
            "{{range .Config.Env}}{{println .}}{{end}}",
            container,
        ])
    };
    let cache_env = env_of(&cluster.cache("docker.io"));
    assert!(
        cache_env
            .lines()
            .any(|l| l == format!("REGISTRY_PROXY_PASSWORD={secret}")),
        "{cache_env}"
    );
    assert!(
        cache_env
            .lines()
            .any(|l| l == "REGISTRY_PROXY_USERNAME=team-bot"),
        "{cache_env}"
    );
    assert!(
        !env_of(&cluster.registry).contains(secret),
        "the push registry got the credentials"
    );
}

#[test]
fn registry_api_lists_tags_reads_manifests_and_deletes_by_digest() {
    let Some(tb) = Testbed::require("registry_api") else {
        return;
    };
    let cluster = docker_hub_cluster(&tb);
    cluster.dev_up().success();
    let push_to = format!("127.0.0.1:{}", cluster.port);
    docker(&[
        "tag",
        "brrt-testbed/hello:1",
        &format!("{push_to}/team/app:v1"),
    ]);
    let pushed_v1 = docker(&["push", &format!("{push_to}/team/app:v1")]);
    let _ = try_docker(&["image", "rm", &format!("{push_to}/team/app:v1")]);
    push("brrt-testbed/hello:2", &format!("{push_to}/team/app:v2"));
    cluster.project.write(
        "api.rhai",
        r#"
        let reg = SET.registry;
        print(`tags=${registry::tags(reg, "team/app")}`);
        let m = registry::manifest(reg, "team/app", "v1");
        print(`kind=${m.kind}`);
        print(`digest=${m.digest}`);
        print(`content_size=${m.content_size}`);
        registry::delete(reg, "team/app", m.digest);
        print(`after=${registry::tags(reg, "team/app")}`);
        try { registry::delete(reg, "team/app", "v2"); } catch (e) { print(`by_tag=${e}`); }
        "#,
    );
    let out = cluster
        .project
        .brrt()
        .args([
            "run",
            "api.rhai",
            "--set",
            &format!("registry={}", cluster.registry),
        ])
        .run();
    out.success();
    assert_eq!(out.printed("tags"), r#"["v1", "v2"]"#);
    assert_eq!(out.printed("kind"), "image");
    let digest = out.printed("digest");
    // `docker push` printed the digest it pushed.
    assert!(
        pushed_v1.contains(&format!("digest: {digest}")),
        "push said {pushed_v1}, registry says {digest}"
    );
    assert!(out.printed("content_size").parse::<i64>().unwrap() > 0);
    assert_eq!(out.printed("after"), r#"["v2"]"#);
    assert!(out.printed("by_tag").contains("needs a digest"), "{out:?}");
}

#[test]
fn a_registry_brrt_did_not_create_is_left_alone_and_named() {
    let Some(tb) = Testbed::require("foreign_registry") else {
        return;
    };
    let cluster = docker_hub_cluster(&tb);
    // What kind's kind-with-registry.sh leaves behind: a plain `kind-registry` container.
    docker(&["run", "-d", "--name", &cluster.registry, REGISTRY_IMAGE]);
    let id = container_id(&cluster.registry);
    cluster.dev_up().failure(1).stderr_contains(&format!(
        "container {} was not created by brrt (it has no dev.brrt.managed label), so brrt \
             leaves it as it is: it may hold images pushed to it that exist nowhere else: give \
             brrt's push registry another name (registry.name",
        cluster.registry
    ));
    assert_eq!(
        container_id(&cluster.registry),
        id,
        "brrt replaced a container it does not own"
    );
}

#[test]
fn offline_caches_serve_what_they_hold_when_the_upstream_is_unreachable() {
    let Some(tb) = Testbed::require("offlinemode") else {
        return;
    };
    let cluster = docker_hub_cluster(&tb);
    let node = cluster.up_with_hello_pulled();
    cluster.wait_until_cached("docker.io", "docker.io/library/hello:1");

    // The laptop reboots without a network: Docker restarts the cache, and a registry in
    // proxy mode will not start while its upstream is unreachable.
    cluster.upstream("docker.io").stop();
    let cache = cluster.cache("docker.io");
    docker(&["restart", &cache]);
    wait_for(30, "the cache to crash-loop", || {
        let state = docker(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.RestartCount}}",
            &cache,
        ]);
        if state.starts_with("restarting") || !state.ends_with(" 0") {
            Ok(())
        } else {
            Err(state)
        }
    });
    // Between two crashes the cache is "running" for a moment, and a doctor that looks then
    // sees a registry that does not answer yet. Ask again, as a user would, until it names the
    // restart loop and the way out.
    let doctor = wait_for(60, "doctor to suggest cache.offline", || {
        let out = cluster.run("doctor.rhai", &[]);
        if out.code == Some(1) && out.stdout.contains("cache.offline = true") {
            Ok(out)
        } else {
            Err(format!("{out:?}"))
        }
    });
    doctor
        .failure(1)
        .stdout_contains(&format!("{cache} keeps restarting"));

    // Offline mode serves the same volume without asking the upstream.
    let online = cluster.config(&DOCKER_HUB);
    cluster.project.write(
        "brrt.toml",
        online.replace("[cache]\n", "[cache]\noffline = true\n"),
    );
    cluster
        .dev_up()
        .success()
        .stdout_contains("offline: serving what it holds");
    node.must_pull_afresh("docker.io/library/hello:1");
    assert_eq!(
        node.file_in_image("docker.io/library/hello:1", "hello.txt"),
        HELLO_1
    );
    assert_eq!(
        docker(&["inspect", "-f", "{{.State.Status}}", &cache]),
        "running"
    );
}

/// Issue 11: files in a node used to carry a time made up from their content (dates between
/// 2001 and 2033 in `ls -l`). They carry the time of the write, and a hand edit is still seen.
#[test]
fn files_in_a_node_carry_the_time_they_were_written() {
    let Some(tb) = Testbed::require("honest_dates") else {
        return;
    };
    let cluster = docker_hub_cluster(&tb);
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    cluster.dev_up().success();
    let node = cluster.control_plane();
    let written: u64 = node
        .exec(&[
            "stat",
            "-c",
            "%Y",
            "/etc/containerd/certs.d/docker.io/hosts.toml",
        ])
        .expect("stat in the node")
        .trim()
        .parse()
        .expect("seconds");
    assert!(
        (before.saturating_sub(5)..=before + 120).contains(&written),
        "written at {written}, the test started at {before}"
    );
    let listing = node
        .exec(&["ls", "-l", "/etc/containerd/certs.d/docker.io/"])
        .unwrap_or_default();
    assert!(
        !listing.contains(" 2001 ") && !listing.contains(" 2033 "),
        "{listing}"
    );
    cluster
        .dev_up()
        .success()
        .stdout_contains("nothing changed");
}
