//! Seeing the caches work and filling them ahead of time (issue 9), through the real binary:
//! `cache.rhai -- stats` (distribution's counters), `-- logs` (hits and misses as they
//! happen), `-- warm` (images from manifests, lists and brrt.toml), a team cache in
//! `[cache.shared]`, and what each says about bad input. Upstreams are registries on the
//! test's own network that the tests push into and stop.

use crate::support::cluster::{
    container_exists, docker_hub_cluster, managed_tmpfs_volume, volume_exists, wait_for, Cluster,
    DOCKER_HUB, HELLO_1, HELLO_2, REGISTRY_IMAGE,
};
use crate::support::{docker, Containerd, Output, Project, Registry, Running, Testbed};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// The cluster's brrt.toml with `lines` added to its `[cache]` table and `tables` at the end.
fn config_with(cluster: &Cluster<'_>, lines: &str, tables: &str) -> String {
    cluster.config(&DOCKER_HUB).replace(
        "\n[cache.remotes]\n",
        &format!("{lines}\n\n[cache.remotes]\n"),
    ) + tables
}

fn cache_cmd(cluster: &Cluster<'_>, args: &[&str]) -> Output {
    let mut all = vec!["--"];
    all.extend_from_slice(args);
    cluster.run("cache.rhai", &all)
}

/// `cache stats --json`, parsed; the test fails unless it is one JSON array on stdout.
fn stats_json(cluster: &Cluster<'_>) -> serde_json::Value {
    let out = cache_cmd(cluster, &["stats", "--json"]);
    out.success();
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("stats --json is not JSON ({e}):\n{}", out.stdout))
}

/// `stats[0][field][kind]` as a number.
fn figure(stats: &serde_json::Value, field: &str, kind: &str) -> u64 {
    stats[0][field][kind].as_u64().unwrap_or(0)
}

on_both_stacks!(
    stats_show_a_pull_that_misses_then_one_that_hits,
    warm_lets_a_fresh_node_pull_with_the_upstream_stopped,
    logs_follow_the_cache_and_tell_misses_from_hits,
);

/// The counters as each release counts: distribution v3 counts its blob misses, so they are
/// read as they are; 2.8 counts none, so brrt reads them from the cache's TTL record and says
/// so in a note.
fn stats_show_a_pull_that_misses_then_one_that_hits(stack: (Containerd, Registry)) {
    let Some(tb) = Testbed::require_stack("insightstats", stack) else {
        return;
    };
    let cluster = docker_hub_cluster(&tb);
    cluster.dev_up().success();
    let fresh = stats_json(&cluster);
    assert_eq!(fresh[0]["upstream"], "docker.io");
    assert_eq!(fresh[0]["counters"], true, "{fresh}");
    assert_eq!(figure(&fresh, "requests", "blobs"), 0, "{fresh}");
    assert!(fresh[0]["since"].is_string(), "{fresh}");
    for field in [
        "upstream",
        "requests",
        "hits",
        "misses",
        "hit_ratio",
        "bytes_from_upstream",
        "bytes_served",
        "since",
    ] {
        assert!(
            fresh[0].get(field).is_some(),
            "no `{field}` in stats --json: {fresh}"
        );
    }

    let node = cluster.control_plane();
    node.must_pull("docker.io/library/hello:1");
    let missed = wait_for(30, "stats to count the first pull's misses", || {
        let s = stats_json(&cluster);
        if figure(&s, "misses", "blobs") == 2 && figure(&s, "misses", "manifests") >= 1 {
            Ok(s)
        } else {
            Err(s.to_string())
        }
    });
    assert_eq!(figure(&missed, "hits", "blobs"), 0, "{missed}");
    assert!(missed[0]["bytes_from_upstream"].as_u64().unwrap() > 0);

    node.must_pull_afresh("docker.io/library/hello:1");
    let hit = wait_for(30, "stats to count the second pull's hits", || {
        let s = stats_json(&cluster);
        if figure(&s, "hits", "blobs") == 2 {
            Ok(s)
        } else {
            Err(s.to_string())
        }
    });
    assert_eq!(figure(&hit, "misses", "blobs"), 2, "{hit}");
    assert_eq!(hit[0]["hit_ratio"]["blobs"].as_f64(), Some(0.5), "{hit}");
    assert!(figure(&hit, "hits", "manifests") >= 1, "{hit}");
    assert!(hit[0]["bytes_served"].as_u64().unwrap() > 0, "{hit}");

    let text = cache_cmd(&cluster, &["stats"]);
    text.success()
        .stdout_contains("docker.io (")
        .stdout_contains("the counters restart with the container")
        .stdout_contains("hit ratio")
        .stdout_contains("50.0%")
        .stdout_contains("served from the cache (saved):");
    match tb.registry() {
        Registry::V2 => {
            assert_eq!(
                hit[0]["note"],
                "blob misses read from the cache's TTL record (distribution 2.8 does not count them)",
                "{hit}"
            );
            text.stdout_contains("note: blob misses read from the cache's TTL record");
        }
        Registry::V3 => {
            assert!(hit[0]["note"].is_null(), "{hit}");
            text.stdout_lacks("note:");
        }
    }
    cache_cmd(&cluster, &["stats", "quay.io"])
        .failure(1)
        .stderr_contains("no cache for upstream \"quay.io\"");
}

