//! Issue 20: one cache per upstream serves every cluster brrt wires on an engine, whatever
//! config wired it. Two node clusters on two configs (each its own project folder, network,
//! push registry and port) share the test's set of caches (`[cache] name`, as every config on
//! an engine shares `brrt-cache-*` by default), through the real binary, real Docker, real
//! registries (the cache on `registry:3`) and real containerd 2.3 nodes. Docker Hub is a
//! stand-in registry the test pushes into and stops.

use crate::support::cluster::{
    container_exists, container_id, docker_and_quay_cluster, volume_exists, wait_for, Cluster,
    Node, DOCKER_HUB, HELLO_1, HELLO_2,
};
use crate::support::{docker, Containerd, Output, Registry, Testbed};

const STACK: (Containerd, Registry) = (Containerd::V2, Registry::V3);

/// The names of the containers (or volumes) carrying every one of `labels`.
fn labelled(what: &str, labels: &[String]) -> Vec<String> {
    let mut args = vec![what, "ls", "--format", "{{.Name}}"];
    if what == "container" {
        args = vec![what, "ls", "--all", "--format", "{{.Names}}"];
    }
    let filters: Vec<String> = labels.iter().map(|l| format!("label={l}")).collect();
    for f in &filters {
        args.extend(["--filter", f.as_str()]);
    }
    let out = docker(&args);
    let mut names: Vec<String> = out.lines().map(str::to_string).collect();
    names.sort();
    names
}

/// The networks a container is on, sorted.
fn networks(container: &str) -> Vec<String> {
    let out = docker(&[
        "container",
        "inspect",
        "--format",
        "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}",
        container,
    ]);
    let mut nets: Vec<String> = out.split_whitespace().map(str::to_string).collect();
    nets.sort();
    nets
}

/// A second cluster of the test whose config caches docker.io through the first's stand-in
/// (Docker Hub is reachable from every cluster's network, as the internet is).
fn second_cluster<'t>(tb: &'t Testbed, first: &Cluster<'t>) -> Cluster<'t> {
    let second = Cluster::another(tb, "b");
    let upstream = first.upstream("docker.io");
    docker(&["network", "connect", &second.network, &upstream.container]);
    second.project.write(
        "brrt.toml",
        format!(
            "{}\"docker.io\" = {:?}\n",
            second.config(&DOCKER_HUB),
            upstream.remote()
        ),
    );
    second
}

/// A first cluster with a Docker Hub stand-in holding hello:1 and hello:2, and its config.
fn first_cluster(tb: &Testbed) -> Cluster<'_> {
    let mut first = Cluster::new(tb);
    let upstream = first.add_upstream("docker.io");
    upstream.push("brrt-testbed/hello:1", "library/hello:1");
    upstream.push("brrt-testbed/hello:2", "library/hello:2");
    first.write_config(&DOCKER_HUB);
    first
}

#[track_caller]
fn pulls(node: &Node, image: &str, says: &str) {
    node.must_pull(image);
    assert_eq!(node.file_in_image(image, "hello.txt"), says);
}

