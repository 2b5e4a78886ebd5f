//! Issue 17, the cluster shapes kind makes: HA clusters (several control planes and kind's
//! external load balancer), nodes on another Docker network than `kind`, Docker contexts, and
//! a `kind create` that was stopped half-way.
//!
//! The engine, the registries and containerd in the nodes are real. No kind CLI can run here:
//! where brrt needs one, `tests/standins/bin/kind` (a stand-in, named so) plays it. HA clusters
//! and other networks need no kind CLI at all: brrt finds nodes by kind's Docker labels, and
//! the tests make the containers kind would make, with those labels.

use crate::support::cluster::{
    container_exists, container_id, docker_hub_cluster, row, script, Cluster, DOCKER_HUB,
    REGISTRY_IMAGE,
};
use crate::support::kube_apiserver::KubeApiServer;
use crate::support::{docker, Brrt, EngineDoor, Project, Running, Testbed};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// kind's external load balancer for an HA cluster, as kind makes it: a container named
/// `<cluster>-external-load-balancer`, on the cluster's network, labelled with the cluster and
/// the role `external-load-balancer` (kind's `ExternalLoadBalancerNodeRoleValue`). kind runs
/// envoy in it; here the testbed's registry image stands in for envoy: a container that runs,
/// is no Kubernetes node and has no containerd.
fn start_load_balancer(tb: &Testbed, cluster: &Cluster<'_>) -> String {
    let name = tb.container("kind-external-load-balancer");
    docker(&[
        "run",
        "--detach",
        "--name",
        &name,
        "--hostname",
        &name,
        "--network",
        &cluster.network,
        "--label",
        &format!("io.x-k8s.kind.cluster={}", cluster.name),
        "--label",
        "io.x-k8s.kind.role=external-load-balancer",
        REGISTRY_IMAGE,
    ]);
    name
}

#[test]
fn an_ha_cluster_wires_its_five_nodes_and_leaves_the_load_balancer_alone() {
    let Some(tb) = Testbed::require("ha_cluster") else {
        return;
    };
    // Three control planes and two workers, named as kind names them, and the load balancer
    // kind adds for several control planes.
    let cluster = docker_hub_cluster(&tb);
    let mut nodes = vec![cluster.control_plane()];
    nodes.push(cluster.add_node("control-plane", "control-plane2"));
    nodes.push(cluster.add_node("control-plane", "control-plane3"));
    nodes.push(cluster.add_node("worker", "worker"));
    nodes.push(cluster.add_node("worker", "worker2"));
    let lb = start_load_balancer(&tb, &cluster);
    let lb_before = docker(&[
        "container",
        "inspect",
        "--format",
        "{{.State.StartedAt}}",
        &lb,
    ]);

    let out = cluster.dev_up();
    out.success().stdout_lacks(&lb).stderr_lacks(&lb);
    for node in &nodes {
        assert_eq!(row(&out, "node mirrors", &node.name), "updated");
        node.must_pull("docker.io/library/hello:1");
    }

    // The load balancer is untouched: no file written into it, not restarted.
    assert_eq!(docker(&["diff", &lb]), "", "brrt changed files in {lb}");
    assert_eq!(
        docker(&[
            "container",
            "inspect",
            "--format",
            "{{.State.StartedAt}}",
            &lb
        ]),
        lb_before
    );

    // A second run changes nothing; doctor checks the five nodes and passes.
    cluster
        .dev_up()
        .success()
        .stdout_contains("dev-up: nothing changed");
    let doctor = cluster.run("doctor.rhai", &[]);
    doctor.success().stdout_contains(&format!(
        "cluster {}: 3 control plane(s), 2 worker(s)",
        cluster.name
    ));
    for node in &nodes {
        doctor.stdout_contains(&format!("ok    node {}", node.name));
    }
    assert!(
        doctor
            .stdout
            .lines()
            .any(|l| l.contains(&lb) && l.contains("not a node")),
        "doctor does not say it left the load balancer alone:\n{}",
        doctor.stdout
    );
    assert_eq!(docker(&["diff", &lb]), "", "doctor changed files in {lb}");
}