const APP_YAML: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      initContainers:
        - {name: migrate, image: "hello:1"}
      containers:
        - {name: web, image: "team/web:2"}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {ports: [{port: 80}]}
"#;

/// On both releases: each blob comes from the upstream once (on 2.8 brrt hangs up and the
/// cache's own fetch stores it; on v3 brrt reads it to its end, which stores it), and a fresh
/// node then pulls everything with the upstream stopped.
fn warm_lets_a_fresh_node_pull_with_the_upstream_stopped(stack: (Containerd, Registry)) {
    let Some(tb) = Testbed::require_stack("insightwarm", stack) else {
        return;
    };
    let cluster = docker_hub_cluster(&tb);
    let upstream = cluster.upstream("docker.io");
    upstream.push("brrt-testbed/hello:2", "team/web:2");
    push_index(upstream.port, "library/multi", "1");
    cluster.project.write(
        "brrt.toml",
        config_with(&cluster, "warm = [\"hello:1\"]", ""),
    );
    cluster.project.write("k8s/app.yaml", APP_YAML);
    cluster
        .project
        .write("images.txt", "# one per line\nmulti:1\n");
    cluster.dev_up().success();

    let warm = cache_cmd(&cluster, &["warm", "k8s", "images.txt"]);
    warm.success()
        .stdout_contains("warm: 3 image(s): 3 warmed")
        .stdout_contains("0 already cached, 0 skipped, 0 failed");
    // Progress goes to stderr (plain lines, not a terminal), data to stdout.
    warm.stderr_contains("warm: docker.io/team/web:2:")
        .stdout_lacks("fetching");
    cache_cmd(&cluster, &["warm", "k8s", "images.txt"])
        .success()
        .stdout_contains("warm: 3 image(s): 0 warmed (0 B), 3 already cached");

    // Six blobs came from the upstream, each once; none was served to a node yet.
    let stats = stats_json(&cluster);
    assert_eq!(stats[0]["warmed"]["blobs"], 6, "{stats}");
    assert_eq!(figure(&stats, "misses", "blobs"), 6, "{stats}");
    assert_eq!(figure(&stats, "hits", "blobs"), 0, "{stats}");
    if tb.registry() == Registry::V3 {
        // The upstream's own log: one GET of each blob of each repository (2.8 starts a
        // second one for the client, which brrt hangs up on).
        let gets = blob_gets(&upstream.container);
        assert_eq!(gets.len(), 6, "{gets:?}");
        assert!(gets.values().all(|n| *n == 1), "{gets:?}");
    }

    upstream.stop();
    // Warming what is cached needs no upstream.
    cache_cmd(&cluster, &["warm", "k8s", "images.txt"])
        .success()
        .stdout_contains("3 already cached");
    let fresh = cluster.add_node("worker", "worker");
    cluster.dev_up().success();
    for (image, text) in [
        ("docker.io/library/hello:1", HELLO_1),
        ("docker.io/team/web:2", HELLO_2),
        ("docker.io/library/multi:1", HELLO_1),
    ] {
        fresh.must_pull(image);
        assert_eq!(fresh.file_in_image(image, "hello.txt"), text, "{image}");
    }
    // Every blob the node pulled was a hit: four, as multi:1's linux/amd64 image is hello:1,
    // whose blobs the node already had.
    let stats = stats_json(&cluster);
    assert_eq!(
        (
            figure(&stats, "hits", "blobs"),
            figure(&stats, "misses", "blobs")
        ),
        (4, 6),
        "{stats}"
    );
}

