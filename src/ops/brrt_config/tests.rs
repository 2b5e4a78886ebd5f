//! The config check as a user meets it: what a brrt.toml gets, and how each mistake is named.

use super::values::duration;
use super::*;

fn problems(text: &str) -> String {
    parse("team.toml", text).unwrap_err().to_string()
}

#[test]
fn defaults_fill_what_is_not_written() {
    let c = parse("b.toml", "[cluster]\nname = \"dev\"\n").unwrap();
    assert_eq!(c.registry.port, 5001);
    assert_eq!(c.cache.upstreams, DEFAULT_UPSTREAMS.map(String::from));
    assert_eq!(c.cache.image, "registry:3");
    assert_eq!(c.registry.host_ip, "127.0.0.1");
}

#[test]
fn empty_is_an_error_naming_the_file() {
    for text in ["", "  \n\t\n"] {
        let e = problems(text);
        assert!(e.starts_with("team.toml: the config is empty"), "{e}");
    }
}

#[test]
fn typos_name_file_line_column_and_the_likely_key() {
    let e = problems("[cache]\nupstream = [\"docker.io\"]\n");
    assert!(
        e.starts_with(
            "team.toml:2:1: unknown key `upstream` in [cache]; did you mean `upstreams`?"
        ),
        "{e}"
    );
    let e = problems("[cahce]\nenabled = true\n");
    assert!(
        e.contains("team.toml:1:2: unknown key `cahce` at the top level; did you mean `cache`?"),
        "{e}"
    );
}

#[test]
fn types_are_named_in_words() {
    let e = problems("[registry]\nport = \"5001\"\n");
    assert!(
        e.contains("team.toml:2:8: registry.port: expected an integer, found a string"),
        "{e}"
    );
    assert!(!e.contains("i64"), "{e}");
}

#[test]
fn colliding_and_malformed_upstreams_are_refused() {
    let e = problems("[cache]\nupstreams = [\"docker.io\", \"docker-io\"]\n");
    assert!(
        e.contains("`docker.io` and `docker-io` would share one cache"),
        "{e}"
    );
    let e = problems("[cache]\nupstreams = [\"../../etc\"]\n");
    assert!(
        e.contains("team.toml:2:14: cache.upstreams: `../../etc` is not a registry host"),
        "{e}"
    );
}

#[test]
fn host_ip_must_be_an_address() {
    assert_eq!(
        parse("b.toml", "[registry]\nhost_ip = \"localhost\"\n")
            .unwrap()
            .registry
            .host_ip,
        "127.0.0.1"
    );
    let e = problems("[registry]\nhost_ip = \"not-an-ip\"\n");
    assert!(
        e.contains("registry.host_ip: `not-an-ip` is not an IP address"),
        "{e}"
    );
    let wide = parse("b.toml", "[registry]\nhost_ip = \"0.0.0.0\"\n").unwrap();
    assert!(wide.warnings[0].contains("reachable from the network"));
}

#[test]
fn team_keys_pass_through() {
    let c = parse("b.toml", "[team]\nowner = \"infra\"\n[team.extra]\nn = 3\n").unwrap();
    assert_eq!(c.team["owner"], "infra");
    assert_eq!(c.team["extra"]["n"], 3);
}

#[test]
fn the_cluster_context_is_kinds_unless_set() {
    let c = parse("b.toml", "[cluster]\nname = \"dev\"\n").unwrap();
    assert_eq!(c.cluster.context, "kind-dev");
    assert!(!c.cluster.create);
    assert_eq!((c.cluster.workers, c.cluster.node_image), (0, None));
    let c = parse(
        "b.toml",
        "[cluster]\nname = \"dev\"\ncontext = \"team-dev\"\n",
    )
    .unwrap();
    assert_eq!(c.cluster.context, "team-dev");
}