#[test]
fn nodes_on_another_network_are_followed_and_a_config_naming_another_is_an_error() {
    let Some(tb) = Testbed::require("other_network") else {
        return;
    };
    // kind made the nodes on a network of its own (KIND_EXPERIMENTAL_DOCKER_NETWORK), not on
    // the one brrt.toml names.
    let mut cluster = Cluster::without_nodes(&tb);
    let configured = cluster.network.clone();
    let lab = tb.network("lab");
    docker(&["network", "create", &lab]);
    cluster.network = lab.clone();
    let node = cluster.add_node("control-plane", "control-plane");
    cluster
        .add_upstream("docker.io")
        .push("brrt-testbed/hello:1", "library/hello:1");
    let on_lab = cluster.config(&DOCKER_HUB);
    let config_line = |text: &str| {
        text.lines()
            .position(|l| l.starts_with("network = "))
            .expect("a network line")
            + 1
    };
    let on_configured = on_lab.replace(
        &format!("network = {lab:?}"),
        &format!("network = {configured:?}"),
    );
    cluster.project.write("brrt.toml", &on_configured);

    // dev-up refuses before it changes anything: the caches would be where no node resolves them.
    let refused = cluster.dev_up();
    refused.failure(1).stderr_contains(&format!(
        "brrt.toml:{}: cluster.network is \"{configured}\", but the nodes of kind cluster {} are \
         on network \"{lab}\"",
        config_line(&on_configured),
        cluster.name
    ));
    refused.stderr_contains(&format!(
        "set network = \"{lab}\" under [cluster] in brrt.toml"
    ));
    assert!(
        !container_exists(&cluster.cache("docker.io")),
        "dev-up made a cache on a network no node is on"
    );
    cluster
        .run("doctor.rhai", &[])
        .failure(1)
        .stdout_contains(&format!(
            "FAIL  brrt.toml:{}: cluster.network is",
            config_line(&on_configured)
        ));

    // `brrt init` writes the network the cluster is on.
    let fresh = crate::support::Project::new();
    let kubeconfig = fresh.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: kind-{}\n",
            cluster.name
        ),
    )
    .unwrap();
    fresh
        .brrt()
        .env("KUBECONFIG", &kubeconfig)
        .args(["init", "--quiet"])
        .run()
        .success();
    let written = std::fs::read_to_string(fresh.path().join("brrt.toml")).unwrap();
    assert!(
        written.contains(&format!("name = \"{}\"", cluster.name))
            && written.contains(&format!("network = \"{lab}\"")),
        "brrt init did not write the nodes' network:\n{written}"
    );

    // Without a network line, brrt takes the nodes' network: the caches join it and pulls work.
    let unset: String = on_lab
        .lines()
        .filter(|l| !l.starts_with("network = "))
        .map(|l| format!("{l}\n"))
        .collect();
    cluster.project.write("brrt.toml", &unset);
    let out = cluster.dev_up();
    out.success();
    assert_eq!(row(&out, "network", &lab), "unchanged");
    node.must_pull("docker.io/library/hello:1");
    let doctor = cluster.run("doctor.rhai", &[]);
    doctor
        .success()
        .stdout_contains(&format!("ok    network {lab} (from the nodes)"))
        .stdout_contains(&format!(
            "ok    node {} reaches {}:5000, {}:5000 (resolved and answered in the node)",
            node.name,
            cluster.registry,
            cluster.cache("docker.io")
        ));

    // doctor asks each node itself: a cache the nodes cannot resolve is a failure it names.
    let cache = cluster.cache("docker.io");
    docker(&["network", "disconnect", &lab, &cache]);
    let doctor = cluster.run("doctor.rhai", &[]);
    doctor.failure(1).stdout_contains(&format!(
        "FAIL  node {}: {cache} does not resolve from the node",
        node.name
    ));
}

/// A docker CLI config folder of the test's own (never the user's `~/.docker`): a config.json
/// whose current context is `current`, and contexts `name → endpoint`, laid out as the docker
/// CLI lays them out (`contexts/meta/<sha256 of the name>/meta.json`).
fn docker_config(dir: &Path, current: &str, contexts: &[(&str, &str)]) {
    std::fs::create_dir_all(dir).unwrap();
    let config = serde_json::json!({ "auths": {}, "currentContext": current });
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    for (name, host) in contexts {
        let id = format!("{:x}", Sha256::digest(name.as_bytes()));
        let meta = dir.join("contexts/meta").join(id);
        std::fs::create_dir_all(&meta).unwrap();
        let json = serde_json::json!({
            "Name": name,
            "Metadata": { "Description": "brrt test context" },
            "Endpoints": { "docker": { "Host": host, "SkipTLSVerify": false } },
        });
        std::fs::write(meta.join("meta.json"), json.to_string()).unwrap();
    }
}