fn logs_follow_the_cache_and_tell_misses_from_hits(stack: (Containerd, Registry)) {
    let Some(tb) = Testbed::require_stack("insightlogs", stack) else {
        return;
    };
    let cluster = docker_hub_cluster(&tb);
    cluster.dev_up().success();
    let mut logs = Running::new(
        cluster
            .project
            .brrt()
            .arg("run")
            .arg(crate::support::cluster::script("cache.rhai"))
            .args(["--", "logs"])
            .spawn(),
    );
    logs.wait_for("logs to start following", Duration::from_secs(30), |l| {
        l.iter().any(|l| l.contains("following 1 cache(s)"))
    });
    // Following takes no run lock: dev-up on the same config goes ahead meanwhile.
    cluster
        .dev_up()
        .success()
        .stdout_contains("dev-up: nothing changed");
    let node = cluster.control_plane();
    node.must_pull("docker.io/library/hello:1");
    logs.wait_for("a miss", Duration::from_secs(30), |l| {
        l.iter()
            .any(|l| l.starts_with("docker.io  miss  blob") && l.contains("library/hello@sha256:"))
    });
    node.must_pull_afresh("docker.io/library/hello:1");
    logs.wait_for("a hit", Duration::from_secs(30), |l| {
        l.iter()
            .any(|l| l.starts_with("docker.io  hit   blob") && l.contains("served from the cache"))
    });
    assert!(
        logs.lines()
            .iter()
            .any(|l| l.starts_with("docker.io  stored") && l.contains("library/hello@")),
        "{:?}",
        logs.lines()
    );
    assert!(logs.is_running());
    assert_eq!(logs.stop("-INT"), Some(130), "Ctrl-C ends the follow");
}

