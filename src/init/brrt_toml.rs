//! The brrt.toml that `brrt init` writes: commented, filled with what it found (the kind
//! cluster, a free port, the registries the repository pulls from), and always one that
//! brrt's own schema accepts.

use super::image_refs::{FoundImage, Unread};
use crate::ops::brrt_config::DEFAULT_UPSTREAMS;
use crate::ops::kind::ClusterNetwork;
use crate::ops::upstream::KNOWN_UPSTREAMS;
use std::fmt::Write as _;

/// The cluster name when no kind cluster exists yet.
pub const DEFAULT_CLUSTER: &str = "brrt-dev";
/// The push registry's name and port in kind's own local-registry guide, which teams follow.
pub const DEFAULT_REGISTRY: &str = "kind-registry";
pub const DEFAULT_PORT: u16 = 5001;

/// What `brrt init` found out before writing brrt.toml.
#[derive(Debug, Clone)]
pub struct Findings {
    /// The kind clusters on the engine, sorted; `None` when the engine could not be asked.
    pub clusters: Option<Vec<String>>,
    /// The network of each cluster's nodes, and the one a cluster not made yet goes on (under
    /// the key ""): kind's default, or KIND_EXPERIMENTAL_DOCKER_NETWORK.
    pub networks: std::collections::BTreeMap<String, ClusterNetwork>,
    /// The name of the current kubectl context, when it is a kind cluster's (`kind-NAME`).
    pub kube_context: Option<String>,
    /// The repository's folder name, a hint when several clusters exist.
    pub repo_name: String,
    /// The push registry's name, and why it is not `kind-registry` when it is not.
    pub registry: String,
    pub registry_note: Option<String>,
    /// The push registry's port, and why it is not 5001 when it is not.
    pub port: u16,
    pub port_note: Option<String>,
    pub refs: Vec<FoundImage>,
    /// The files that may name images but could not be read for them.
    pub unread: Vec<Unread>,
}

/// The cluster picked, and a sentence saying how.
pub fn pick_cluster(f: &Findings) -> (String, String) {
    let Some(clusters) = &f.clusters else {
        return (
            DEFAULT_CLUSTER.to_string(),
            "Docker could not be asked for kind clusters".to_string(),
        );
    };
    match clusters.as_slice() {
        [] => (
            DEFAULT_CLUSTER.to_string(),
            "no kind cluster exists yet".to_string(),
        ),
        [one] => (
            one.clone(),
            "the only kind cluster on this engine".to_string(),
        ),
        several => {
            let all = several.join(", ");
            let current = f
                .kube_context
                .as_ref()
                .and_then(|c| c.strip_prefix("kind-"))
                .filter(|c| several.iter().any(|s| s == c));
            if let Some(current) = current {
                return (
                    current.to_string(),
                    format!("kind clusters {all}; picked {current}, the current kubectl context"),
                );
            }
            if let Some(same) = several.iter().find(|s| **s == f.repo_name) {
                return (
                    same.clone(),
                    format!("kind clusters {all}; picked {same}, named like this repository"),
                );
            }
            (
                several[0].clone(),
                format!(
                    "kind clusters {all}; picked {}, the first by name",
                    several[0]
                ),
            )
        }
    }
}

/// The upstreams to cache: the known registries the repository pulls from, in the catalogue's
/// order, or the defaults when it names none. Also the other registries it names, which need a
/// remote before they can be cached.
pub fn upstreams(refs: &[FoundImage]) -> (Vec<String>, Vec<String>) {
    let known: Vec<String> = KNOWN_UPSTREAMS
        .iter()
        .map(|(h, _)| h.to_string())
        .filter(|h| refs.iter().any(|r| r.host == *h))
        .collect();
    let mut other: Vec<String> = refs
        .iter()
        .map(|r| r.host.clone())
        .filter(|h| !KNOWN_UPSTREAMS.iter().any(|(k, _)| k == h))
        .collect();
    other.sort();
    other.dedup();
    if known.is_empty() {
        (DEFAULT_UPSTREAMS.map(String::from).to_vec(), other)
    } else {
        (known, other)
    }
}

/// Where each upstream is named, shortly: `docker.io (postgres:16-alpine in k8s/db.yaml)`.
fn named_where(host: &str, refs: &[FoundImage]) -> String {
    let mine: Vec<&FoundImage> = refs.iter().filter(|r| r.host == host).collect();
    let first = mine[0];
    let more = if mine.len() > 1 {
        format!(", and {} more", mine.len() - 1)
    } else {
        String::new()
    };
    format!("{host} ({} in {}{more})", first.reference, first.file)
}

