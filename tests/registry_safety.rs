//! Issue 7, items 4 and 7–11, 14: dev-up never loses a working cache, never leaves half a
//! change behind, keeps secrets out of labels, deletes only what it made, and `--dry-run`
//! changes nothing. Real engine, real registry, real containerd.

use crate::support::cluster::{
    container_id, docker_hub_cluster, http_status, script, volume_exists, wait_for, CacheConfig,
    Cluster, DOCKER_HUB,
};
use crate::support::{docker, try_docker, Testbed};
use std::net::TcpListener;
use std::time::Duration;

const NO_CACHE: CacheConfig<'static> = CacheConfig {
    enabled: false,
    upstreams: &["docker.io"],
};

/// The loopback port a registry container publishes for its API.
fn api_port(container: &str) -> u16 {
    let addr = docker(&["port", container, "5000/tcp"]);
    addr.lines()
        .next()
        .and_then(|l| l.rsplit(':').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("{container} publishes no API port: {addr}"))
}

fn label(container: &str, key: &str) -> String {
    docker(&[
        "inspect",
        "-f",
        &format!("{{{{index .Config.Labels {key:?}}}}}"),
        container,
    ])
}

/// Item 8: a cache switched on again while its upstream is unreachable used to crash-loop while
/// dev-up said `created`, and the node lost an image it had cached. Now the cache serves its
/// volume, says why, and becomes a proxy again once the upstream is back.
#[test]
fn a_cache_started_while_its_upstream_is_down_serves_what_it_holds() {
    let Some(tb) = Testbed::require("safety_upstream_down") else {
        return;
    };
    let cluster = docker_hub_cluster(&tb);
    let cache = cluster.cache("docker.io");
    let node = cluster.up_with_hello_pulled();
    cluster.wait_until_cached("docker.io", "docker.io/library/hello:1");

    cluster.upstream("docker.io").stop();
    cluster.write_config(&NO_CACHE);
    cluster.dev_up().success().stdout_contains("volume kept");
    cluster.write_config(&DOCKER_HUB);
    cluster
        .dev_up()
        .success()
        .stdout_contains("docker.io, offline (upstream unreachable): serving what it holds");
    assert_eq!(label(&cache, "dev.brrt.cache.mode"), "offline-auto");

    node.must_pull_afresh("docker.io/library/hello:1");

    // The upstream is back: the next run puts the proxy back, on the same volume.
    cluster.upstream("docker.io").start();
    cluster
        .dev_up()
        .success()
        .stdout_lacks("offline")
        .stdout_contains(&format!("{cache} (docker.io)"));
    assert_eq!(label(&cache, "dev.brrt.cache.mode"), "proxy");
    node.must_pull_afresh("docker.io/library/hello:1");
}

/// Item 8, under `--watch`: nobody saves anything, yet the cache goes back to proxying once
/// its upstream answers, because the watch loop looks again on a timer.
#[test]
fn watch_puts_the_proxy_back_when_the_upstream_returns() {
    let Some(tb) = Testbed::require("safety_watch_upstream_back") else {
        return;
    };
    let cluster = docker_hub_cluster(&tb);
    let cache = cluster.cache("docker.io");
    cluster.upstream("docker.io").stop();
    let mut watching = cluster.watch_dev_up();
    watching.wait_for("the first apply", Duration::from_secs(60), |l| {
        l.iter()
            .any(|l| l.contains("offline (upstream unreachable)"))
            && l.iter().any(|l| l.contains("start → applied"))
    });
    cluster.upstream("docker.io").start();
    watching.wait_for("a re-check of the upstream", Duration::from_secs(60), |l| {
        l.iter()
            .any(|l| l.contains(&format!("checking the upstream of {cache} again → applied")))
    });
    wait_for(30, "the cache to proxy again", || {
        match label(&cache, "dev.brrt.cache.mode").as_str() {
            "proxy" => Ok(()),
            other => Err(other.to_string()),
        }
    });
    assert_eq!(watching.stop("-TERM"), Some(0));
}