#[test]
fn a_team_cache_serves_the_nodes_and_no_local_cache_runs() {
    let Some(tb) = Testbed::require("insightshared") else {
        return;
    };
    let cluster = docker_hub_cluster(&tb);
    cluster.dev_up().success();
    let local = cluster.cache("docker.io");
    assert!(container_exists(&local));

    // The team cache: a registry on a network of its own (the team's LAN), serving its API
    // under a path, as Harbor and Zot do, and holding the image.
    let lan = tb.network("lan");
    docker(&["network", "create", &lan]);
    let team = tb.container("teamcache");
    let team_data = tb.volume("teamcache-data");
    let seed = tb.container("teamseed");
    docker(&[
        "run",
        "--detach",
        "--name",
        &seed,
        "--publish",
        "127.0.0.1::5000",
        "--volume",
        &format!("{team_data}:/var/lib/registry"),
        REGISTRY_IMAGE,
    ]);
    let seed_port: u16 = docker(&["port", &seed, "5000/tcp"])
        .lines()
        .find_map(|l| l.strip_prefix("127.0.0.1:"))
        .and_then(|p| p.parse().ok())
        .expect("a published port");
    wait_for(30, "the seed registry", || {
        crate::support::cluster::http_status(seed_port, "/v2/").map(drop)
    });
    crate::support::cluster::push(
        "brrt-testbed/hello:2",
        &format!("127.0.0.1:{seed_port}/library/hello:1"),
    );
    docker(&["rm", "--force", &seed]);
    docker(&[
        "run",
        "--detach",
        "--name",
        &team,
        "--network",
        &lan,
        "--env",
        "REGISTRY_HTTP_PREFIX=/team/",
        "--volume",
        &format!("{team_data}:/var/lib/registry"),
        REGISTRY_IMAGE,
    ]);
    let node = cluster.control_plane();
    docker(&["network", "connect", &lan, &node.name]);

    let endpoint = format!("http://{team}:5000/team/v2");
    cluster.project.write(
        "brrt.toml",
        config_with(
            &cluster,
            "",
            &format!("\n[cache.shared]\n\"docker.io\" = \"{endpoint}\"\n"),
        ),
    );
    let up = cluster
        .project
        .brrt()
        .arg("run")
        .arg(crate::support::cluster::script("dev-up.rhai"))
        .env("BRRT_DOCKER_IO_USERNAME", "team")
        .env("BRRT_DOCKER_IO_PASSWORD", "s3cret-pw")
        .run();
    up.success()
        .stdout_contains(&format!("{local} (docker.io, volume kept)"))
        .stdout_contains("removed")
        .stdout_lacks("s3cret-pw")
        .stderr_lacks("s3cret-pw");
    assert!(!container_exists(&local), "the local cache still runs");
    assert!(volume_exists(&cluster.volume(&local)), "its volume went");
    let hosts = node.mirror("docker.io").expect("a docker.io mirror");
    assert!(hosts.contains(&format!("[host.\"{endpoint}\"]")), "{hosts}");
    assert!(hosts.contains("override_path = true"), "{hosts}");
    // Basic base64("team:s3cret-pw").
    assert!(
        hosts.contains("authorization = \"Basic dGVhbTpzM2NyZXQtcHc=\""),
        "{hosts}"
    );

    // Nothing else can serve it: the upstream stand-in is gone, and the image in the team cache
    // is a different one (hello:2's file) under that name.
    cluster.upstream("docker.io").stop();
    node.must_pull("docker.io/library/hello:1");
    assert_eq!(
        node.file_in_image("docker.io/library/hello:1", "hello.txt"),
        HELLO_2
    );

    cache_cmd(&cluster, &["warm"])
        .failure(1)
        .stderr_contains("nothing to warm");
    cluster.project.write("images.txt", "hello:1\n");
    cache_cmd(&cluster, &["warm", "images.txt"])
        .success()
        .stdout_contains("1 skipped")
        .stdout_contains(&format!("served by the team cache {endpoint}"));
    cache_cmd(&cluster, &["stats"])
        .success()
        .stdout_contains(&format!("docker.io: served by the team cache {endpoint}"));
    cache_cmd(&cluster, &["logs", "docker.io"])
        .failure(1)
        .stderr_contains("served by the team cache");
}

mod warm_when_the_cache_cannot_store {
    use crate::support::Registry;

    #[test]
    fn registry2() {
        super::warm_fails_at_once_when_the_cache_cannot_store_a_blob(Registry::V2);
    }

    #[test]
    fn registry3() {
        super::warm_fails_at_once_when_the_cache_cannot_store_a_blob(Registry::V3);
    }
}

/// A cache whose disk is full cannot store a blob: `cache warm` says so for that image as soon
/// as the cache gives up, instead of waiting (ten minutes, before) for a blob that will not
/// come. distribution v3 drops the blob's download to the client when its storage write fails;
/// 2.8 logs the failure of its own fetch.
fn warm_fails_at_once_when_the_cache_cannot_store_a_blob(registry: Registry) {
    let Some(tb) = Testbed::require_registry("insightfull", registry) else {
        return;
    };
    let mut cluster = Cluster::without_nodes(&tb);
    let upstream = cluster.add_upstream("docker.io");
    let image = random_image(&tb, "big", 4);
    upstream.push(&image, "team/big:1");
    docker(&["image", "rm", &image]);
    cluster.write_config(&DOCKER_HUB);
    // The cache's volume as brrt makes it, on a 1 MiB tmpfs: a full disk for a 4 MiB layer.
    let cache = cluster.cache("docker.io");
    let volume = cluster.volume(&cache);
    managed_tmpfs_volume(&volume, "1m");
    cluster.dev_up().success();
    cluster.project.write("images.txt", "team/big:1\n");

    let out = cache_cmd(&cluster, &["warm", "images.txt"]);
    out.failure(1)
        .stdout_contains("warm: 1 image(s): 0 warmed")
        .stdout_contains("FAILED  docker.io/team/big:1 (images.txt:1): ")
        .stdout_contains("no space left on device");
    match registry {
        Registry::V3 => out
            .stdout_contains(&format!("{cache} abandoned blob sha256:"))
            .stdout_contains("the cache stored none of it"),
        Registry::V2 => out.stdout_contains(&format!("{cache} could not store blob sha256:")),
    };
}

