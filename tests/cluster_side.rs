//! Issue 8 and 17, the cluster side: the kube client, the KEP-1755 announcement, and the kind
//! lifecycle, through the real binary and the repository's flows.
//!
//! The API server is the real one (`support::kube_apiserver`: kube-apiserver v1.36.2 and etcd,
//! one per test), so server-side apply, managedFields and validation are the server's own. No
//! kind CLI or kindest/node image can run on these machines: `tests/standins/bin/kind` (named as
//! a stand-in) makes kind's Docker-side effects (node containers with kind's labels running real
//! containerd, a kubeconfig context `kind-<name>`, nodes registered with the real API server). The
//! stand-in API server (`support::apiserver`) is used only where the real one cannot be made to
//! misbehave: a server that accepts a connection and never answers. The Docker engine, the
//! registries and containerd in the nodes are real.

use crate::support::apiserver::ApiServer;
use crate::support::cluster::{
    container_exists, container_id, free_port, push, row, script, wait_for, CacheConfig, Cluster,
    HELLO_1, NO_CACHES,
};
use crate::support::kube_apiserver::KubeApiServer;
use crate::support::{docker, Brrt, Output, Project, Running, Testbed};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

const HOSTING_KEY: &str = "localRegistryHosting.v1";
const HOSTING_PATH: &str = "/api/v1/namespaces/kube-public/configmaps/local-registry-hosting";

/// The folder with the `kind` stand-in, put first on PATH for brrt only.
fn standins_bin() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/standins/bin")
}

/// A test's cluster side: a real API server of its own, the kubeconfig brrt reads, and the
/// environment that points brrt (and the `kind` stand-in it runs) at both.
struct ClusterSide {
    api: KubeApiServer,
    kubeconfig: PathBuf,
    kind_state: PathBuf,
}

impl ClusterSide {
    /// A real API server, and a kubeconfig that does not exist yet: the `kind` stand-in writes
    /// the cluster's context into it when it creates the cluster.
    fn new(test: &str, project: &Project) -> Option<Self> {
        Some(ClusterSide {
            api: KubeApiServer::require(test, "brrt-tests-admin")?,
            kubeconfig: project.path().join("kubeconfig"),
            kind_state: project.path().join("kind-state"),
        })
    }

    /// A real API server whose kubeconfig has the context kind writes for `cluster`, as if
    /// kind had made the cluster.
    fn kind_made(test: &str, project: &Project, cluster: &str) -> Option<Self> {
        let api = KubeApiServer::require(test, &format!("kind-{cluster}"))?;
        Some(ClusterSide {
            kubeconfig: api.kubeconfig().to_path_buf(),
            api,
            kind_state: project.path().join("kind-state"),
        })
    }