/// Item 9: with an image that cannot be pulled, the working cache used to be removed first.
/// Now the pull fails before anything changes.
#[test]
fn a_cache_image_that_cannot_be_pulled_changes_nothing() {
    let Some(tb) = Testbed::require("safety_bad_image") else {
        return;
    };
    let cluster = docker_hub_cluster(&tb);
    let cache = cluster.cache("docker.io");
    cluster.dev_up().success();
    let before = container_id(&cache);
    let config = cluster
        .config(&DOCKER_HUB)
        .replace("[cache]\n", "[cache]\nimage = \"brrt-t-no/such:image\"\n");
    cluster.project.write("brrt.toml", &config);
    cluster
        .dev_up()
        .failure(1)
        .stderr_contains("image brrt-t-no/such:image is not on this engine and cannot be pulled");
    assert_eq!(
        container_id(&cache),
        before,
        "the working cache was replaced"
    );
    assert_eq!(http_status(api_port(&cache), "/v2/"), Ok(200));
}

/// Item 9: a replacement that does not start gives the old container back, serving.
#[test]
fn a_replacement_that_does_not_start_puts_the_old_cache_back() {
    let Some(tb) = Testbed::require("safety_bad_replacement") else {
        return;
    };
    let cluster = docker_hub_cluster(&tb);
    let cache = cluster.cache("docker.io");
    let node = cluster.up_with_hello_pulled();
    let before = container_id(&cache);
    // An image that is here but is no registry: it has nothing to run.
    let config = cluster
        .config(&DOCKER_HUB)
        .replace("[cache]\n", "[cache]\nimage = \"brrt-testbed/hello:1\"\n");
    cluster.project.write("brrt.toml", &config);
    cluster
        .dev_up()
        .failure(1)
        .stderr_contains(&format!("{cache} did not start"))
        .stderr_contains("the previous container is back and serving");
    assert_eq!(container_id(&cache), before);
    assert_eq!(http_status(api_port(&cache), "/v2/"), Ok(200));
    assert_eq!(try_docker(&["inspect", &format!("{cache}-brrt-old")]), None);
    node.must_pull_afresh("docker.io/library/hello:1");
}

/// Item 4: a port conflict found on create used to leave the new volume behind.
#[test]
fn a_taken_port_leaves_nothing_behind() {
    let Some(tb) = Testbed::require("safety_taken_port") else {
        return;
    };
    let cluster = Cluster::new(&tb);
    cluster.write_config(&NO_CACHE);
    let _held = TcpListener::bind(("127.0.0.1", cluster.port)).expect("hold the port");
    cluster.dev_up().failure(1).stderr_contains(&format!(
        "port {} on 127.0.0.1 is already in use",
        cluster.port
    ));
    assert!(!volume_exists(&cluster.volume(&cluster.registry)));
    assert_eq!(try_docker(&["inspect", &cluster.registry]), None);
}

/// Item 7: the spec-hash label covered the credentials (with FNV). Now only their names go into
/// it; a changed password still re-creates the cache, and reaches it.
#[test]
fn credentials_stay_out_of_labels_and_a_new_password_still_applies() {
    let Some(tb) = Testbed::require("safety_secret_label") else {
        return;
    };
    let cluster = docker_hub_cluster(&tb);
    let cache = cluster.cache("docker.io");
    let dev_up = |password: &str| {
        cluster
            .project
            .brrt()
            .env("BRRT_DOCKER_IO_USERNAME", "robot")
            .env("BRRT_DOCKER_IO_PASSWORD", password)
            .arg("run")
            .arg(script("dev-up.rhai"))
            .run()
    };
    dev_up("first-secret").success();
    let hash = label(&cache, "dev.brrt.spec-hash");
    let labels = docker(&["inspect", "-f", "{{json .Config.Labels}}", &cache]);
    assert!(!labels.contains("first-secret"), "{labels}");

    dev_up("second-secret")
        .success()
        .stdout_contains(&format!("{cache} (docker.io)"))
        .stdout_contains("recreated");
    assert_eq!(
        label(&cache, "dev.brrt.spec-hash"),
        hash,
        "the label follows the password"
    );
    let env = docker(&["inspect", "-f", "{{json .Config.Env}}", &cache]);
    assert!(
        env.contains("REGISTRY_PROXY_PASSWORD=second-secret"),
        "{env}"
    );
    dev_up("second-secret")
        .success()
        .stdout_contains("nothing changed");
}