fn rows(out: &Output, what: &str) -> Vec<String> {
    out.stdout
        .lines()
        .filter(|l| l.starts_with(&format!("{what}  ")))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

#[test]
fn two_clusters_on_two_configs_pull_through_one_cache_per_upstream() {
    let Some(tb) = Testbed::require_stack("shared_two", STACK) else {
        return;
    };
    let a = first_cluster(&tb);
    let b = second_cluster(&tb, &a);
    let cache = a.cache("docker.io");
    assert_eq!(cache, b.cache("docker.io"), "the test's one set of caches");

    a.dev_up()
        .success()
        .stdout_contains(&format!("{cache} (docker.io)"));
    let joined = b.dev_up();
    joined.success();
    // The cache was there: B's run only joined it to B's network.
    assert_eq!(
        rows(&joined, "cache"),
        [format!("cache {cache} (docker.io) updated")]
    );

    // One cache container and one volume for docker.io on the engine, for both.
    let set = format!("dev.brrt.cache.set={}", a.cache_set());
    let upstream_label = "dev.brrt.registry.upstream=docker.io".to_string();
    let both = [set.clone(), upstream_label];
    assert_eq!(labelled("container", &both), std::slice::from_ref(&cache));
    assert_eq!(labelled("volume", &both), [a.volume(&cache)]);
    let mut nets = vec![a.network.clone(), b.network.clone()];
    nets.sort();
    assert_eq!(networks(&cache), nets, "on the network of each cluster");
    // Each cluster keeps its own push registry, port and mirror for it.
    let (node_a, node_b) = (a.control_plane(), b.control_plane());
    for (node, cluster) in [(&node_a, &a), (&node_b, &b)] {
        let mirror = node.mirror("docker.io").expect("a docker.io mirror");
        assert!(
            mirror.contains(&format!("[host.\"http://{cache}:5000\"]")),
            "{mirror}"
        );
        let path = cluster.project.path().join("brrt.toml");
        assert!(
            mirror.contains(&format!("edit {}, not this file", path.display())),
            "{mirror}"
        );
        assert!(node
            .mirror(&format!("localhost:{}", cluster.port))
            .is_some());
        assert!(container_exists(&cluster.registry));
    }
    assert_ne!(a.port, b.port);

    // A's node pulls hello:1 through the cache; with Docker Hub stopped, B's node pulls the
    // same image: the one copy the shared cache holds.
    pulls(&node_a, "docker.io/library/hello:1", HELLO_1);
    let ls = a.wait_until_cached("docker.io", "docker.io/library/hello:1");
    ls.stdout_contains(&format!(
        "docker.io ({cache}, serves {}, {}): 1 image(s)",
        a.name, b.name
    ));
    eprintln!("cache ls with two clusters:\n{}", ls.stdout);
    a.upstream("docker.io").stop();
    pulls(&node_b, "docker.io/library/hello:1", HELLO_1);
    a.upstream("docker.io").start();

    // cache stats and doctor say which clusters it serves, from either project.
    b.run("cache.rhai", &["--", "stats"])
        .success()
        .stdout_contains(&format!(
            "docker.io ({cache}, serves {}, {})",
            a.name, b.name
        ));
    let doctor = b.run("doctor.rhai", &[]);
    doctor.stdout_contains(&format!(
        "cache for docker.io: {cache} answers (1 repositories, distribution"
    ));
    doctor.stdout_contains(&format!("; it serves {}, {}", a.name, b.name));
    eprintln!("doctor of {}:\n{}", b.name, doctor.stdout);

    // A second dev-up of either changes nothing.
    let id = container_id(&cache);
    for cluster in [&a, &b] {
        cluster
            .dev_up()
            .success()
            .stdout_contains("dev-up: nothing changed");
    }
    assert_eq!(container_id(&cache), id);

    // dev-down of A: its mirrors, its push registry go; the cache stays for B.
    let down = a.run("dev-down.rhai", &[]);
    down.success();
    assert_eq!(
        rows(&down, "cache"),
        [format!("cache {cache} (still serves {}) unchanged", b.name)]
    );
    assert!(
        node_a.mirrored_hosts().is_empty(),
        "{:?}",
        node_a.mirrored_hosts()
    );
    assert!(!container_exists(&a.registry));
    assert_eq!(container_id(&cache), id, "the cache kept running");
    assert!(container_exists(&b.registry));
    // B's node pulls with Docker Hub stopped: hello:1 from the cache, as before A left.
    a.upstream("docker.io").stop();
    node_b.forget_images();
    pulls(&node_b, "docker.io/library/hello:1", HELLO_1);
    a.run("cache.rhai", &["--", "ls"])
        .success()
        .stdout_contains(&format!(
            "docker.io ({cache}, serves {}): 1 image(s)",
            b.name
        ));

    // dev-down of B, the last cluster: the cache goes, and with --purge its volume.
    a.upstream("docker.io").start();
    let down = b.run("dev-down.rhai", &["--set", "purge=true"]);
    down.success();
    assert_eq!(rows(&down, "cache"), [format!("cache {cache} removed")]);
    assert!(
        rows(&down, "volume").contains(&format!("volume {} removed", a.volume(&cache))),
        "{}",
        down.stdout
    );
    assert!(!container_exists(&cache));
    assert!(!volume_exists(&a.volume(&cache)));
    assert!(node_b.mirrored_hosts().is_empty());
}

/// Two configs that want a shared cache otherwise must not switch it back and forth: while
/// the other cluster uses it, the change is an error before anything changes, naming the
/// setting, both values and the other cluster; once both configs agree, either dev-up applies
/// it.
#[test]
fn a_config_that_wants_a_shared_cache_otherwise_changes_nothing_until_the_configs_agree() {
    let Some(tb) = Testbed::require_stack("shared_settings", STACK) else {
        return;
    };
    let a = first_cluster(&tb);
    let b = second_cluster(&tb, &a);
    let cache = a.cache("docker.io");
    a.dev_up().success();
    b.dev_up().success();
    let (node_a, node_b) = (a.control_plane(), b.control_plane());
    let id = container_id(&cache);
    let files = [node_a.mirror_files(), node_b.mirror_files()];

    let with_ttl = |c: &Cluster<'_>| {
        let path = c.project.path().join("brrt.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        c.project.write(
            "brrt.toml",
            text.replacen("[cache]\n", "[cache]\nttl = \"24h\"\n", 1),
        );
    };
    with_ttl(&b);
    let a_config = a.project.path().join("brrt.toml");
    b.dev_up().failure(1).stderr_contains(&format!(
        "error: {cache} serves kind cluster {} too, and its config {} wants cache.ttl unset, \
         where this config wants \"24h\". One cache per upstream serves every cluster, so brrt \
         changes nothing rather than switch it back and forth on every run: give both configs \
         the same cache.ttl (then either one's dev-up applies it), or give this config caches \
         of its own with another [cache] name",
        a.name,
        a_config.display()
    ));
    assert_eq!(container_id(&cache), id, "the cache was changed");
    assert_eq!([node_a.mirror_files(), node_b.mirror_files()], files);

    // The configs agree: B's dev-up applies it, A's finds nothing to change.
    with_ttl(&a);
    b.dev_up()
        .success()
        .stdout_contains(&format!("{cache} (docker.io)"));
    assert_ne!(container_id(&cache), id);
    let env = docker(&[
        "container",
        "inspect",
        "--format",
        "{{.Config.Env}}",
        &cache,
    ]);
    assert!(env.contains("REGISTRY_PROXY_TTL=24h"), "{env}");
    let mut nets = vec![a.network.clone(), b.network.clone()];
    nets.sort();
    assert_eq!(networks(&cache), nets, "the new cache joined both networks");
    a.dev_up()
        .success()
        .stdout_contains("dev-up: nothing changed");
    pulls(&node_a, "docker.io/library/hello:2", HELLO_2);
    pulls(&node_b, "docker.io/library/hello:2", HELLO_2);

    // With no other cluster using it, a config reconciles it as it wants.
    a.run("dev-down.rhai", &[]).success();
    let text = std::fs::read_to_string(b.project.path().join("brrt.toml")).unwrap();
    b.project
        .write("brrt.toml", text.replace("ttl = \"24h\"\n", ""));
    b.dev_up().success();
    let env = docker(&[
        "container",
        "inspect",
        "--format",
        "{{.Config.Env}}",
        &cache,
    ]);
    assert!(!env.contains("REGISTRY_PROXY_TTL"), "{env}");
}