    fn env(&self, brrt: Brrt) -> Brrt {
        let path = format!(
            "{}:{}",
            standins_bin().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        brrt.env("PATH", path)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("BRRT_STANDIN_APISERVER", self.api.url())
            .env("BRRT_STANDIN_APISERVER_CA", self.api.ca())
            .env("BRRT_STANDIN_APISERVER_TOKEN", self.api.token())
            .env("BRRT_STANDIN_KIND_STATE", &self.kind_state)
    }

    fn run(&self, cluster: &Cluster<'_>, flow: &str, extra: &[&str]) -> Output {
        self.env(cluster.project.brrt())
            .arg("run")
            .arg(script(flow))
            .args(extra)
            .run()
    }

    /// The announcement's ConfigMap as the server holds it.
    fn hosting(&self) -> Option<Value> {
        self.api.get(HOSTING_PATH)
    }

    /// What the cluster announces, parsed, or `None`.
    fn announcement(&self) -> Option<Value> {
        let cm = self.hosting()?;
        let yaml = cm["data"][HOSTING_KEY].as_str()?.to_string();
        Some(yaml_serde::from_str(&yaml).expect("the announcement is YAML"))
    }
}

/// The field managers of an object, and how each wrote it: `["brrt Apply", …]`.
fn managers(object: &Value) -> Vec<String> {
    object["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            format!(
                "{} {}",
                m["manager"].as_str().unwrap_or_default(),
                m["operation"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

/// What kind's `kind-with-registry.sh` applies with `kubectl apply -f -` (client-side apply:
/// field manager `kubectl-client-side-apply`, and kubectl's last-applied annotation).
const KIND_SCRIPT_YAML: &str =
    "host: \"localhost:5001\"\nhelp: \"https://kind.sigs.k8s.io/docs/user/local-registry/\"\n";

fn kind_script_announces(api: &KubeApiServer) -> Value {
    let mut object = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "local-registry-hosting", "namespace": "kube-public"},
        "data": {HOSTING_KEY: KIND_SCRIPT_YAML}
    });
    let last_applied = object.to_string();
    object["metadata"]["annotations"] =
        json!({"kubectl.kubernetes.io/last-applied-configuration": last_applied});
    api.create(
        "/api/v1/namespaces/kube-public/configmaps",
        &object,
        "kubectl-client-side-apply",
    )
}

/// brrt.toml for `cluster` with `[cluster]` keys added.
fn config_with(cluster: &Cluster<'_>, cache: &CacheConfig<'_>, cluster_keys: &str) -> String {
    cluster
        .config(cache)
        .replacen("[cluster]\n", &format!("[cluster]\n{cluster_keys}"), 1)
}

#[test]
fn dev_up_from_nothing_creates_the_cluster_wires_it_and_announces_the_registry() {
    let Some(tb) = Testbed::require("clusterup") else {
        return;
    };
    let mut cluster = Cluster::without_nodes(&tb);
    cluster
        .add_upstream("docker.io")
        .push("brrt-testbed/hello:1", "library/hello:1");
    let worker = tb.container("kind-worker");
    let Some(side) = ClusterSide::new(
        "dev_up_from_nothing_creates_the_cluster_wires_it_and_announces_the_registry",
        &cluster.project,
    ) else {
        return;
    };
    let image = tb.containerd().node_image();
    let docker_hub = CacheConfig {
        enabled: true,
        upstreams: &["docker.io"],
    };
    cluster.project.write(
        "brrt.toml",
        config_with(
            &cluster,
            &docker_hub,
            &format!("create = true\nworkers = 1\nnode_image = {image:?}\n"),
        ),
    );
    assert!(!container_exists(&cluster.control_plane().name));

    let out = side.run(&cluster, "dev-up.rhai", &[]);
    out.success();
    assert_eq!(row(&out, "kind cluster", &cluster.name), "created");
    assert_eq!(
        row(&out, "announcement", "local-registry-hosting"),
        "created"
    );
    // kind's nodes registered NotReady with the API server; dev-up waited for them, and said
    // so.
    out.stderr_contains("waiting for the nodes")
        .stderr_contains("nodes ready:")
        .stderr_lacks("warning");

    // The config kind got: one control plane and one worker, on the node image asked for.
    let given: Value = yaml_serde::from_str(
        &std::fs::read_to_string(side.kind_state.join(format!("{}.yaml", cluster.name)))
            .expect("the kind stand-in kept the config it was given"),
    )
    .unwrap();
    assert_eq!(given["apiVersion"], "kind.x-k8s.io/v1alpha4");
    assert_eq!(given["nodes"][0]["role"], "control-plane");
    assert_eq!(given["nodes"][1]["role"], "worker");
    assert_eq!(given["nodes"][1]["image"], image);

    // Both nodes are wired, and pull through the cache.
    let control_plane = cluster.control_plane();
    for node in [&control_plane.name, &worker] {
        assert_eq!(row(&out, "node mirrors", node), "updated");
    }
    control_plane.must_pull("docker.io/library/hello:1");

    // The announcement: all four KEP-1755 fields, written by brrt with server-side apply, as
    // the real API server records it.
    let announced = side.announcement().expect("the ConfigMap was applied");
    assert_eq!(announced["host"], format!("localhost:{}", cluster.port));
    assert_eq!(
        announced["hostFromContainerRuntime"],
        format!("localhost:{}", cluster.port)
    );
    assert_eq!(
        announced["hostFromClusterNetwork"],
        format!("{}:5000", cluster.registry)
    );
    assert_eq!(
        announced["help"],
        "https://kind.sigs.k8s.io/docs/user/local-registry/"
    );
    let cm = side.hosting().unwrap();
    assert_eq!(managers(&cm), ["brrt Apply"]);

    // A second run changes nothing: the server's object is the same version.
    let ids = [container_id(&control_plane.name), container_id(&worker)];
    let again = side.run(&cluster, "dev-up.rhai", &[]);
    again
        .success()
        .stdout_contains("dev-up: nothing changed")
        .stderr_lacks("waiting for the nodes");
    assert_eq!(row(&again, "kind cluster", &cluster.name), "unchanged");
    assert_eq!(
        row(&again, "announcement", "local-registry-hosting"),
        "unchanged"
    );
    assert_eq!(
        side.hosting().unwrap()["metadata"],
        cm["metadata"],
        "the second run wrote the announcement"
    );
    assert_eq!(
        [container_id(&control_plane.name), container_id(&worker)],
        ids,
        "a node was re-created"
    );

    side.run(&cluster, "doctor.rhai", &[])
        .success()
        .stdout_contains(&format!(
            "announcement: Tilt pushes to localhost:{} (kube-public/local-registry-hosting)",
            cluster.port
        ));

    // A local build goes into the nodes with kind's image loading; twice is a no-op.
    cluster.project.write(
        "load.rhai",
        "print(`first=${kind::load_image(SET.name, \"brrt-testbed/hello:2\")}`);\n\
         print(`second=${kind::load_image(SET.name, \"brrt-testbed/hello:2\")}`);\n",
    );
    let loaded = side
        .env(cluster.project.brrt())
        .args(["run", "load.rhai", "--set"])
        .arg(format!("name={}", cluster.name))
        .run();
    loaded.success();
    assert_eq!(loaded.printed("first"), "updated");
    assert_eq!(loaded.printed("second"), "unchanged");
    assert_eq!(
        control_plane.file_in_image("docker.io/brrt-testbed/hello:2", "hello.txt"),
        "hello from brrt-testbed hello:2"
    );

    // dev-down takes the announcement away; with cluster=true the cluster goes too.
    let down = side.run(&cluster, "dev-down.rhai", &["--set", "cluster=true"]);
    down.success();
    assert_eq!(
        row(&down, "announcement", "local-registry-hosting"),
        "removed"
    );
    assert_eq!(row(&down, "kind cluster", &cluster.name), "removed");
    assert!(side.announcement().is_none());
    for node in [&control_plane.name, &worker] {
        assert!(!container_exists(node), "{node} is still there");
    }
    let kubeconfig = std::fs::read_to_string(&side.kubeconfig).unwrap();
    assert!(
        !kubeconfig.contains(&format!("kind-{}", cluster.name)),
        "{kubeconfig}"
    );
}

#[test]
fn a_port_change_under_watch_updates_the_announcement() {
    let Some(tb) = Testbed::require("announce_watch") else {
        return;
    };
    let mut cluster = Cluster::new(&tb);
    let Some(side) = ClusterSide::kind_made(
        "a_port_change_under_watch_updates_the_announcement",
        &cluster.project,
        &cluster.name,
    ) else {
        return;
    };
    cluster.write_config(&NO_CACHES);
    let first = cluster.port;

    let mut watch = Running::new(
        side.env(cluster.project.brrt())
            .args(["run", "--watch"])
            .arg(script("dev-up.rhai"))
            .spawn(),
    );
    watch.wait_for_applies(1);
    let host = |side: &ClusterSide| side.announcement().map(|a| a["host"].clone());
    assert_eq!(host(&side), Some(format!("localhost:{first}").into()));

    cluster.port = free_port();
    cluster.write_config(&NO_CACHES);
    let second = format!("localhost:{}", cluster.port);
    wait_for(
        30,
        "the announcement to follow the new port",
        || match host(&side) {
            Some(h) if h == second.as_str() => Ok(()),
            other => Err(format!("{other:?}\n{}", watch.lines().join("\n"))),
        },
    );
    watch.wait_for_applies(2);
    let applied = watch.applies();
    assert!(
        applied[1].contains("ConfigMap kube-public/local-registry-hosting"),
        "{applied:?}"
    );
    // The node follows too: its mirror for the new port is there.
    assert!(cluster.control_plane().mirror(&second).is_some());
    assert_eq!(watch.stop("-TERM"), Some(0));
}

#[test]
fn every_announced_host_pulls_from_where_it_is_announced_for() {
    let Some(tb) = Testbed::require("announce_pulls") else {
        return;
    };
    let cluster = Cluster::new(&tb);
    let worker = cluster.add_node("worker", "worker");
    let Some(side) = ClusterSide::kind_made(
        "every_announced_host_pulls_from_where_it_is_announced_for",
        &cluster.project,
        &cluster.name,
    ) else {
        return;
    };
    cluster.write_config(&NO_CACHES);
    side.run(&cluster, "dev-up.rhai", &[]).success();
    let announced = side.announcement().expect("dev-up announced the registry");
    let field = |key: &str| announced[key].as_str().unwrap().to_string();

    // `host`, from this machine: where docker push (and Tilt) push.
    let image = |host: &str| format!("{host}/team/app:1");
    push("brrt-testbed/hello:1", &image(&field("host")));

    // `hostFromContainerRuntime`, from every node's containerd: the name Tilt writes into the
    // pods it deploys, so the one each kubelet pulls.
    for node in [cluster.control_plane(), worker] {
        let reference = image(&field("hostFromContainerRuntime"));
        node.must_pull(&reference);
        assert_eq!(node.file_in_image(&reference, "hello.txt"), HELLO_1);
    }

    // `hostFromClusterNetwork`, from a container on the cluster network (as a pod reaches it).
    let probe = tb.container("netprobe");
    let tags = docker(&[
        "run",
        "--rm",
        "--name",
        &probe,
        "--network",
        &cluster.network,
        "--entrypoint",
        "wget",
        tb.containerd().node_image(),
        "-q",
        "-O-",
        &format!(
            "http://{}/v2/team/app/tags/list",
            field("hostFromClusterNetwork")
        ),
    ]);
    assert_eq!(
        serde_json::from_str::<Value>(&tags).unwrap()["tags"],
        json!(["1"])
    );

    // A team's own page replaces kind's as `help`.
    cluster.project.write(
        "brrt.toml",
        format!(
            "{}\n[team]\nregistry_help = \"https://wiki.example.com/dev-loop\"\n",
            cluster.config(&NO_CACHES)
        ),
    );
    let out = side.run(&cluster, "dev-up.rhai", &[]);
    out.success();
    assert_eq!(
        row(&out, "announcement", "local-registry-hosting"),
        "updated"
    );
    assert_eq!(
        side.announcement().unwrap()["help"],
        "https://wiki.example.com/dev-loop"
    );
}

#[test]
fn with_the_api_server_stopped_dev_up_warns_once_and_applies_the_rest() {
    let Some(tb) = Testbed::require("announce_down") else {
        return;
    };
    let mut cluster = Cluster::new(&tb);
    let Some(mut side) = ClusterSide::kind_made(
        "with_the_api_server_stopped_dev_up_warns_once_and_applies_the_rest",
        &cluster.project,
        &cluster.name,
    ) else {
        return;
    };
    cluster.write_config(&NO_CACHES);
    let out = side.run(&cluster, "dev-up.rhai", &[]);
    out.success();
    assert_eq!(
        row(&out, "announcement", "local-registry-hosting"),
        "created"
    );

    // The cluster's API server goes away in the middle of the session; the push registry
    // moves to another port.
    let url = side.api.url().to_string();
    side.api.stop();
    cluster.port = free_port();
    cluster.write_config(&NO_CACHES);
    let out = side.run(&cluster, "dev-up.rhai", &[]);
    out.success();
    let warnings: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("warning"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", out.stderr);
    assert!(
        warnings[0].contains(&format!(
            "no Kubernetes API server answers for context `kind-{}` at {url}: connection refused",
            cluster.name
        )),
        "{}",
        warnings[0]
    );
    assert!(warnings[0].contains("the registries and mirrors are applied"));
    // Everything else was done: the push registry on its new port, and the node's mirror.
    assert_eq!(
        row(
            &out,
            "push registry",
            &format!("localhost:{}", cluster.port)
        ),
        "recreated"
    );
    let node = cluster.control_plane();
    assert!(node
        .mirror(&format!("localhost:{}", cluster.port))
        .is_some());
    out.stdout_lacks("announcement");

    // doctor says the same, as a warning.
    side.run(&cluster, "doctor.rhai", &[])
        .stdout_contains("warn  no Kubernetes API server answers for context");
}

#[test]
fn an_api_server_that_accepts_and_never_answers_costs_dev_up_one_warning() {
    let Some(tb) = Testbed::require("announce_hang") else {
        return;
    };
    let cluster = Cluster::new(&tb);
    cluster.write_config(&NO_CACHES);
    // The real server cannot be made to hang: the stand-in accepts and never answers.
    let hanging = ApiServer::hanging();
    let kubeconfig = cluster.project.path().join("kubeconfig");
    hanging.write_kubeconfig(&kubeconfig, &format!("kind-{}", cluster.name));

    let started = std::time::Instant::now();
    let out = cluster
        .project
        .brrt()
        .env("KUBECONFIG", &kubeconfig)
        .arg("run")
        .arg(script("dev-up.rhai"))
        .run();
    let took = started.elapsed();
    out.success()
        .stderr_lacks("error:")
        .stderr_lacks("connection refused");
    let warnings: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(
        warnings,
        [format!(
            "warning: no Kubernetes API server answers for context `kind-{}` at {}: it accepted \
             the connection but sent no answer within 5s; the registries and mirrors are \
             applied, but the push registry is not announced to Tilt until dev-up runs with the \
             API server up",
            cluster.name,
            hanging.url()
        )],
        "{}",
        out.stderr
    );
    assert!(hanging.connections() >= 1, "brrt never asked the server");
    // The rest was done: the node pulls from the push registry through its mirror.
    assert!(cluster
        .control_plane()
        .mirror(&format!("localhost:{}", cluster.port))
        .is_some());
    // Not a speed target: one request's read timeout is 30 s, and dev-up must not wait for it.
    assert!(
        took < std::time::Duration::from_secs(30),
        "dev-up took {took:?} against a server that never answers"
    );
}

#[test]
fn under_watch_a_cluster_that_does_not_answer_is_said_once_and_again_when_that_changes() {
    let Some(tb) = Testbed::require("announce_once") else {
        return;
    };
    let cluster = Cluster::new(&tb);
    let config = cluster.config(&NO_CACHES);
    cluster.project.write("brrt.toml", &config);
    // A kubeconfig without the cluster's context: kind has not written it (yet).
    let hanging = ApiServer::hanging();
    let kubeconfig = cluster.project.path().join("kubeconfig");
    hanging.write_kubeconfig(&kubeconfig, "some-other-cluster");

    let mut watch = Running::new(
        cluster
            .project
            .brrt()
            .env("KUBECONFIG", &kubeconfig)
            .args(["run", "--watch"])
            .arg(script("dev-up.rhai"))
            .spawn(),
    );
    watch.wait_for_applies(1);
    let said = |watch: &Running, words: &str| {
        watch
            .lines()
            .iter()
            .filter(|l| l.starts_with("warning:") && l.contains(words))
            .count()
    };
    let missing = format!("no context `kind-{}` in the kubeconfig", cluster.name);
    let mut runs = 1;
    let mut save = |watch: &mut Running| {
        runs += 1;
        cluster
            .project
            .write("brrt.toml", format!("{config}# save {runs}\n"));
        watch.wait_for_applies(runs);
    };
    for _ in 0..20 {
        save(&mut watch);
    }
    assert_eq!(said(&watch, &missing), 1, "{}", watch.lines().join("\n"));

    // The context appears, for an API server that accepts and never answers: that is news.
    hanging.write_kubeconfig(&kubeconfig, &format!("kind-{}", cluster.name));
    let silent = "it accepted the connection but sent no answer within 5s";
    for _ in 0..3 {
        save(&mut watch);
    }
    assert_eq!(said(&watch, silent), 1, "{}", watch.lines().join("\n"));
    // And back to no context: said again, once.
    hanging.write_kubeconfig(&kubeconfig, "some-other-cluster");
    for _ in 0..3 {
        save(&mut watch);
    }
    assert_eq!(said(&watch, &missing), 2, "{}", watch.lines().join("\n"));
    assert_eq!(said(&watch, silent), 1, "{}", watch.lines().join("\n"));
    assert_eq!(watch.stop("-TERM"), Some(0));
}

#[test]
fn an_announcement_another_tool_wrote_is_kept_by_dev_up_and_put_back_by_dev_down() {
    let Some(tb) = Testbed::require("announce_foreign") else {
        return;
    };
    let cluster = Cluster::new(&tb);
    let Some(side) = ClusterSide::kind_made(
        "an_announcement_another_tool_wrote_is_kept_by_dev_up_and_put_back_by_dev_down",
        &cluster.project,
        &cluster.name,
    ) else {
        return;
    };
    cluster.write_config(&NO_CACHES);
    let by_kubectl = kind_script_announces(&side.api);
    let last_applied = "kubectl.kubernetes.io/last-applied-configuration";

    // doctor names the difference and who wrote it.
    side.run(&cluster, "doctor.rhai", &[])
        .failure(1)
        .stdout_contains(
            "(written by [\"kubectl-client-side-apply\"], not brrt) differs from brrt.toml",
        )
        .stdout_contains(&format!(
            "host is \"localhost:5001\", brrt.toml wants \"localhost:{}\"",
            cluster.port
        ));

    // dev-down leaves what brrt did not write.
    let down = side.run(&cluster, "dev-down.rhai", &[]);
    down.success()
        .stderr_contains("was written by [\"kubectl-client-side-apply\"], not brrt: left as it is");
    assert_eq!(
        row(&down, "announcement", "local-registry-hosting"),
        "unchanged"
    );
    assert_eq!(side.hosting().unwrap()["data"], by_kubectl["data"]);

    // dev-up takes the key over, says so, and keeps kind's announcement in its own annotations.
    let up = side.run(&cluster, "dev-up.rhai", &[]);
    up.success().stdout_contains(&format!(
        "kube-public/local-registry-hosting (localhost:{}, over kubectl-client-side-apply's, \
         kept for dev-down)",
        cluster.port
    ));
    assert_eq!(
        row(&up, "announcement", "local-registry-hosting"),
        "updated"
    );
    let taken = side.hosting().unwrap();
    assert_eq!(
        side.announcement().unwrap()["host"],
        format!("localhost:{}", cluster.port)
    );
    let annotations = &taken["metadata"]["annotations"];
    assert_eq!(
        annotations["brrt.dev/replaced-announcement"],
        KIND_SCRIPT_YAML
    );
    assert_eq!(
        annotations["brrt.dev/replaced-managers"],
        "kubectl-client-side-apply"
    );
    assert_eq!(
        annotations[last_applied], by_kubectl["metadata"]["annotations"][last_applied],
        "kubectl's own annotation was touched"
    );
    // Again: nothing changes, and what is kept stays kept.
    let again = side.run(&cluster, "dev-up.rhai", &[]);
    again.success().stdout_contains("dev-up: nothing changed");
    assert_eq!(side.hosting().unwrap()["metadata"], taken["metadata"]);
    side.run(&cluster, "doctor.rhai", &[])
        .success()
        .stdout_contains(
            "(kube-public/local-registry-hosting; it replaces kubectl-client-side-apply's, \
             which dev-down puts back)",
        );

    // dev-down puts kind's announcement back as kubectl wrote it, and lets go of the rest.
    let down = side.run(&cluster, "dev-down.rhai", &[]);
    down.success().stdout_contains(
        "kube-public/local-registry-hosting (kubectl-client-side-apply's, put back)",
    );
    assert_eq!(
        row(&down, "announcement", "local-registry-hosting"),
        "restored"
    );
    let back = side.hosting().expect("the ConfigMap is still there");
    assert_eq!(back["data"], by_kubectl["data"]);
    assert_eq!(
        back["metadata"]["annotations"],
        by_kubectl["metadata"]["annotations"]
    );
    let owners = managers(&back);
    assert!(
        owners.iter().all(|m| !m.starts_with("brrt ")),
        "brrt still manages a field: {owners:?}"
    );
    assert!(
        owners
            .iter()
            .any(|m| m.starts_with("kubectl-client-side-apply ")),
        "{owners:?}"
    );
    // From now on it is kind's again: doctor says so, and dev-down leaves it.
    side.run(&cluster, "doctor.rhai", &[])
        .failure(1)
        .stdout_contains("(written by [\"kubectl-client-side-apply\"], not brrt)");
    let down = side.run(&cluster, "dev-down.rhai", &[]);
    assert_eq!(
        row(&down, "announcement", "local-registry-hosting"),
        "unchanged"
    );
    assert_eq!(side.hosting().unwrap()["data"], by_kubectl["data"]);
}

#[test]
fn dev_up_with_create_and_no_kind_cli_says_how_to_install_it() {
    let Some(tb) = Testbed::require("nokindcli") else {
        return;
    };
    let cluster = Cluster::without_nodes(&tb);
    cluster.project.write(
        "brrt.toml",
        config_with(&cluster, &NO_CACHES, "create = true\n"),
    );
    cluster
        .project
        .brrt()
        .env("PATH", "/usr/bin:/bin")
        .arg("run")
        .arg(script("dev-up.rhai"))
        .run()
        .failure(1)
        .stderr_contains("the kind CLI is not on PATH; install it from https://kind.sigs.k8s.io/docs/user/quick-start/#installation");
    assert!(
        !container_exists(&cluster.registry),
        "dev-up went on without the cluster"
    );
}

#[test]
fn a_config_kind_refuses_is_reported_with_kinds_words() {
    let Some(tb) = Testbed::require("kindrefuses") else {
        return;
    };
    let cluster = Cluster::without_nodes(&tb);
    cluster.project.write(
        "create.rhai",
        "kind::create(SET.name, \"kind: Cluster\\napiVersion: kind.x-k8s.io/v1alpha4\\nnodez: []\\n\");",
    );
    // kind refuses the config before it would talk to an API server: none is needed.
    let path = format!(
        "{}:{}",
        standins_bin().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    cluster
        .project
        .brrt()
        .env("PATH", path)
        .env("BRRT_STANDIN_APISERVER", "https://127.0.0.1:1")
        .env("KUBECONFIG", cluster.project.path().join("kubeconfig"))
        .args(["run", "create.rhai", "--set"])
        .arg(format!("name={}", cluster.name))
        .run()
        .failure(1)
        .stderr_contains("unknown field \"nodez\"")
        .stderr_contains(&format!(
            "`kind create cluster --name {} --config",
            cluster.name
        ))
        .stderr_contains("create.rhai:1:");
    assert!(!container_exists(&cluster.control_plane().name));
}

// --- the k8s:: module against the real API server, no Docker needed ------------------------

/// A project, and a real API server whose kubeconfig has one context, `dev`.
fn api_project(test: &str) -> Option<(Project, KubeApiServer)> {
    Some((Project::new(), KubeApiServer::require(test, "dev")?))
}

fn run_script(project: &Project, kubeconfig: &Path, text: &str) -> Output {
    project.write("k.rhai", text);
    project
        .brrt()
        .env("KUBECONFIG", kubeconfig)
        .args(["run", "k.rhai"])
        .run()
}

#[test]
fn the_announcement_is_applied_over_https_with_the_kubeconfig_ca() {
    let Some((project, api)) =
        api_project("the_announcement_is_applied_over_https_with_the_kubeconfig_ca")
    else {
        return;
    };
    let out = run_script(
        &project,
        api.kubeconfig(),
        r#"
        let c = k8s::connect("dev");
        print(`reachable=${c.reachable}`);
        print(`server=${c.server}`);
        print(`version=${c.version}`);
        let spec = #{ host: "localhost:5001", host_from_container_runtime: "localhost:5001",
                      host_from_cluster_network: "kind-registry:5000", help: "https://example.com" };
        print(`first=${k8s::local_registry_hosting(spec).action}`);
        print(`second=${k8s::local_registry_hosting(spec).action}`);
        print(`read=${k8s::read_local_registry_hosting().host}`);
        "#,
    );
    out.success();
    assert_eq!(out.printed("reachable"), "true");
    assert_eq!(out.printed("server"), api.url());
    assert!(api.url().starts_with("https://"));
    assert!(out.printed("version").starts_with("v1.36."), "{out:?}");
    assert_eq!(out.printed("first"), "created");
    assert_eq!(out.printed("second"), "unchanged");
    assert_eq!(out.printed("read"), "localhost:5001");
}

#[test]
fn a_missing_context_lists_the_contexts_there_are() {
    // Only the kubeconfig is read: no server is asked anything.
    let project = Project::new();
    let kubeconfig = project.path().join("kubeconfig");
    project.write(
        "kubeconfig",
        "apiVersion: v1\nkind: Config\ncurrent-context: dev\nclusters:\n- name: dev\n  cluster:\n    server: https://127.0.0.1:1\ncontexts:\n- name: dev\n  context:\n    cluster: dev\n    user: dev\n- name: kind-other\n  context:\n    cluster: dev\n    user: dev\nusers:\n- name: dev\n  user:\n    token: t\n",
    );
    let out = run_script(
        &project,
        &kubeconfig,
        "print(`error=${k8s::connect(\"kind-nope\").error}`);\nk8s::get(\"ConfigMap\", \"default\", \"x\");",
    );
    let error = out.printed("error");
    assert_eq!(
        error,
        format!(
            "no context `kind-nope` in the kubeconfig {} (contexts there: dev, kind-other); \
             create the cluster, or set [cluster] context in brrt.toml to one of them",
            kubeconfig.display()
        )
    );
    // After a failed connect, calls fail with the same line, at the call.
    out.failure(1)
        .stderr_contains("no context `kind-nope`")
        .stderr_contains("k.rhai:2:");
}

#[test]
fn the_servers_status_message_is_shown_not_a_dump() {
    let Some((project, api)) = api_project("the_servers_status_message_is_shown_not_a_dump") else {
        return;
    };
    let out = run_script(
        &project,
        api.kubeconfig(),
        r#"
        k8s::connect("dev");
        k8s::apply(#{ apiVersion: "v1", kind: "ConfigMap", metadata: #{ name: "bad", namespace: "default" }, data: #{ n: 1 } });
        "#,
    );
    // The real server's own words, after what brrt was doing.
    out.failure(1)
        .stderr_contains("kubernetes: apply ConfigMap default/bad: ")
        .stderr_contains(".data.n: expected string")
        .stderr_contains("k.rhai:3:")
        .stderr_lacks("Status {")
        .stderr_lacks("ErrorResponse");
    assert!(api.config_map("default", "bad").is_none());
}

#[test]
fn generic_apply_get_and_delete_are_idempotent() {
    let Some((project, api)) = api_project("generic_apply_get_and_delete_are_idempotent") else {
        return;
    };
    let yaml = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: team\ndata:\n  mode: dev\n";
    project.write("objects.yaml", yaml);
    let out = run_script(
        &project,
        api.kubeconfig(),
        r#"
        k8s::connect("dev");
        let text = fs::read("objects.yaml");
        print(`first=${k8s::apply(text).map(|a| a.action)}`);
        let version = k8s::get("ConfigMap", "team", "settings").metadata.resourceVersion;
        print(`second=${k8s::apply(text).map(|a| a.action)}`);
        print(`same_version=${k8s::get("ConfigMap", "team", "settings").metadata.resourceVersion == version}`);
        print(`mode=${k8s::get("ConfigMap", "team", "settings").data.mode}`);
        print(`missing=${k8s::get("configmaps", "team", "nope")}`);
        print(`deleted=${k8s::delete("ConfigMap", "team", "settings")}`);
        print(`again=${k8s::delete("ConfigMap", "team", "settings")}`);
        try { k8s::get("Deployment", "team", "web"); } catch (e) { print(`unknown=${e}`); }
        "#,
    );
    out.success();
    assert_eq!(out.printed("first"), r#"["created", "created"]"#);
    assert_eq!(out.printed("second"), r#"["unchanged", "unchanged"]"#);
    assert_eq!(out.printed("same_version"), "true");
    assert_eq!(out.printed("mode"), "dev");
    assert_eq!(out.printed("missing"), "");
    assert_eq!(out.printed("deleted"), "removed");
    assert_eq!(out.printed("again"), "absent");
    assert!(
        out.printed("unknown")
            .contains("no kind `Deployment` in the core API (v1)"),
        "{out:?}"
    );
    // The namespace is there for the server's own loops too (they label it).
    let team = api.get("/api/v1/namespaces/team").unwrap();
    assert_eq!(
        team["metadata"]["labels"]["kubernetes.io/metadata.name"],
        "team"
    );
}

#[test]
fn apply_removes_a_field_the_document_no_longer_sets_as_server_side_apply_does() {
    let Some((project, api)) =
        api_project("apply_removes_a_field_the_document_no_longer_sets_as_server_side_apply_does")
    else {
        return;
    };
    let settings = |data: &str| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: default\ndata:\n{data}"
        )
    };
    project.write("both.yaml", settings("  mode: dev\n  debug: \"true\"\n"));
    project.write("one.yaml", settings("  mode: dev\n"));
    let out = run_script(
        &project,
        api.kubeconfig(),
        r#"
        k8s::connect("dev");
        print(`first=${k8s::apply(fs::read("both.yaml"))[0].action}`);
        print(`dropped=${k8s::apply(fs::read("one.yaml"))[0].action}`);
        print(`again=${k8s::apply(fs::read("one.yaml"))[0].action}`);
        "#,
    );
    out.success();
    assert_eq!(out.printed("first"), "created");
    // The key the file no longer has is gone from the server, as kubectl apply --server-side
    // would have it.
    assert_eq!(out.printed("dropped"), "updated");
    assert_eq!(out.printed("again"), "unchanged");
    let cm = api.config_map("default", "settings").unwrap();
    assert_eq!(cm["data"], json!({"mode": "dev"}));

    // A dry run asks the server, says what would change, and changes nothing.
    let version = cm["metadata"]["resourceVersion"].clone();
    project.write("k.rhai", "k8s::connect(\"dev\");\nprint(`would=${k8s::apply(fs::read(\"both.yaml\"))[0].action}`);\nprint(`same=${k8s::apply(fs::read(\"one.yaml\"))[0].action}`);\n");
    let dry = project
        .brrt()
        .env("KUBECONFIG", api.kubeconfig())
        .args(["run", "--dry-run", "k.rhai"])
        .run();
    dry.success()
        .stderr_contains("would update ConfigMap default/settings");
    assert_eq!(dry.printed("would"), "updated");
    assert_eq!(dry.printed("same"), "unchanged");
    let cm = api.config_map("default", "settings").unwrap();
    assert_eq!(cm["data"], json!({"mode": "dev"}));
    assert_eq!(cm["metadata"]["resourceVersion"], version);
}

#[test]
fn waiting_for_nodes_names_those_that_are_not_ready() {
    let Some((project, api)) = api_project("waiting_for_nodes_names_those_that_are_not_ready")
    else {
        return;
    };
    // Nodes as kubelet registers them: created, then their Ready condition reported.
    for (name, ready) in [("dev-control-plane", true), ("dev-worker", false)] {
        api.create(
            "/api/v1/nodes",
            &json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}),
            "kubelet",
        );
        let condition = if ready {
            json!({"type": "Ready", "status": "True", "reason": "KubeletReady",
                   "message": "kubelet is posting ready status"})
        } else {
            json!({"type": "Ready", "status": "False", "reason": "KubeletNotReady",
                   "message": "container runtime network not ready"})
        };
        api.patch_status(
            &format!("/api/v1/nodes/{name}"),
            &json!({"conditions": [condition]}),
        );
    }
    let out = run_script(
        &project,
        api.kubeconfig(),
        "k8s::connect(\"dev\");\nk8s::wait_nodes_ready(1);",
    );
    out.failure(1)
        .stderr_contains("waiting for the nodes: 1 of 2 ready; waiting for dev-worker")
        .stderr_contains("are not ready after 1s: 1 of 2 ready; waiting for dev-worker (KubeletNotReady: container runtime network not ready)");
}

#[test]
fn an_api_server_that_is_gone_is_one_line_with_context_and_url() {
    let Some((project, mut api)) =
        api_project("an_api_server_that_is_gone_is_one_line_with_context_and_url")
    else {
        return;
    };
    let url = api.url().to_string();
    api.stop();
    let out = run_script(
        &project,
        api.kubeconfig(),
        "let c = k8s::connect(\"dev\");\nprint(`error=${c.error}`);\nk8s::read_local_registry_hosting();",
    );
    assert_eq!(
        out.printed("error"),
        format!("no Kubernetes API server answers for context `dev` at {url}: connection refused")
    );
    out.failure(1).stderr_contains(&format!(
        "no Kubernetes API server answers for context `dev` at {url}: connection refused"
    ));
}

#[test]
fn dev_up_reports_a_node_whose_legacy_mirrors_block_hosts_toml() {
    let Some(tb) = Testbed::require("legacymirrors") else {
        return;
    };
    let cluster = Cluster::new(&tb);
    cluster.write_config(&NO_CACHES);
    let node = cluster.control_plane();
    // kind's older local-registry guide patched containerd like this.
    let config = node
        .exec(&["cat", "/etc/containerd/config.toml"])
        .unwrap_or_else(|e| panic!("{e}"));
    let legacy = format!(
        "{config}\n[plugins.\"io.containerd.grpc.v1.cri\".registry.mirrors.\"localhost:{}\"]\n  \
         endpoint = [\"http://{}:5000\"]\n",
        cluster.port, cluster.registry
    );
    node.exec(&[
        "sh",
        "-c",
        &format!("cat > /etc/containerd/config.toml <<'EOF'\n{legacy}EOF\n"),
    ])
    .unwrap_or_else(|e| panic!("{e}"));

    cluster
        .dev_up()
        .success()
        .stderr_contains(&format!(
            "node {}: containerd config sets both config_path and the deprecated \
             registry.mirrors (localhost:{})",
            node.name, cluster.port
        ))
        .stderr_contains("remove the registry.mirrors tables from /etc/containerd/config.toml");
    // A no-op run stays quiet: the nodes are checked when their mirrors change.
    cluster
        .dev_up()
        .success()
        .stdout_contains("dev-up: nothing changed")
        .stderr_lacks("registry.mirrors");
}
