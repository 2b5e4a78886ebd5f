//! A kind cluster stand-in and what surrounds it, for tests of the registry flows: node
//! containers that carry kind's labels, upstream registries that tests push into (Docker Hub
//! and quay.io stand-ins), a project directory with a `brrt.toml`, and the real flow scripts
//! of this repository run through the real binary.

use super::{docker, try_docker, Containerd, Output, Project, Running, Testbed};
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The registry image of upstream stand-ins and other registries brrt did not make: the real
/// registry server (distribution 2.8), standing in for Docker Hub's `registry:2` under a name
/// of the testbed's own. The push registry and caches run [`Testbed::registry`]'s image.
pub const REGISTRY_IMAGE: &str = "brrt-testbed/registry:2";
/// What containerd 2.x prints on stderr of every `ctr` call on a cgroup v1 host. It is no
/// part of what a test checks, so it is dropped from what a node prints.
const CGROUP_V1_NOTICE: &str = "DEPRECATION: The support for cgroup v1";
/// Where containerd reads per-registry mirrors in a node.
const CERTS_DIR: &str = "/etc/containerd/certs.d";

/// A flow script shipped in this repository, e.g. `dev-up.rhai`.
pub fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scripts")
        .join(name)
}

/// Asks `check` every 200 ms until it answers `Some`, and fails the test naming `what` (and
/// the last thing `check` saw) when `secs` pass first. Never a fixed sleep.
#[track_caller]
pub fn wait_for<T>(secs: u64, what: &str, mut check: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        match check() {
            Ok(v) => return v,
            Err(last) if Instant::now() >= deadline => {
                panic!("timed out after {secs}s waiting for {what}; last seen:\n{last}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

/// A loopback port nobody listens on, picked at random below the range from which Docker and
/// the kernel hand out ports, so that neither takes it before the test uses it.
pub fn free_port() -> u16 {
    for _ in 0..200 {
        // A fresh RandomState is randomly keyed: a cheap random number without a crate.
        let mut h = RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        let port = 20_000 + u16::try_from(h.finish() % 12_000).expect("below 12000");
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port found in 20000..32000");
}

/// The HTTP status `GET path` gets from `127.0.0.1:port`, if anything answers.
pub fn http_status(port: u16, path: &str) -> Result<u16, String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").map_err(|e| e.to_string())?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head).map_err(|e| e.to_string())?;
    let line = String::from_utf8_lossy(&head).into_owned();
    line.get(9..12)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("not HTTP: {line:?}"))
}

/// Runs the docker CLI; `Err` carries what it printed on stderr.
fn docker_result(args: &[&str]) -> Result<String, String> {
    let out = Command::new("docker")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run docker: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(format!(
            "docker {} failed: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Whether a container of that name exists (running or not).
pub fn container_exists(name: &str) -> bool {
    try_docker(&["container", "inspect", name]).is_some()
}

pub fn volume_exists(name: &str) -> bool {
    try_docker(&["volume", "inspect", name]).is_some()
}

pub fn network_exists(name: &str) -> bool {
    try_docker(&["network", "inspect", name]).is_some()
}

/// A container's id, as `docker inspect` reports it.
pub fn container_id(name: &str) -> String {
    docker(&["container", "inspect", "--format", "{{.Id}}", name])
}

/// Tags a local image as `dest`, pushes it, and drops the tag again.
#[track_caller]
pub fn push(image: &str, dest: &str) {
    docker(&["tag", image, dest]);
    let pushed = docker_result(&["push", "--quiet", dest]);
    let _ = try_docker(&["image", "rm", dest]);
    if let Err(e) = pushed {
        panic!("{e}");
    }
}

/// Waits, 30 s at most, until the registry on the loopback `port` answers `/v2/` with 200;
/// `what` is what the wait is for, in its timeout message.
pub fn wait_until_serving(port: u16, what: &str) {
    wait_for(30, what, || match http_status(port, "/v2/")? {
        200 => Ok(()),
        other => Err(format!("HTTP {other}")),
    });
}

/// Creates the volume `name` labelled as brrt labels its own, on a tmpfs of `size` (`4k`,
/// `1m`): a disk that fills up as soon as more than that is written.
pub fn managed_tmpfs_volume(name: &str, size: &str) {
    docker(&[
        "volume",
        "create",
        "--driver",
        "local",
        "--opt",
        "type=tmpfs",
        "--opt",
        "device=tmpfs",
        "--opt",
        &format!("o=size={size}"),
        "--label",
        "dev.brrt.managed=true",
        name,
    ]);
}

/// Starts the registry image on `network`, published on a loopback port Docker picks, and waits
/// until it answers. Returns the port.
fn start_registry(name: &str, network: &str) -> u16 {
    docker(&[
        "run",
        "--detach",
        "--name",
        name,
        "--network",
        network,
        "--publish",
        "127.0.0.1::5000",
        REGISTRY_IMAGE,
    ]);
    let published = docker(&["port", name, "5000/tcp"]);
    let port = published
        .lines()
        .find_map(|l| l.strip_prefix("127.0.0.1:"))
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("{name} publishes no loopback port: {published}"));
    wait_until_serving(port, &format!("{name} to answer on port {port}"));
    port
}

/// A registry standing in for an upstream such as Docker Hub: tests push into it, and the
/// cache for `host` proxies it.
pub struct Upstream {
    /// The registry host images name, e.g. `docker.io`.
    pub host: String,
    pub container: String,
    /// Its loopback port, for `docker push`.
    pub port: u16,
}

impl Upstream {
    /// What the cache proxies: the stand-in by name on the cluster network.
    pub fn remote(&self) -> String {
        format!("http://{}:5000", self.container)
    }

    /// Pushes a local image into the stand-in as `repo_tag` (e.g. `library/hello:1`).
    #[track_caller]
    pub fn push(&self, image: &str, repo_tag: &str) {
        push(image, &format!("127.0.0.1:{}/{repo_tag}", self.port));
    }

    /// Stops the stand-in: from now on only a cache can serve what it held.
    pub fn stop(&self) {
        docker(&["stop", "--time", "1", &self.container]);
    }

    /// Starts it again: the upstream is back.
    pub fn start(&self) {
        docker(&["start", &self.container]);
    }
}

/// A node container of the cluster.
pub struct Node {
    pub name: String,
}

impl Node {
    /// Starts a node the way kind would, with kind's labels, and waits for its containerd.
    fn start(
        name: String,
        cluster: &str,
        role: &str,
        network: &str,
        containerd: Containerd,
    ) -> Node {
        docker(&[
            "run",
            "--detach",
            "--name",
            &name,
            "--network",
            network,
            "--label",
            &format!("io.x-k8s.kind.cluster={cluster}"),
            "--label",
            &format!("io.x-k8s.kind.role={role}"),
            "--cap-add",
            "SYS_ADMIN",
            "--security-opt",
            "seccomp=unconfined",
            "--security-opt",
            "apparmor=unconfined",
            containerd.node_image(),
        ]);
        let node = Node { name };
        wait_for(30, &format!("containerd in {}", node.name), || {
            node.exec(&["ctr", "version"])
        });
        node
    }

    /// Runs a command in the node; `Err` carries what it printed. containerd 2.x's cgroup v1
    /// notice is left out; everything else it printed is kept.
    pub fn exec(&self, cmd: &[&str]) -> Result<String, String> {
        let mut args = vec!["exec", self.name.as_str()];
        args.extend_from_slice(cmd);
        docker_result(&args)
            .map(|out| without_cgroup_v1_notice(&out))
            .map_err(|e| without_cgroup_v1_notice(&e))
    }

    /// Pulls an image the way the node's kubelet would: containerd's client through the
    /// `hosts.toml` mirrors.
    pub fn pull(&self, image: &str) -> Result<(), String> {
        self.exec(&[
            "ctr",
            "-n",
            "k8s.io",
            "images",
            "pull",
            "--hosts-dir",
            CERTS_DIR,
            image,
        ])
        .map(drop)
    }

    /// Pulls an image and fails the test with containerd's words if that does not work.
    #[track_caller]
    pub fn must_pull(&self, image: &str) {
        if let Err(e) = self.pull(image) {
            panic!("node {} could not pull {image}:\n{e}", self.name);
        }
    }

    /// A file from a pulled image, read by mounting the image in the node. The mount's
    /// snapshot is removed with it: a snapshot left behind would keep the image's layer
    /// unpacked, and a later pull could then skip fetching it.
    #[track_caller]
    pub fn file_in_image(&self, image: &str, path: &str) -> String {
        let script = format!(
            "m=$(mktemp -d) && ctr -n k8s.io images mount '{image}' \"$m\" >/dev/null && \
             cat \"$m/{path}\"; rc=$?; ctr -n k8s.io images unmount --rm \"$m\" >/dev/null; \
             rmdir \"$m\"; exit $rc"
        );
        self.exec(&["sh", "-c", &script])
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Pulls `image` with nothing of it on the node (`forget_images` first): every blob has to
    /// come from a registry, the cache when it is wired.
    #[track_caller]
    pub fn must_pull_afresh(&self, image: &str) {
        self.forget_images();
        self.must_pull(image);
    }

    /// Deletes every image from the node's containerd, the CRI's `sha256:` refs included, and
    /// checks that no content and no snapshot is left: the next pull has to reach a registry
    /// for every blob.
    #[track_caller]
    pub fn forget_images(&self) {
        let refs = self
            .exec(&["ctr", "-n", "k8s.io", "images", "ls", "--quiet"])
            .unwrap_or_else(|e| panic!("{e}"));
        if !refs.is_empty() {
            let mut cmd = vec!["ctr", "-n", "k8s.io", "images", "rm", "--sync"];
            cmd.extend(refs.lines());
            self.exec(&cmd).unwrap_or_else(|e| panic!("{e}"));
        }
        let left = self
            .exec(&["ctr", "-n", "k8s.io", "content", "ls", "--quiet"])
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(left.is_empty(), "content left in {}: {left}", self.name);
        // `snapshots ls` has no --quiet: a header line, then one line per snapshot.
        let snapshots = self
            .exec(&["ctr", "-n", "k8s.io", "snapshots", "ls"])
            .unwrap_or_else(|e| panic!("{e}"));
        let left: Vec<&str> = snapshots.lines().skip(1).collect();
        assert!(left.is_empty(), "snapshots left in {}: {left:?}", self.name);
    }

    /// The `hosts.toml` for `host`, if the node has one.
    pub fn mirror(&self, host: &str) -> Option<String> {
        self.exec(&["cat", &format!("{CERTS_DIR}/{host}/hosts.toml")])
            .ok()
    }

    /// The hosts the node has a mirror for, sorted.
    pub fn mirrored_hosts(&self) -> Vec<String> {
        let out = self
            .exec(&["sh", "-c", &format!("cd {CERTS_DIR} && ls -1 */hosts.toml")])
            .unwrap_or_default();
        let mut hosts: Vec<String> = out
            .lines()
            .filter_map(|l| l.strip_suffix("/hosts.toml"))
            .map(str::to_string)
            .collect();
        hosts.sort();
        hosts
    }

    /// Inode, mtime and path of every `hosts.toml`: equal listings mean no file was rewritten.
    pub fn mirror_files(&self) -> String {
        self.exec(&[
            "sh",
            "-c",
            &format!("stat -c '%i %Y %n' {CERTS_DIR}/*/hosts.toml"),
        ])
        .unwrap_or_else(|e| panic!("{e}"))
    }

    /// When the container last started, and how often Docker restarted it.
    pub fn lifetime(&self) -> String {
        docker(&[
            "container",
            "inspect",
            "--format",
            "{{.State.StartedAt}} restarts={{.RestartCount}} running={{.State.Running}}",
            &self.name,
        ])
    }
}

/// The `[cache]` part of a brrt.toml.
pub struct CacheConfig<'a> {
    pub enabled: bool,
    pub upstreams: &'a [&'a str],
}

/// A cluster stand-in with its own network, push registry name and port, upstream stand-ins,
/// and a project directory. Everything it makes is named after the test and removed with the
/// [`Testbed`].
pub struct Cluster<'t> {
    tb: &'t Testbed,
    /// What its Docker names carry after the test's: `kind`, or `kind-b` for a second cluster.
    tag: String,
    pub project: Project,
    /// The kind cluster name.
    pub name: String,
    pub network: String,
    /// The push registry's container.
    pub registry: String,
    /// The push registry's host port.
    pub port: u16,
    pub upstreams: Vec<Upstream>,
}

impl<'t> Cluster<'t> {
    /// A network and a control-plane node on it; no registries yet.
    pub fn new(tb: &'t Testbed) -> Self {
        let cluster = Cluster::without_nodes(tb);
        cluster.add_node("control-plane", "control-plane");
        cluster
    }

    /// Only the cluster network: a cluster whose nodes do not exist (yet).
    pub fn without_nodes(tb: &'t Testbed) -> Self {
        Cluster::named(tb, "")
    }

    /// Another cluster of the same test, with a project (its own brrt.toml), network, push
    /// registry and port of its own, and a control-plane node. Its names carry `tag` (`b`):
    /// `…-kind-b`, `…-net-b`, `…-reg-b`. It shares the test's set of caches.
    pub fn another(tb: &'t Testbed, tag: &str) -> Self {
        let cluster = Cluster::named(tb, tag);
        cluster.add_node("control-plane", "control-plane");
        cluster
    }

    fn named(tb: &'t Testbed, tag: &str) -> Self {
        let dash = |what: &str| {
            if tag.is_empty() {
                what.to_string()
            } else {
                format!("{what}-{tag}")
            }
        };
        let network = tb.network(&dash("net"));
        docker(&["network", "create", &network]);
        let node = tb.container(&format!("{}-control-plane", dash("kind")));
        let name = node
            .strip_suffix("-control-plane")
            .expect("kind's node name")
            .to_string();
        Cluster {
            tag: dash("kind"),
            project: Project::new(),
            name,
            network,
            registry: tb.container(&dash("reg")),
            port: free_port(),
            upstreams: Vec::new(),
            tb,
        }
    }

    /// Starts a node `<cluster>-<suffix>` with `role`, running the testbed's containerd.
    pub fn add_node(&self, role: &str, suffix: &str) -> Node {
        let name = self.tb.container(&format!("{}-{suffix}", self.tag));
        Node::start(name, &self.name, role, &self.network, self.tb.containerd())
    }

    /// The control-plane node.
    pub fn control_plane(&self) -> Node {
        Node {
            name: format!("{}-control-plane", self.name),
        }
    }

    /// Starts an upstream stand-in for `host` on the cluster network.
    pub fn add_upstream(&mut self, host: &str) -> &Upstream {
        let container = self.tb.container(&format!("upstream-{}", slug(host)));
        let port = start_registry(&container, &self.network);
        self.upstreams.push(Upstream {
            host: host.to_string(),
            container,
            port,
        });
        self.upstreams.last().expect("just pushed")
    }

    pub fn upstream(&self, host: &str) -> &Upstream {
        self.upstreams
            .iter()
            .find(|u| u.host == host)
            .unwrap_or_else(|| panic!("no upstream stand-in for {host}"))
    }

    /// The cache container dev-up makes for `host` (registered for cleanup): the test's own set
    /// of caches (`[cache] name`, see [`Cluster::config`]), which every cluster of the test
    /// shares, as every cluster on an engine shares `brrt-cache-<upstream>`.
    pub fn cache(&self, host: &str) -> String {
        self.tb.volume(&format!("cache-{}-data", slug(host)));
        self.tb.container(&format!("cache-{}", slug(host)))
    }

    /// The test's set of caches: what its configs name in `[cache] name`.
    pub fn cache_set(&self) -> String {
        self.tb.name("cache")
    }

    /// The volume of a registry container.
    pub fn volume(&self, container: &str) -> String {
        format!("{container}-data")
    }

    /// Writes brrt.toml: this cluster, its push registry, and the caches, each proxying its
    /// upstream stand-in when there is one.
    pub fn write_config(&self, cache: &CacheConfig<'_>) {
        self.project.write("brrt.toml", self.config(cache));
    }

    /// The text of that brrt.toml, for tests that save it their own way.
    pub fn config(&self, cache: &CacheConfig<'_>) -> String {
        let registry = self
            .registry
            .strip_prefix(&self.tb.name(""))
            .expect("a test name");
        self.tb.volume(&format!("{registry}-data"));
        let quoted: Vec<String> = cache.upstreams.iter().map(|u| format!("{u:?}")).collect();
        let mut text = format!(
            "[cluster]\nname = {:?}\nnetwork = {:?}\n\n\
             [registry]\nname = {:?}\nport = {}\nimage = {:?}\n\n\
             [cache]\nname = {:?}\nenabled = {}\nupstreams = [{}]\n\n[cache.remotes]\n",
            self.name,
            self.network,
            self.registry,
            self.port,
            self.tb.registry().image(),
            self.cache_set(),
            cache.enabled,
            quoted.join(", ")
        );
        for host in cache.upstreams {
            self.cache(host);
            if let Some(up) = self.upstreams.iter().find(|u| u.host == *host) {
                text.push_str(&format!("{:?} = {:?}\n", up.host, up.remote()));
            }
        }
        text
    }

    /// `brrt run <repo>/scripts/<script> [extra…]` in the project directory.
    pub fn run(&self, script_name: &str, extra: &[&str]) -> Output {
        self.project
            .brrt()
            .arg("run")
            .arg(script(script_name))
            .args(extra)
            .run()
    }

    pub fn dev_up(&self) -> Output {
        self.run("dev-up.rhai", &[])
    }

    /// `brrt run --watch scripts/dev-up.rhai` in the project, running until dropped.
    pub fn watch_dev_up(&self) -> Running {
        Running::new(
            self.project
                .brrt()
                .args(["run", "--watch"])
                .arg(script("dev-up.rhai"))
                .spawn(),
        )
    }

    /// dev-up, then the control plane pulls `docker.io/library/hello:1` through the cache: a
    /// working cache that holds something, where the tests that change things under it start.
    #[track_caller]
    pub fn up_with_hello_pulled(&self) -> Node {
        self.dev_up().success();
        let node = self.control_plane();
        node.must_pull("docker.io/library/hello:1");
        node
    }

    /// `cache.rhai -- ls [UPSTREAM]`.
    pub fn cache_ls(&self, upstream: Option<&str>) -> Output {
        let mut args = vec!["--", "ls"];
        args.extend(upstream);
        self.run("cache.rhai", &args)
    }

    /// Waits until `cache.rhai -- ls UPSTREAM` lists `image` (the proxy writes in the background).
    #[track_caller]
    pub fn wait_until_cached(&self, upstream: &str, image: &str) -> Output {
        wait_for(
            30,
            &format!("`cache ls {upstream}` to list {image}"),
            || {
                let out = self.cache_ls(Some(upstream));
                if out.code == Some(0) && out.stdout.contains(image) {
                    Ok(out)
                } else {
                    Err(format!("{out:?}"))
                }
            },
        )
    }
}

/// `text` without the lines of containerd 2.x's cgroup v1 notice.
fn without_cgroup_v1_notice(text: &str) -> String {
    text.lines()
        .filter(|l| !l.contains(CGROUP_V1_NOTICE))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `docker.io` → `docker-io`, as brrt names caches.
fn slug(host: &str) -> String {
    host.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// What `brrt-testbed/hello:1` and `:2` hold in `hello.txt`.
pub const HELLO_1: &str = "hello from brrt-testbed hello:1";
pub const HELLO_2: &str = "hello from brrt-testbed hello:2";

/// No cache: the push registry only.
pub const NO_CACHES: CacheConfig<'static> = CacheConfig {
    enabled: false,
    upstreams: &[],
};

/// A cache for docker.io only.
pub const DOCKER_HUB: CacheConfig<'static> = CacheConfig {
    enabled: true,
    upstreams: &["docker.io"],
};

/// A cluster with one node, a Docker Hub stand-in holding `library/hello:1`, and a brrt.toml
/// with a cache for docker.io that proxies the stand-in. Nothing brrt makes exists yet.
pub fn docker_hub_cluster(tb: &Testbed) -> Cluster<'_> {
    let mut cluster = Cluster::new(tb);
    cluster
        .add_upstream("docker.io")
        .push("brrt-testbed/hello:1", "library/hello:1");
    cluster.write_config(&DOCKER_HUB);
    cluster
}

/// The action in a flow's table for the row `what` whose name contains `name`.
#[track_caller]
pub fn row(out: &Output, what: &str, name: &str) -> String {
    let line = out
        .stdout
        .lines()
        .find(|l| l.starts_with(what) && l.contains(name))
        .unwrap_or_else(|| panic!("no `{what}` row for {name}:\n{}", out.stdout));
    line.split_whitespace()
        .last()
        .unwrap_or_default()
        .to_string()
}

/// A cluster with one node and two upstream stand-ins: Docker Hub holding `library/hello:1`, and
/// quay.io holding hello:2 as `quay_repo_tag`. No brrt.toml yet.
pub fn docker_and_quay_cluster<'t>(tb: &'t Testbed, quay_repo_tag: &str) -> Cluster<'t> {
    let mut cluster = Cluster::new(tb);
    cluster
        .add_upstream("docker.io")
        .push("brrt-testbed/hello:1", "library/hello:1");
    cluster
        .add_upstream("quay.io")
        .push("brrt-testbed/hello:2", quay_repo_tag);
    cluster
}