/// A cache as brrt made it before caches were shared: `<registry.name>-<upstream>`, labelled
/// with its push registry as its group, its data in `<name>-data`, proxying `remote`. The
/// labels and names are those of that brrt (what dev-up knows an old cache of its own by).
fn per_config_cache(tb: &Testbed, cluster: &Cluster<'_>, host: &str, remote: &str) -> String {
    let name = format!("{}-{}", cluster.registry, host.replace('.', "-"));
    let registry = cluster
        .registry
        .strip_prefix(&tb.name(""))
        .expect("a test name");
    tb.container(&format!("{registry}-{}", host.replace('.', "-")));
    tb.volume(&format!("{registry}-{}-data", host.replace('.', "-")));
    let labels = [
        "dev.brrt.managed=true".to_string(),
        "dev.brrt.registry.role=cache".to_string(),
        format!("dev.brrt.registry.group={}", cluster.registry),
        format!("dev.brrt.registry.upstream={host}"),
    ];
    let mut volume = vec!["volume", "create"];
    for l in &labels {
        volume.extend(["--label", l.as_str()]);
    }
    let data = format!("{name}-data");
    volume.push(&data);
    docker(&volume);
    let mount = format!("{data}:/var/lib/registry");
    let env = format!("REGISTRY_PROXY_REMOTEURL={remote}");
    let mut run = vec![
        "run",
        "--detach",
        "--name",
        &name,
        "--network",
        &cluster.network,
        "--volume",
        &mount,
        "--env",
        &env,
        "--label",
        "dev.brrt.cache.mode=proxy",
        "--label",
        "dev.brrt.spec-hash=from-before-caches-were-shared",
    ];
    for l in &labels {
        run.extend(["--label", l.as_str()]);
    }
    run.push(tb.registry().image());
    docker(&run);
    name
}