/// A TOML string, quoted by the toml serializer (a name found on the machine may hold anything).
fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// Text for a `#` comment: one line, whatever a file name or a note holds.
fn comment(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

/// The text of brrt.toml. Comments make it a document rather than a serialized struct, so the
/// values in it go through [`toml_string`].
pub fn render(f: &Findings) -> String {
    let (cluster, how) = pick_cluster(f);
    let (upstreams, other) = upstreams(&f.refs);
    let quoted: Vec<String> = upstreams.iter().map(|u| toml_string(u)).collect();
    let mut t = String::new();
    t.push_str(
        "# brrt.toml: the local registries of this repository's kind dev loop. Written by\n\
         # `brrt init`; edit it freely. brrt checks it whole before a flow changes anything.\n\
         # `brrt run dev-up` applies it; `brrt run --watch dev-up` applies every save.\n\n",
    );
    t.push_str(
        "[cluster]\n\
         # The kind cluster whose nodes pull through the caches (its nodes are the containers\n\
         # labelled io.x-k8s.kind.cluster=<name>).\n",
    );
    let _ = writeln!(t, "# Found: {}.", comment(&how));
    let _ = writeln!(t, "name = {}", toml_string(&cluster));
    let (network, found) = match f.networks.get(&cluster).or_else(|| f.networks.get("")) {
        Some(n) if n.problem.is_none() && n.from == "the nodes" => (
            n.name.clone(),
            format!(
                "the Docker network the nodes of {} are on",
                comment(&cluster)
            ),
        ),
        Some(n) if n.problem.is_none() => (
            n.name.clone(),
            format!("the Docker network kind puts the nodes on ({})", n.from),
        ),
        _ => (
            "kind".to_string(),
            "the Docker network the nodes are on".to_string(),
        ),
    };
    let _ = writeln!(t, "# {found}; the registries join it.");
    let _ = writeln!(t, "network = {}\n", toml_string(&network));
    t.push_str(
        "[registry]\n\
         # The push registry for your own builds: docker push localhost:<port>/my-service:dev\n",
    );
    if let Some(note) = &f.registry_note {
        let _ = writeln!(t, "# {}.", comment(note));
    }
    let _ = writeln!(t, "name = {}", toml_string(&f.registry));
    match &f.port_note {
        Some(note) => {
            let _ = writeln!(t, "# {}", comment(note));
            let _ = writeln!(t, "port = {}", f.port);
        }
        None => {
            let _ = writeln!(t, "port = {}                  # on 127.0.0.1", f.port);
        }
    }
    let _ = writeln!(
        t,
        "image = {}         # distribution v3; \"registry:2\" (2.8) works too\n",
        toml_string(crate::ops::registry::DEFAULT_IMAGE)
    );
    t.push_str(
        "[cache]\n\
         # One pull-through cache per upstream registry; a node pulls through it, and it keeps\n\
         # what it pulled in a volume that outlives the container. Every cluster on this Docker\n\
         # engine whose config names the same set shares them (brrt-cache-docker-io, …).\n\
         # name = \"brrt-cache\"       # another name gives this config caches of its own\n\
         enabled = true\n",
    );
    if f.refs.is_empty() && !f.unread.is_empty() {
        let _ = writeln!(
            t,
            "# No image is named in the files brrt init could read ({} it could not read, and it\n\
             # said why): the defaults.",
            f.unread.len()
        );
    } else if f.refs.is_empty() {
        t.push_str(
            "# No image is named in this repository's manifests or Tiltfile: the defaults.\n",
        );
    } else {
        let named: Vec<String> = upstreams
            .iter()
            .filter(|u| f.refs.iter().any(|r| &r.host == *u))
            .map(|u| named_where(u, &f.refs))
            .collect();
        if named.is_empty() {
            t.push_str("# No image here comes from a registry brrt knows: the defaults.\n");
        } else {
            t.push_str("# The registries this repository's manifests and Tiltfile pull from:\n");
            for n in named {
                let _ = writeln!(t, "#   {}", comment(&n));
            }
        }
    }
    let _ = writeln!(t, "upstreams = [{}]", quoted.join(", "));
    for host in &other {
        let _ = writeln!(
            t,
            "# Also named: {}. To cache it, add it to upstreams and give its remote under\n\
             # [cache.remotes], e.g. {} = {}.",
            comment(&named_where(host, &f.refs)),
            toml_string(host),
            toml_string(&format!("https://{host}"))
        );
    }
    t.push_str(
        "# ttl = \"168h\"             # how long cached content is kept\n\
         # offline = false           # true: serve what the caches hold, never contacting upstreams\n\n\
         # [cache.remotes]           # another remote for an upstream (a corporate mirror)\n\
         # \"docker.io\" = \"https://mirror.example.com\"\n\n\
         # [team]                    # keys of your own flows, passed to them unchecked\n",
    );
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::brrt_config;

    fn findings(clusters: Option<&[&str]>, refs: &[(&str, &str)]) -> Findings {
        Findings {
            clusters: clusters.map(|c| c.iter().map(|s| s.to_string()).collect()),
            networks: Default::default(),
            kube_context: None,
            repo_name: "shop".into(),
            registry: DEFAULT_REGISTRY.into(),
            registry_note: None,
            port: DEFAULT_PORT,
            port_note: None,
            refs: refs
                .iter()
                .filter_map(|(r, file)| {
                    Some(FoundImage {
                        reference: r.to_string(),
                        host: super::super::image_refs::registry_host(r)?,
                        file: file.to_string(),
                    })
                })
                .collect(),
            unread: Vec::new(),
        }
    }

    #[test]
    fn what_init_writes_passes_brrts_own_schema() {
        let cases = [
            findings(None, &[]),
            findings(Some(&[]), &[]),
            findings(
                Some(&["dev"]),
                &[
                    ("postgres:16-alpine", "k8s/db.yaml"),
                    ("quay.io/prometheus/prometheus:v2.48.0", "k8s/prom.yaml"),
                    ("registry.example.com:5000/team/app:1", "Tiltfile"),
                ],
            ),
            Findings {
                port: 5002,
                port_note: Some("5001 is taken by process x (pid 1)".into()),
                ..findings(
                    Some(&["a", "b"]),
                    &[("registry.example.com/x:1", "k8s/x.yaml")],
                )
            },
            // Found on the machine, so anything: a quote and a line break in a file name.
            Findings {
                registry_note: Some("kept \"kind-registry\"\nas it was".into()),
                ..findings(None, &[("postgres:16", "k8s/\"odd\"\nname.yaml")])
            },
        ];
        for f in cases {
            let text = render(&f);
            let config = brrt_config::parse("brrt.toml", &text)
                .unwrap_or_else(|e| panic!("{e}\n--- brrt.toml ---\n{text}"));
            assert_eq!(config.registry.port, f.port, "{text}");
            assert_eq!(config.registry.name, "kind-registry");
        }
    }

    #[test]
    fn upstreams_are_those_named_else_the_defaults() {
        let f = findings(
            Some(&["dev"]),
            &[
                ("quay.io/prometheus/prometheus:v2.48.0", "k8s/prom.yaml"),
                ("postgres:16-alpine", "k8s/db.yaml"),
                ("redis:7", "k8s/cache.yaml"),
            ],
        );
        let text = render(&f);
        let config = brrt_config::parse("brrt.toml", &text).unwrap();
        assert_eq!(config.cache.upstreams, ["docker.io", "quay.io"]);
        assert_eq!(config.cluster.name, "dev");
        assert!(
            text.contains("#   docker.io (postgres:16-alpine in k8s/db.yaml, and 1 more)"),
            "{text}"
        );
        let none = brrt_config::parse("brrt.toml", &render(&findings(Some(&[]), &[]))).unwrap();
        assert_eq!(none.cache.upstreams, DEFAULT_UPSTREAMS.map(String::from));
        assert_eq!(none.cluster.name, "brrt-dev");
    }

    #[test]
    fn several_clusters_prefer_the_kubectl_context_then_the_repository_name() {
        let mut f = findings(Some(&["alpha", "shop", "zeta"]), &[]);
        assert_eq!(pick_cluster(&f).0, "shop");
        f.kube_context = Some("kind-zeta".into());
        let (name, how) = pick_cluster(&f);
        assert_eq!(name, "zeta");
        assert!(how.contains("alpha, shop, zeta") && how.contains("current kubectl context"));
        f.kube_context = Some("gke_prod".into());
        f.repo_name = "other".into();
        assert_eq!(pick_cluster(&f).0, "alpha");
    }
}