/// An upstream that accepts connections and never answers: the cache waits on it, and `cache
/// warm` gives up on the cache after its 30 s and says it timed out (before, it said the cache
/// "answered" with reqwest's summary of the error).
#[test]
fn warm_says_so_when_the_cache_does_not_answer_in_time() {
    let Some(tb) = Testbed::require("insighthang") else {
        return;
    };
    let cluster = docker_hub_cluster(&tb);
    cluster.dev_up().success();
    let upstream = cluster.upstream("docker.io");
    upstream.stop();
    // Under the upstream's name: a server that takes each connection and says nothing.
    let silent = tb.container("silent");
    docker(&[
        "run",
        "--detach",
        "--name",
        &silent,
        "--network",
        &cluster.network,
        "--network-alias",
        &upstream.container,
        "--entrypoint",
        "/bin/busybox",
        "brrt-testbed/node:latest",
        "nc",
        "-ll",
        "-p",
        "5000",
        "-e",
        "sleep",
        "600",
    ]);
    cluster.project.write("images.txt", "hello:1\n");
    cache_cmd(&cluster, &["warm", "images.txt"])
        .failure(1)
        .stdout_contains(&format!(
            "FAILED  docker.io/library/hello:1 (images.txt:1): timed out: {} did not answer \
             within 30 s for library/hello:1; its upstream docker.io may be slow or hanging",
            cluster.cache("docker.io")
        ));
}

/// A local image `brrt-t-…/<name>:1` of one random layer of `mib` MiB, built here (never
/// pulled); the test removes it once pushed.
fn random_image(tb: &Testbed, name: &str, mib: usize) -> String {
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut data = vec![0u8; mib << 20];
    let mut state = u64::from(std::process::id()) | 1;
    for chunk in data.chunks_mut(8) {
        // xorshift: incompressible, so the layer keeps its size.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let bytes = state.to_le_bytes();
        chunk.copy_from_slice(&bytes[..chunk.len()]);
    }
    std::fs::write(dir.path().join("data"), data).expect("write the layer");
    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM scratch\nCOPY data /data\n",
    )
    .expect("write the Dockerfile");
    let tag = format!("{}/{name}:1", tb.name("img"));
    let out = std::process::Command::new("docker")
        .args(["build", "-q", "-t", &tag])
        .arg(dir.path())
        .env("DOCKER_BUILDKIT", "0")
        .output()
        .expect("docker build");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    tag
}

