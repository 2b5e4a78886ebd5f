//! The Docker network a kind cluster is on, taken from its nodes: kind puts them on `kind`, or
//! on `KIND_EXPERIMENTAL_DOCKER_NETWORK`, and the registries must join that network for the
//! nodes to resolve them by name. A config that names another network than the nodes' is an
//! error that names both, never a run that passes while every pull fails.

use super::Node;
use serde::Serialize;
use std::collections::BTreeSet;

/// The variable kind reads to put a new cluster's nodes on another network than `kind`.
pub const KIND_NETWORK_VAR: &str = "KIND_EXPERIMENTAL_DOCKER_NETWORK";
/// The network kind puts nodes on when nothing says otherwise.
pub const KIND_DEFAULT_NETWORK: &str = "kind";

/// The network a flow uses for the cluster, where that came from, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterNetwork {
    /// The network's name. With a problem, the configured (or default) one, so that flows
    /// that only look still have a name.
    pub name: String,
    /// Where the name came from: `the nodes`, `brrt.toml:3`, `KIND_EXPERIMENTAL_DOCKER_NETWORK`
    /// or `kind's default`.
    pub from: String,
    /// One line naming both networks and what to do, when the config and the nodes disagree
    /// (or the nodes share no network).
    pub problem: Option<String>,
}

/// What the config says about the network: its value, and where it was set (`None` when it
/// is the default).
#[derive(Debug, Clone, Copy)]
pub struct Configured<'a> {
    pub network: &'a str,
    pub at: Option<&'a str>,
}

/// The network for `cluster`, whose nodes are `nodes` (empty before it exists). `env_network`
/// is `KIND_EXPERIMENTAL_DOCKER_NETWORK`, as kind would read it.
pub fn cluster_network(
    cluster: &str,
    nodes: &[Node],
    configured: Configured<'_>,
    env_network: Option<&str>,
) -> ClusterNetwork {
    let env_network = env_network.filter(|n| !n.is_empty());
    // Without nodes, the network is the one kind will put them on.
    let fallback = match (configured.at, env_network) {
        (Some(at), _) => ClusterNetwork {
            name: configured.network.to_string(),
            from: at.to_string(),
            problem: None,
        },
        (None, Some(env)) => ClusterNetwork {
            name: env.to_string(),
            from: KIND_NETWORK_VAR.to_string(),
            problem: None,
        },
        (None, None) => ClusterNetwork {
            name: KIND_DEFAULT_NETWORK.to_string(),
            from: "kind's default".to_string(),
            problem: None,
        },
    };
    if nodes.is_empty() {
        return fallback;
    }
    let mut shared: BTreeSet<&str> = nodes[0].networks.iter().map(String::as_str).collect();
    for node in &nodes[1..] {
        let on: BTreeSet<&str> = node.networks.iter().map(String::as_str).collect();
        shared = shared.intersection(&on).copied().collect();
    }
    let problem = |text: String| ClusterNetwork {
        problem: Some(text),
        ..fallback.clone()
    };
    if shared.is_empty() {
        let each: Vec<String> = nodes
            .iter()
            .map(|n| format!("{} on {}", n.name, list(&n.networks)))
            .collect();
        return problem(format!(
            "the nodes of kind cluster {cluster} share no Docker network ({}), so no registry \
             can reach them all; connect them to the cluster's network (docker network connect \
             NETWORK NODE) or re-create the cluster",
            each.join("; ")
        ));
    }
    if let Some(at) = configured.at {
        if shared.contains(configured.network) {
            return fallback;
        }
        let theirs = quoted(&shared);
        let key = at.split(':').next().unwrap_or(at);
        let set = match shared.iter().next() {
            Some(one) if shared.len() == 1 => format!("network = \"{one}\""),
            _ => format!("network to one of {theirs}"),
        };
        return problem(format!(
            "{at}: cluster.network is \"{}\", but the nodes of kind cluster {cluster} are on \
             {theirs}, so they could not resolve the registries on \"{}\": set {set} under \
             [cluster] in {key}, or remove the line and brrt takes the network from the nodes",
            configured.network, configured.network
        ));
    }
    // Not configured: the nodes' one network; of several, the one kind would have chosen.
    if shared.len() == 1 {
        let one = shared.iter().next().expect("one network");
        return ClusterNetwork {
            name: (*one).to_string(),
            from: "the nodes".to_string(),
            problem: None,
        };
    }
    for preferred in [env_network, Some(KIND_DEFAULT_NETWORK)]
        .into_iter()
        .flatten()
    {
        if shared.contains(preferred) {
            return ClusterNetwork {
                name: preferred.to_string(),
                from: "the nodes".to_string(),
                problem: None,
            };
        }
    }
    problem(format!(
        "the nodes of kind cluster {cluster} are on several Docker networks ({}); say which one \
         the registries join: network = \"NAME\" under [cluster] in brrt.toml",
        quoted(&shared)
    ))
}