#[test]
fn creation_keys_are_checked() {
    let c = parse(
        "b.toml",
        "[cluster]\ncreate = true\nworkers = 2\nnode_image = \"kindest/node:v1.33.1\"\n",
    )
    .unwrap();
    assert!(c.cluster.create);
    assert_eq!(c.cluster.workers, 2);
    assert_eq!(
        c.cluster.node_image.as_deref(),
        Some("kindest/node:v1.33.1")
    );
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);

    let e = problems("[cluster]\nworkers = -1\n");
    assert!(
        e.contains("team.toml:2:11: cluster.workers: -1 is not a number of worker nodes"),
        "{e}"
    );
    let e = problems("[cluster]\ncreate = \"yes\"\n");
    assert!(
        e.contains("cluster.create: expected a boolean, found a string"),
        "{e}"
    );
    let e = problems("[cluster]\nnode_image = \"kindest/node v1\"\n");
    assert!(
        e.contains("cluster.node_image: `kindest/node v1` is not an image reference"),
        "{e}"
    );
    let e = problems("[cluster]\ncontext = \"\"\n");
    assert!(
        e.contains("cluster.context: `` is not a kubeconfig context name"),
        "{e}"
    );
    let e = problems("[cluster]\nworker = 2\n");
    assert!(
        e.contains("unknown key `worker` in [cluster]; did you mean `workers`?"),
        "{e}"
    );
}

#[test]
fn creation_keys_without_create_are_warned_about() {
    let c = parse("b.toml", "[cluster]\nworkers = 2\n").unwrap();
    assert!(
        c.warnings[0].contains("set cluster.create = true"),
        "{:?}",
        c.warnings
    );
}

#[test]
fn warm_lists_are_image_references() {
    let c = parse(
        "ci/brrt.toml",
        "[cache]\nwarm = [\"postgres:16\", \"ghcr.io/team/app@sha256:ec05c98f076bd19b0d85a2f9d022dde83224a7652750d69a157d388eb501df16\"]\nwarm_files = [\"k8s/\", \"/abs/images.txt\"]\nwarm_on_up = true\n",
    )
    .unwrap();
    assert_eq!(c.cache.warm.len(), 2);
    assert_eq!(c.cache.warm_files, ["ci/k8s/", "/abs/images.txt"]);
    assert!(c.cache.warm_on_up);
    let e = problems("[cache]\nwarm = [\"redis:7\", \"Postgres:16\"]\n");
    assert!(
        e.contains("team.toml:2:20: cache.warm: `Postgres:16` is not an image reference: repository names must be lowercase"),
        "{e}"
    );
    let e = problems("[cache]\nwarm_files = [\"\"]\n");
    assert!(e.contains("cache.warm_files: a path is empty"), "{e}");
}

#[test]
fn shared_caches_are_hosts_with_urls() {
    let c = parse(
        "b.toml",
        "[cache.shared]\n\"docker.io\" = \"https://cache.team.example/v2/dockerhub/\"\n",
    )
    .unwrap();
    assert_eq!(
        c.cache.team_caches["docker.io"],
        "https://cache.team.example/v2/dockerhub"
    );
    let e = problems("[cache.shared]\n\"docker.io\" = \"cache.team.example\"\n");
    assert!(
        e.contains("team.toml:2:15: cache.shared: the team cache for `docker.io` must be an http:// or https:// URL"),
        "{e}"
    );
    let e = problems("[cache.shared]\n\"Docker.io\" = \"https://x\"\n");
    assert!(
        e.contains("cache.shared: `Docker.io` is not a registry host"),
        "{e}"
    );
    let e = problems("[cache.shared]\n\"docker.io\" = \"https://me:secret@x\"\n");
    assert!(
        e.contains("set BRRT_DOCKER_IO_USERNAME and BRRT_DOCKER_IO_PASSWORD"),
        "{e}"
    );
    assert!(e.contains("\"https://***@x\""), "{e}");
    assert!(!e.contains("me:secret") && !e.contains("secret@"), "{e}");
    let e = problems("[cache.remotes]\n\"quay.io\" = \"https://robot:hunter2@mirror.example\"\n");
    assert!(
        e.contains("team.toml:2:13: cache.remotes: the URL for `quay.io` holds a user or password"),
        "{e}"
    );
    assert!(
        e.contains("write \"https://mirror.example\" and set BRRT_QUAY_IO_USERNAME"),
        "{e}"
    );
    assert!(!e.contains("hunter2") && !e.contains("robot"), "{e}");
    let both = parse(
        "b.toml",
        "[cache.remotes]\n\"docker.io\" = \"https://m\"\n[cache.shared]\n\"docker.io\" = \"https://x\"\n",
    )
    .unwrap();
    assert!(both.warnings[0].contains("in both [cache.remotes] and [cache.shared]"));
}

#[test]
fn durations_are_checked() {
    assert!(duration("168h").is_ok() && duration("1h30m").is_ok());
    assert!(duration("a week").is_err() && duration("10").is_err());
}