/// Item 11: purge deleted a hand-made volume that only matched brrt's name pattern.
#[test]
fn purge_deletes_only_the_volumes_brrt_made() {
    let Some(tb) = Testbed::require("safety_purge_labels") else {
        return;
    };
    let cluster = docker_hub_cluster(&tb);
    cluster.dev_up().success();
    // A volume of the user's that looks like the volume of a quay.io cache.
    let mine = tb.volume("cache-quay-io-data");
    assert_eq!(mine, format!("{}-quay-io-data", cluster.cache_set()));
    docker(&["volume", "create", &mine]);
    let theirs = [
        cluster.volume(&cluster.registry),
        cluster.volume(&cluster.cache("docker.io")),
    ];
    cluster
        .run("dev-down.rhai", &["--set", "purge=true"])
        .success();
    for v in &theirs {
        assert!(!volume_exists(v), "{v} should be gone");
    }
    assert!(
        volume_exists(&mine),
        "a volume brrt did not make was deleted"
    );
}

/// Item 14: under `--dry-run`, docker::exec and containerd::verify_pull ran for real.
#[test]
fn dry_run_runs_no_command_and_pulls_nothing() {
    let Some(tb) = Testbed::require("safety_dry_exec") else {
        return;
    };
    let cluster = docker_hub_cluster(&tb);
    cluster.dev_up().success();
    let node = cluster.control_plane();
    cluster.project.write(
        "poke.rhai",
        format!(
            "let r = docker::exec({:?}, [\"touch\", \"/tmp/poked\"]);\nprint(`exec dry_run=${{r.dry_run}}`);\n\
             let p = containerd::verify_pull({:?}, \"docker.io/library/hello:1\");\nprint(`pull dry_run=${{p.dry_run}}`);\n",
            node.name, node.name
        ),
    );
    cluster
        .project
        .brrt()
        .args(["run", "--dry-run", "poke.rhai"])
        .run()
        .success()
        .stdout_contains("exec dry_run=true")
        .stdout_contains("pull dry_run=true")
        .stderr_contains(&format!(
            "would update container {} by running `touch /tmp/poked`",
            node.name
        ))
        .stderr_contains("by pulling docker.io/library/hello:1");
    assert!(
        node.exec(&["test", "-e", "/tmp/poked"]).is_err(),
        "exec ran"
    );
    assert!(
        !node
            .exec(&["ctr", "-n", "k8s.io", "images", "ls", "-q"])
            .unwrap_or_default()
            .contains("hello"),
        "the pull ran"
    );
}

/// Item 10: `brrt -vv run dev-up 2>&1 | head -2` exited 101 with the push registry made and no
/// caches. Output that cannot be written never stops a run halfway.
#[test]
fn a_closed_pipe_never_stops_a_run_halfway() {
    let Some(tb) = Testbed::require("safety_closed_pipe") else {
        return;
    };
    let cluster = docker_hub_cluster(&tb);
    let cache = cluster.cache("docker.io");
    let shell = format!(
        "{:?} -vv run {:?} 2>&1 | head -2 >/dev/null; echo \"brrt exit ${{PIPESTATUS[0]}}\"",
        crate::support::BRRT,
        script("dev-up.rhai").display().to_string()
    );
    let out = std::process::Command::new("bash")
        .args(["-c", &shell])
        .current_dir(cluster.project.path())
        .output()
        .expect("bash runs");
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(said.trim(), "brrt exit 0");
    assert_eq!(
        http_status(api_port(&cache), "/v2/"),
        Ok(200),
        "the cache was not made"
    );
    assert_eq!(http_status(cluster.port, "/v2/"), Ok(200));
}