#[test]
fn warm_says_what_is_wrong_with_each_input_and_goes_on() {
    let Some(tb) = Testbed::require("insightbad") else {
        return;
    };
    let cluster = docker_hub_cluster(&tb);
    cluster.dev_up().success();
    let p = &cluster.project;

    // A manifest that does not parse: file, line and column, before anything is fetched.
    p.write(
        "k8s/bad.yaml",
        "kind: Pod\nspec:\n  containers:\n    - name: a\n      image: [hello:1\n",
    );
    let out = cache_cmd(&cluster, &["warm", "k8s"]);
    out.failure(1)
        .stderr_contains("k8s/bad.yaml:6:1: not valid YAML");
    p.remove("k8s/bad.yaml");
    cache_cmd(&cluster, &["warm", "k8s/none.yaml"])
        .failure(1)
        .stderr_contains("k8s/none.yaml: no such file or folder");

    // A bad reference, an image the upstream lacks, one whose upstream has no cache: each is
    // named, and the good one is warmed all the same.
    p.write(
        "images.txt",
        "hello:1\nHello:1\nlibrary/nothere:1\nquay.io/team/app:1\nhello:1@sha256:abc\n",
    );
    let out = cache_cmd(&cluster, &["warm", "images.txt"]);
    out.failure(1)
        .stdout_contains("warm: 5 image(s): 1 warmed")
        .stdout_contains("1 skipped, 3 failed")
        .stdout_contains(
            "FAILED  Hello:1 (images.txt:2): `Hello:1` is not an image reference: repository \
             names must be lowercase (`Hello`)",
        )
        .stdout_contains(
            "FAILED  docker.io/library/nothere:1 (images.txt:3): docker.io has no \
             library/nothere:1",
        )
        .stdout_contains("skipped quay.io/team/app:1 (images.txt:4): no cache for quay.io")
        .stdout_contains("FAILED  hello:1@sha256:abc (images.txt:5): `hello:1@sha256:abc` is not an image reference: `sha256:abc` is not a digest")
        .stderr_contains("3 image(s) could not be warmed");

    // The upstream goes away: what is cached still counts as warm, the rest fails saying why.
    p.write("images.txt", "hello:1\nlibrary/other:1\n");
    cluster.upstream("docker.io").stop();
    let out = cache_cmd(&cluster, &["warm", "images.txt"]);
    out.failure(1)
        .stdout_contains("1 already cached")
        .stdout_contains("FAILED  docker.io/library/other:1 (images.txt:2): the upstream docker.io cannot be reached from")
        .stdout_contains("no such host");

    // Options.
    cache_cmd(&cluster, &["warm", "images.txt", "--platform", "linux"])
        .failure(1)
        .stderr_contains("`linux` is not a platform");
    cache_cmd(&cluster, &["warm", "images.txt", "--jobs", "many"])
        .failure(1)
        .stderr_contains("--jobs needs a whole number, not \"many\"");
    cache_cmd(&cluster, &["stats", "--jsn"])
        .failure(1)
        .stderr_contains("unknown option --jsn for stats");
}

#[test]
fn bad_warm_and_shared_keys_in_brrt_toml_are_named_before_anything_runs() {
    // No engine needed: the config is checked first.
    let project = Project::new().file(
        "brrt.toml",
        "[cache]\nwarm = [\"hello:1\", \"Bad Ref\"]\n\n[cache.shared]\n\"docker.io\" = \"cache.team.example\"\n",
    );
    let out = project
        .brrt()
        .arg("run")
        .arg(crate::support::cluster::script("cache.rhai"))
        .args(["--", "warm"])
        .run();
    out.failure(1)
        .stderr_contains(
            "brrt.toml:2:20: cache.warm: `Bad Ref` is not an image reference: it contains ' '",
        )
        .stderr_contains(
            "brrt.toml:5:15: cache.shared: the team cache for `docker.io` must be an http:// or \
             https:// URL, not `cache.team.example`",
        );
}

#[test]
fn warm_on_up_warms_an_image_added_to_a_watched_manifest_folder() {
    let Some(tb) = Testbed::require("insightwatch") else {
        return;
    };
    let cluster = docker_hub_cluster(&tb);
    cluster
        .upstream("docker.io")
        .push("brrt-testbed/hello:2", "team/web:2");
    cluster.project.write(
        "brrt.toml",
        config_with(&cluster, "warm_files = [\"k8s\"]\nwarm_on_up = true", ""),
    );
    cluster.project.write(
        "k8s/one.yaml",
        "kind: Pod\nmetadata: {name: one}\nspec: {containers: [{name: a, image: \"hello:1\"}]}\n",
    );
    let mut brrt = Running::new(
        cluster
            .project
            .brrt()
            .arg("run")
            .arg("--watch")
            .arg(crate::support::cluster::script("dev-up.rhai"))
            .spawn(),
    );
    brrt.wait_for("the first warm-up", Duration::from_secs(60), |l| {
        l.iter()
            .any(|l| l.starts_with("warm: 1 image(s): 1 warmed"))
    });
    // A new manifest in the folder: the next apply warms its image.
    cluster.project.write(
        "k8s/two.yaml",
        "kind: Pod\nmetadata: {name: two}\nspec: {containers: [{name: b, image: \"team/web:2\"}]}\n",
    );
    brrt.wait_for("the new image warmed", Duration::from_secs(60), |l| {
        l.iter()
            .any(|l| l.starts_with("warm: 2 image(s): 1 warmed") && l.contains("1 already cached"))
    });
    cluster.wait_until_cached("docker.io", "docker.io/team/web:2");
    assert_eq!(brrt.stop("-TERM"), Some(0));
}