/// `brrt` with the docker CLI's environment of the test's own: HOME and DOCKER_CONFIG in the
/// project, no DOCKER_HOST or DOCKER_CONTEXT from the developer's shell.
fn in_context(brrt: Brrt, project: &Project) -> Brrt {
    brrt.env("HOME", project.path().join("home"))
        .env("DOCKER_CONFIG", project.path().join("docker-config"))
        .env_remove("DOCKER_HOST")
        .env_remove("DOCKER_CONTEXT")
}

#[test]
fn the_current_docker_context_is_the_engine_brrt_uses_and_names() {
    let Some(tb) = Testbed::require("docker_context") else {
        return;
    };
    // The real engine behind a socket of the test's own, at another path than the default:
    // a context is the only way brrt can know of it.
    let cluster = docker_hub_cluster(&tb);
    let project = &cluster.project;
    let socket = project.path().join("engine.sock");
    let door = EngineDoor::bind(&socket);
    door.open();
    let door_host = EngineDoor::host(&socket);
    let context = format!("{}-ctx", cluster.name);
    let nowhere = format!("unix://{}", project.path().join("nothing.sock").display());
    docker_config(
        &project.path().join("docker-config"),
        &context,
        &[
            (context.as_str(), door_host.as_str()),
            ("elsewhere", nowhere.as_str()),
        ],
    );
    project.write(
        "engine.rhai",
        "let v = docker::version();\nprint(`endpoint=${v.endpoint}`);\ndocker::ping();\n",
    );
    let engine = |vars: &[(&str, &str)]| {
        let brrt = vars
            .iter()
            .fold(in_context(project.brrt(), project), |b, (k, v)| b.env(k, v));
        brrt.args(["run", "engine.rhai"]).run()
    };

    // The current context (config.json) is used, and named.
    let out = engine(&[]);
    out.success();
    assert_eq!(
        out.printed("endpoint"),
        format!("{door_host} (Docker context {context})")
    );
    let knocks = door.knocks();
    assert!(knocks > 0, "brrt did not go through the context's endpoint");

    // A whole dev-up goes through it, and the node pulls through the cache it made.
    let up = in_context(project.brrt(), project)
        .arg("run")
        .arg(script("dev-up.rhai"))
        .run();
    up.success();
    assert!(door.knocks() > knocks, "dev-up did not use the context");
    cluster
        .control_plane()
        .must_pull("docker.io/library/hello:1");
    in_context(project.brrt(), project)
        .arg("run")
        .arg(script("doctor.rhai"))
        .run()
        .success()
        .stdout_contains(&format!("at {door_host} (Docker context {context})"));

    // With the engine behind it gone, the message names the context's engine, not the default.
    door.shut();
    engine(&[]).failure(1).stderr_contains(&format!(
        "error: cannot reach Docker at {door_host} (Docker context {context}):"
    ));
    door.open();

    // DOCKER_CONTEXT wins over config.json; DOCKER_HOST wins over both, as for the docker CLI.
    engine(&[("DOCKER_CONTEXT", "elsewhere")])
        .failure(1)
        .stderr_contains(&format!(
            "error: cannot reach Docker at {nowhere} (Docker context elsewhere):"
        ));
    let direct = engine(&[("DOCKER_CONTEXT", "elsewhere"), ("DOCKER_HOST", &door_host)]);
    direct.success();
    assert_eq!(direct.printed("endpoint"), door_host);

    // A context that does not exist is one line that says where it was named.
    engine(&[("DOCKER_CONTEXT", "nope")])
        .failure(1)
        .stderr_contains(
            "error: Docker context \"nope\" (from DOCKER_CONTEXT) does not exist: there is no ",
        )
        .stderr_contains("unset DOCKER_CONTEXT");

    // The run lock is the engine's: a run through the context and one with DOCKER_HOST at the
    // same socket take turns, and the one that waits names that engine.
    project.write(
        "hold.rhai",
        "config::brrt(\"brrt.toml\");\nlog::info(\"holding the lock\");\n\
         while !fs::exists(\"release\") { sleep(0.05); }\n",
    );
    let mut holder = Running::new(
        in_context(project.brrt(), project)
            .args(["run", "hold.rhai"])
            .spawn(),
    );
    holder.wait_for(
        "the holder to take the lock",
        Duration::from_secs(30),
        |l| l.iter().any(|l| l == "holding the lock"),
    );
    project
        .brrt()
        .env("DOCKER_HOST", &door_host)
        .args(["run", "--no-wait", "hold.rhai"])
        .run()
        .failure(1)
        .stderr_contains(&format!(
            "holds push registry {} on {door_host}; run again when it is done",
            cluster.registry
        ));
    project.write("release", "");
    holder.wait_for_exit(Duration::from_secs(30));
}