/// The node's mirror for `host` as the brrt of that time wrote it, toward `container`.
fn old_mirror(node: &Node, host: &str, container: &str) {
    let text = format!(
        "# Managed by brrt for {host}: edit brrt.toml, not this file.\n\
         server = \"https://{host}\"\n\n\
         [host.\"http://{container}:5000\"]\ncapabilities = [\"pull\", \"resolve\"]\n"
    );
    node.exec(&[
        "sh",
        "-c",
        &format!(
            "mkdir -p /etc/containerd/certs.d/{host} && cat > /etc/containerd/certs.d/{host}/hosts.toml <<'EOF'\n{text}EOF"
        ),
    ])
    .unwrap();
}

/// Waits until a registry container's storage links `repo:tag` (a proxy stores in the
/// background), read through the engine.
fn wait_stored(container: &str, repo: &str, tag: &str) {
    let link = format!(
        "/var/lib/registry/docker/registry/v2/repositories/{repo}/_manifests/tags/{tag}/current/link"
    );
    wait_for(30, &format!("{container} to store {repo}:{tag}"), || {
        crate::support::try_docker(&["cp", &format!("{container}:{link}"), "-"])
            .map(drop)
            .ok_or_else(|| "not yet".to_string())
    });
}

/// Issue 20: a config's own caches from before caches were shared are carried over into the
/// shared ones, keeping what they held: a running one (docker.io), and one switched off earlier
/// whose volume alone is left (quay.io). The node pulls what they held with the upstreams
/// stopped; a second dev-up changes nothing.
#[test]
fn a_per_config_cache_is_carried_over_keeping_what_it_held() {
    let Some(tb) = Testbed::require_stack("shared_carry", STACK) else {
        return;
    };
    let cluster = docker_and_quay_cluster(&tb, "team/hello:2");
    cluster.write_config(&crate::support::cluster::CacheConfig {
        enabled: true,
        upstreams: &["docker.io", "quay.io"],
    });
    let node = cluster.control_plane();
    let old_docker = per_config_cache(
        &tb,
        &cluster,
        "docker.io",
        &cluster.upstream("docker.io").remote(),
    );
    let old_quay = per_config_cache(
        &tb,
        &cluster,
        "quay.io",
        &cluster.upstream("quay.io").remote(),
    );
    old_mirror(&node, "docker.io", &old_docker);
    old_mirror(&node, "quay.io", &old_quay);
    pulls(&node, "docker.io/library/hello:1", HELLO_1);
    pulls(&node, "quay.io/team/hello:2", HELLO_2);
    wait_stored(&old_docker, "library/hello", "1");
    wait_stored(&old_quay, "team/hello", "2");
    // quay.io's cache was switched off: its volume is all that is left of it.
    docker(&["rm", "--force", &old_quay]);

    let up = cluster.dev_up();
    up.success();
    let carried = rows(&up, "cache");
    let (docker_cache, quay_cache) = (cluster.cache("docker.io"), cluster.cache("quay.io"));
    for (old, new, host) in [
        (&old_docker, &docker_cache, "docker.io"),
        (&old_quay, &quay_cache, "quay.io"),
    ] {
        assert!(
            carried.contains(&format!(
                "cache {old} → {} ({host}, 1 image(s) checked) carried over",
                cluster.volume(new)
            )),
            "{carried:#?}"
        );
        assert!(!container_exists(old), "{old} is still there");
        assert!(
            !volume_exists(&cluster.volume(old)),
            "the volume of {old} is still there"
        );
        assert!(volume_exists(&cluster.volume(new)));
    }
    // The mirrors brrt wrote then are its own: they now point at the shared caches.
    let mirror = node.mirror("docker.io").unwrap();
    assert!(
        mirror.contains(&format!("http://{docker_cache}:5000")),
        "{mirror}"
    );

    // What the old caches held, pulled with both upstreams stopped.
    cluster.upstream("docker.io").stop();
    cluster.upstream("quay.io").stop();
    node.forget_images();
    pulls(&node, "docker.io/library/hello:1", HELLO_1);
    pulls(&node, "quay.io/team/hello:2", HELLO_2);

    // A second dev-up changes nothing (nothing is left to carry over).
    cluster.upstream("docker.io").start();
    cluster.upstream("quay.io").start();
    cluster
        .dev_up()
        .success()
        .stdout_contains("dev-up: nothing changed");
}