/// Pushes an image index `repo:tag` into a registry: linux/amd64 is hello:1, linux/arm64 is
/// hello:2 (each pushed first as `repo:amd64` and `repo:arm64`).
fn push_index(port: u16, repo: &str, tag: &str) {
    const LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
    const IMAGE: &str = "application/vnd.docker.distribution.manifest.v2+json";
    let mut entries = Vec::new();
    for (arch, image) in [
        ("amd64", "brrt-testbed/hello:1"),
        ("arm64", "brrt-testbed/hello:2"),
    ] {
        crate::support::cluster::push(image, &format!("127.0.0.1:{port}/{repo}:{arch}"));
        let (status, headers, _) = http(
            port,
            "HEAD",
            &format!("/v2/{repo}/manifests/{arch}"),
            &[("Accept", IMAGE)],
            b"",
        );
        assert_eq!(status, 200, "{headers}");
        let header = |name: &str| {
            headers
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
                })
                .unwrap_or_else(|| panic!("no {name} in {headers}"))
        };
        entries.push(format!(
            r#"{{"mediaType":"{IMAGE}","size":{},"digest":"{}","platform":{{"architecture":"{arch}","os":"linux"}}}}"#,
            header("content-length"),
            header("docker-content-digest")
        ));
    }
    let body = format!(
        r#"{{"schemaVersion":2,"mediaType":"{LIST}","manifests":[{}]}}"#,
        entries.join(",")
    );
    let (status, headers, text) = http(
        port,
        "PUT",
        &format!("/v2/{repo}/manifests/{tag}"),
        &[("Content-Type", LIST)],
        body.as_bytes(),
    );
    assert_eq!(status, 201, "{headers}\n{text}");
}

/// How often a registry served each blob whole to a `GET` (`repo/blobs/digest` → count), from
/// its log.
fn blob_gets(container: &str) -> BTreeMap<String, usize> {
    let out = std::process::Command::new("docker")
        .args(["logs", container])
        .output()
        .expect("docker logs");
    let log =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    let mut gets = BTreeMap::new();
    for line in log.lines() {
        if !(line.contains("msg=\"response completed\"")
            && line.contains("http.request.method=GET")
            && line.contains("http.response.status=200"))
        {
            continue;
        }
        let uri = line
            .split_whitespace()
            .find_map(|f| f.strip_prefix("http.request.uri=\"/v2/"))
            .filter(|u| u.contains("/blobs/"));
        if let Some(blob) = uri {
            *gets
                .entry(blob.trim_end_matches('"').to_string())
                .or_insert(0) += 1;
        }
    }
    gets
}

/// One HTTP/1.0 request to 127.0.0.1:port: status, headers, body.
fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("the registry answers");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut request = format!("{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    s.write_all(request.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut response = Vec::new();
    let _ = s.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .get(9..12)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("not HTTP: {head}"));
    (status, head.to_string(), rest.to_string())
}

#[test]
fn a_cache_serving_offline_has_no_counters_and_says_why() {
    let Some(tb) = Testbed::require("insightoffline") else {
        return;
    };
    let cluster = docker_hub_cluster(&tb);
    cluster
        .project
        .write("brrt.toml", config_with(&cluster, "offline = true", ""));
    cluster.dev_up().success();
    let stats = stats_json(&cluster);
    assert_eq!(stats[0]["counters"], false, "{stats}");
    assert!(stats[0]["requests"].is_null(), "{stats}");
    cache_cmd(&cluster, &["stats"])
        .success()
        .stdout_contains("no counters:")
        .stdout_contains("serves offline (a plain registry)");
}