/// A cluster side for creates: the kind stand-in first on PATH (no kind CLI can run here), the
/// real API server it registers nodes with, a kubeconfig of the test's own, and the stand-in's
/// slow mode: `kind create` holds after making the node containers while the file `hold` exists.
struct Creating {
    api: KubeApiServer,
    kubeconfig: PathBuf,
    state: PathBuf,
    hold: PathBuf,
}

impl Creating {
    fn new(test: &str, project: &Project) -> Option<Self> {
        let c = Creating {
            api: KubeApiServer::require(test, "brrt-tests-admin")?,
            kubeconfig: project.path().join("kubeconfig"),
            state: project.path().join("kind-state"),
            hold: project.path().join("hold-kind"),
        };
        std::fs::write(&c.hold, "").unwrap();
        Some(c)
    }

    fn env(&self, brrt: Brrt) -> Brrt {
        let standins = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/standins/bin");
        let path = format!(
            "{}:{}",
            standins.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        brrt.env("PATH", path)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("BRRT_STANDIN_APISERVER", self.api.url())
            .env("BRRT_STANDIN_APISERVER_CA", self.api.ca())
            .env("BRRT_STANDIN_APISERVER_TOKEN", self.api.token())
            .env("BRRT_STANDIN_KIND_STATE", &self.state)
            .env("BRRT_STANDIN_KIND_HOLD", &self.hold)
    }

    /// Lets every `kind create` (held or to come) go on.
    fn release(&self) {
        let _ = std::fs::remove_file(&self.hold);
    }

    /// The pid of the stand-in `kind create` that holds for `cluster`.
    fn kind_pid(&self, cluster: &str) -> String {
        std::fs::read_to_string(self.state.join(format!("{cluster}.pid"))).unwrap()
    }

    fn kubeconfig_text(&self) -> String {
        std::fs::read_to_string(&self.kubeconfig).unwrap_or_default()
    }
}

/// A cluster that does not exist yet, and a brrt.toml that has dev-up create it with one worker
/// (so two node containers), caching docker.io from a stand-in.
fn cluster_to_create(tb: &Testbed) -> (Cluster<'_>, Vec<String>) {
    let mut cluster = Cluster::without_nodes(tb);
    cluster
        .add_upstream("docker.io")
        .push("brrt-testbed/hello:1", "library/hello:1");
    let image = tb.containerd().node_image();
    let nodes = vec![cluster.control_plane().name, tb.container("kind-worker")];
    let config = cluster.config(&DOCKER_HUB).replacen(
        "[cluster]\n",
        &format!("[cluster]\ncreate = true\nworkers = 1\nnode_image = {image:?}\n"),
        1,
    );
    cluster.project.write("brrt.toml", config);
    (cluster, nodes)
}

/// Starts dev-up (or `extra` flow arguments) and waits until kind has made the node containers
/// and holds.
fn dev_up_held(cluster: &Cluster<'_>, side: &Creating, extra: &[&str]) -> Running {
    let mut run = Running::new(
        side.env(cluster.project.brrt())
            .arg("run")
            .args(extra)
            .arg(script("dev-up.rhai"))
            .spawn(),
    );
    run.wait_for(
        "kind to make the nodes and hold",
        Duration::from_secs(120),
        |l| l.iter().any(|l| l.contains("stand-in: held while")),
    );
    run
}

fn signal(pid: &str, signal: &str) {
    let ok = std::process::Command::new("kill")
        .args([signal, pid.trim()])
        .status();
    assert!(ok.is_ok_and(|s| s.success()), "kill {signal} {pid} failed");
}

#[test]
fn ctrl_c_during_kind_create_deletes_the_half_made_cluster() {
    let Some(tb) = Testbed::require("create_ctrl_c") else {
        return;
    };
    let (cluster, nodes) = cluster_to_create(&tb);
    let Some(side) = Creating::new("create_ctrl_c", &cluster.project) else {
        return;
    };
    let mut run = dev_up_held(&cluster, &side, &[]);
    assert!(
        nodes.iter().all(|n| container_exists(n)),
        "kind made no nodes"
    );

    signal(&run.id().to_string(), "-INT");
    assert_eq!(run.wait_for_exit(Duration::from_secs(120)), Some(130));
    let lines = run.lines().join("\n");
    assert!(
        lines.contains(&format!(
            "stopped while kind was creating cluster {}: deleting what it made (kind delete \
             cluster --name {})",
            cluster.name, cluster.name
        )) && lines.contains(&format!(
            "deleted the unfinished kind cluster {}",
            cluster.name
        )),
        "{lines}"
    );
    for node in &nodes {
        assert!(!container_exists(node), "{node} was left behind:\n{lines}");
    }

    // The next dev-up creates the cluster: nothing half-made is taken for a finished one.
    side.release();
    let out = side
        .env(cluster.project.brrt())
        .arg("run")
        .arg(script("dev-up.rhai"))
        .run();
    out.success();
    assert_eq!(row(&out, "kind cluster", &cluster.name), "created");
    cluster
        .control_plane()
        .must_pull("docker.io/library/hello:1");
}

#[test]
fn a_cluster_whose_create_was_killed_is_recreated_never_unchanged() {
    let Some(tb) = Testbed::require("create_killed") else {
        return;
    };
    let (cluster, nodes) = cluster_to_create(&tb);
    let Some(side) = Creating::new("create_killed", &cluster.project) else {
        return;
    };
    let mut run = dev_up_held(&cluster, &side, &[]);
    // brrt and kind die with no chance to clean up (the terminal was closed, the machine ran
    // out of memory): the node containers stay, with no kubeconfig context.
    let kind = side.kind_pid(&cluster.name);
    signal(&run.id().to_string(), "-KILL");
    signal(&kind, "-KILL");
    run.wait_for_exit(Duration::from_secs(30));
    side.release();
    assert!(nodes.iter().all(|n| container_exists(n)));
    let left: Vec<String> = nodes.iter().map(|n| container_id(n)).collect();

    let never = format!(
        "kind cluster {} was never finished: brrt began to create it (pid {}, at ",
        cluster.name,
        run.id()
    );
    side.env(cluster.project.brrt())
        .arg("run")
        .arg(script("doctor.rhai"))
        .run()
        .failure(1)
        .stdout_contains(&format!("FAIL  {never}"));

    let out = side
        .env(cluster.project.brrt())
        .arg("run")
        .arg(script("dev-up.rhai"))
        .run();
    out.success()
        .stderr_contains(&never)
        .stderr_contains("and was stopped before kind finished; deleting it and creating it again");
    assert_eq!(row(&out, "kind cluster", &cluster.name), "recreated");
    let now: Vec<String> = nodes.iter().map(|n| container_id(n)).collect();
    assert!(
        left.iter().all(|id| !now.contains(id)),
        "a half-made node was kept"
    );
    assert!(side
        .kubeconfig_text()
        .contains(&format!("kind-{}", cluster.name)));
    cluster
        .control_plane()
        .must_pull("docker.io/library/hello:1");

    // Finished now: the next run changes nothing, and doctor is content.
    let again = side
        .env(cluster.project.brrt())
        .arg("run")
        .arg(script("dev-up.rhai"))
        .run();
    again.success();
    assert_eq!(row(&again, "kind cluster", &cluster.name), "unchanged");
    side.env(cluster.project.brrt())
        .arg("run")
        .arg(script("doctor.rhai"))
        .run()
        .success()
        .stdout_lacks("never finished");
}

#[test]
fn a_save_during_kind_create_under_watch_restart_starts_the_cluster_again_cleanly() {
    let Some(tb) = Testbed::require("create_watch_restart") else {
        return;
    };
    let (cluster, nodes) = cluster_to_create(&tb);
    let Some(side) = Creating::new("create_watch_restart", &cluster.project) else {
        return;
    };
    let mut watching = dev_up_held(&cluster, &side, &["--watch", "--on-busy", "restart"]);
    let first = container_id(&nodes[0]);

    // A save while kind creates: the run stops, kind is stopped and its nodes deleted, and the
    // next run creates the cluster from the start (the kind stand-in refuses to create over
    // nodes that exist, as kind does).
    let config = std::fs::read_to_string(cluster.project.path().join("brrt.toml")).unwrap();
    cluster
        .project
        .write("brrt.toml", format!("# saved during the create\n{config}"));
    watching.wait_for(
        "the half-made cluster to go",
        Duration::from_secs(120),
        |l| {
            l.iter().any(|l| {
                l.contains(&format!(
                    "deleted the unfinished kind cluster {}",
                    cluster.name
                ))
            })
        },
    );
    side.release();
    watching.wait_for(
        "the restarted dev-up to finish",
        Duration::from_secs(180),
        |l| {
            l.iter().any(|l| {
                l.contains("brrt.toml changed → ")
                    && l.contains(&format!("created kind cluster {}", cluster.name))
            })
        },
    );
    assert_ne!(container_id(&nodes[0]), first);
    cluster
        .control_plane()
        .must_pull("docker.io/library/hello:1");
    assert_eq!(watching.stop("-INT"), Some(0));
}