/// `"a"`, or `"a", "b"`.
fn quoted(names: &BTreeSet<&str>) -> String {
    let q: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    let noun = if q.len() == 1 { "network" } else { "networks" };
    format!("{noun} {}", q.join(", "))
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "no network".to_string()
    } else {
        names.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, networks: &[&str]) -> Node {
        Node {
            name: name.into(),
            role: "control-plane".into(),
            id: String::new(),
            running: true,
            networks: networks.iter().map(|n| (*n).to_string()).collect(),
        }
    }

    const DEFAULT: Configured<'static> = Configured {
        network: "kind",
        at: None,
    };

    #[test]
    fn without_nodes_the_config_then_kinds_variable_then_kind() {
        let set = Configured {
            network: "dev",
            at: Some("brrt.toml:3"),
        };
        let n = cluster_network("c", &[], set, Some("other"));
        assert_eq!((n.name.as_str(), n.from.as_str()), ("dev", "brrt.toml:3"));
        let n = cluster_network("c", &[], DEFAULT, Some("other"));
        assert_eq!(
            (n.name.as_str(), n.from.as_str()),
            ("other", KIND_NETWORK_VAR)
        );
        let n = cluster_network("c", &[], DEFAULT, None);
        assert_eq!(n.name, "kind");
        assert_eq!(n.problem, None);
    }

    #[test]
    fn the_nodes_network_wins_over_the_default() {
        let nodes = [
            node("c-control-plane", &["lab"]),
            node("c-worker", &["lab"]),
        ];
        let n = cluster_network("c", &nodes, DEFAULT, None);
        assert_eq!((n.name.as_str(), n.from.as_str()), ("lab", "the nodes"));
        assert_eq!(n.problem, None);
    }

    #[test]
    fn a_configured_network_the_nodes_are_not_on_names_both() {
        let nodes = [node("c-control-plane", &["lab"])];
        let set = Configured {
            network: "kind",
            at: Some("brrt.toml:3"),
        };
        let n = cluster_network("c", &nodes, set, None);
        let problem = n.problem.expect("a problem");
        assert!(problem.starts_with("brrt.toml:3: cluster.network is \"kind\""));
        assert!(problem.contains("on network \"lab\""), "{problem}");
        assert!(problem.contains("set network = \"lab\""), "{problem}");
        assert_eq!(n.name, "kind");
    }

    #[test]
    fn of_several_shared_networks_the_one_kind_chose() {
        let nodes = [node("c-control-plane", &["kind", "lab"])];
        assert_eq!(cluster_network("c", &nodes, DEFAULT, None).name, "kind");
        assert_eq!(
            cluster_network("c", &nodes, DEFAULT, Some("lab")).name,
            "lab"
        );
        let nodes = [node("c-control-plane", &["a", "b"])];
        let n = cluster_network("c", &nodes, DEFAULT, None);
        assert!(n.problem.unwrap().contains("several Docker networks"));
    }

    #[test]
    fn nodes_that_share_no_network_are_a_problem() {
        let nodes = [node("c-control-plane", &["a"]), node("c-worker", &["b"])];
        let n = cluster_network("c", &nodes, DEFAULT, None);
        let problem = n.problem.unwrap();
        assert!(
            problem.contains("c-control-plane on a; c-worker on b"),
            "{problem}"
        );
    }
}
