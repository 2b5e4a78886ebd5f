//! Docker Hub's pull limit in sight (issue 20): `doctor` and `cache stats` show the pulls left
//! and whose they are, dev-up warns once when few are left, and a `429 TOOMANYREQUESTS` the
//! upstream gave a cache is named in `cache logs` and `doctor` with what to do.
//!
//! Docker Hub cannot be reached here: its place is taken by `standins::docker_hub`, a stand-in
//! named as one, which speaks the registry protocol as Docker Hub does for a pull (bearer
//! tokens from its realm, basic auth for accounts, `ratelimit-*` headers on manifest requests,
//! only a GET counted, 429 once the limit is used up). It listens on the gateway of the test
//! cluster's network: brrt on this machine and the cache container reach it at the one address
//! the cache's remote (`[cache.remotes]`) names, as a user's brrt and cache both reach Docker
//! Hub. The caches are real distribution (2.8 and v3), the nodes real containerd.

use crate::standins::docker_hub::{Account, DockerHub, Who};
use crate::support::cluster::{script, wait_for, Cluster, DOCKER_HUB};
use crate::support::{docker, Containerd, Output, Registry, Running, Testbed};
use std::time::Duration;

/// The address of the cluster network's gateway: this machine, as the containers on the
/// network reach it.
fn gateway(network: &str) -> String {
    docker(&[
        "network",
        "inspect",
        "--format",
        "{{range .IPAM.Config}}{{.Gateway}}{{end}}",
        network,
    ])
}

/// A cluster with one node whose docker.io cache proxies a Docker Hub stand-in holding
/// `library/hello:1` and `:2`, with `anonymous` pulls per window for anonymous pulls and the
/// given accounts.
fn hub_cluster<'t>(
    tb: &'t Testbed,
    anonymous: u32,
    accounts: &[Account],
) -> (Cluster<'t>, DockerHub) {
    let cluster = Cluster::new(tb);
    let hub = DockerHub::start(&gateway(&cluster.network), anonymous, accounts);
    hub.add_image("library/hello", "1", &[("hello.txt", "hello 1")]);
    hub.add_image("library/hello", "2", &[("hello.txt", "hello 2")]);
    let config = format!(
        "{}\"docker.io\" = {:?}\n",
        cluster.config(&DOCKER_HUB),
        hub.url()
    );
    cluster.project.write("brrt.toml", config);
    (cluster, hub)
}

fn doctor(cluster: &Cluster<'_>) -> Output {
    cluster.run("doctor.rhai", &[])
}

/// Every request brrt or the cache made for the probe repository.
fn probes(hub: &DockerHub) -> Vec<String> {
    hub.requests()
        .into_iter()
        .filter(|r| r.contains("/ratelimitpreview/test/"))
        .collect()
}

/// The lines of a run's stderr that mention the pull limit.
fn limit_warnings(out: &str) -> Vec<&str> {
    out.lines()
        .filter(|l| l.starts_with("warning: docker.io:"))
        .collect()
}

/// doctor and `cache stats` read the pulls left from the cache's remote, anonymous and per IP
/// (the stand-in counts this machine and its containers as one address behind a NAT, as Docker
/// Hub does a laptop): a pull a node makes through the cache shows, the check itself never
/// counts, and it is a HEAD after the token dance.
#[test]
fn doctor_and_stats_show_the_pulls_left_in_the_window() {
    let Some(tb) = Testbed::require("pulllimit") else {
        return;
    };
    let (cluster, hub) = hub_cluster(&tb, 100, &[]);
    // The rest of the team behind the same NAT pulled 24 images this window.
    hub.pulled_elsewhere(&Who::Anonymous, 24);
    let up = cluster.dev_up();
    up.success();
    assert_eq!(limit_warnings(&up.stderr), Vec::<&str>::new(), "{up:?}");

    doctor(&cluster).success().stdout_contains(
        "ok    docker.io: 76 of 100 pulls left in this 6 h window (anonymous, per IP)\n",
    );
    assert_eq!(hub.pulls(&Who::Anonymous), 24, "a check counted as a pull");
    let asked = probes(&hub);
    assert!(
        asked.contains(&"HEAD /v2/ratelimitpreview/test/manifests/latest 401 -".to_string())
            && asked.contains(
                &"HEAD /v2/ratelimitpreview/test/manifests/latest 200 anonymous".to_string()
            )
            && asked.iter().all(|r| r.starts_with("HEAD ")),
        "{asked:?}"
    );
    assert!(
        hub.requests()
            .iter()
            .any(|r| r == "GET /token 200 anonymous"),
        "{:?}",
        hub.requests()
    );

    // A node pulls through the cache: the cache's pull counts, and brrt sees it.
    cluster
        .control_plane()
        .must_pull("docker.io/library/hello:1");
    assert_eq!(hub.pulls(&Who::Anonymous), 25);
    cluster
        .run("cache.rhai", &["--", "stats"])
        .success()
        .stdout_contains(
            "  docker.io: 75 of 100 pulls left in this 6 h window (anonymous, per IP)\n",
        );
    let json = cluster.run("cache.rhai", &["--", "stats", "--json"]);
    json.success();
    let stats: serde_json::Value = serde_json::from_str(&json.stdout).expect("stats --json");
    assert_eq!(stats[0]["pull_limit"]["remaining"], 75, "{stats}");
    assert_eq!(stats[0]["pull_limit"]["limit"], 100, "{stats}");
    assert_eq!(stats[0]["pull_limit"]["who"], "anonymous", "{stats}");
    assert_eq!(stats[0]["pull_limit"]["window"], 21600, "{stats}");
    assert_eq!(hub.pulls(&Who::Anonymous), 25, "stats counted as a pull");
}

/// With `BRRT_DOCKER_IO_USERNAME/PASSWORD` the cache pulls as the account, and the check reads
/// the account's limit with the same credentials, never printing them. Credentials the token
/// service refuses are a failure doctor names; an account without a limit (a paid plan) gets
/// no headers, and doctor says no limit is reported.
#[test]
fn the_check_reads_the_limit_of_the_caches_account() {
    let Some(tb) = Testbed::require("pulllimitaccount") else {
        return;
    };
    let accounts = [
        Account {
            user: "team-bot",
            password: "s3cret-pw",
            limit: Some(200),
        },
        Account {
            user: "paid-bot",
            password: "pa1d-pw",
            limit: None,
        },
    ];
    let (cluster, hub) = hub_cluster(&tb, 100, &accounts);
    let with = |user: &str, password: &str, flow: &str, args: &[&str]| {
        cluster
            .project
            .brrt()
            .env("BRRT_DOCKER_IO_USERNAME", user)
            .env("BRRT_DOCKER_IO_PASSWORD", password)
            .arg("run")
            .arg(script(flow))
            .args(args)
            .run()
    };
    with("team-bot", "s3cret-pw", "dev-up.rhai", &[]).success();
    cluster
        .control_plane()
        .must_pull("docker.io/library/hello:1");
    let bot = Who::Account("team-bot".into());
    assert_eq!((hub.pulls(&bot), hub.pulls(&Who::Anonymous)), (1, 0));

    let out = with("team-bot", "s3cret-pw", "doctor.rhai", &[]);
    out.success().stdout_contains(
        "ok    docker.io: 199 of 200 pulls left in this 6 h window (the account in \
         BRRT_DOCKER_IO_USERNAME)\n",
    );
    assert_eq!(hub.pulls(&bot), 1, "the check counted as a pull");
    assert!(hub
        .requests()
        .contains(&"HEAD /v2/ratelimitpreview/test/manifests/latest 200 team-bot".to_string()));

    let wrong = with("team-bot", "wrong-pw", "doctor.rhai", &[]);
    wrong.failure(1).stdout_contains(&format!(
        "FAIL  docker.io: {}/token refused the account in BRRT_DOCKER_IO_USERNAME/PASSWORD: 401 \
         incorrect username or password; the cache's pulls of new images fail too until they \
         are right (then run dev-up)\n",
        hub.url()
    ));

    // dev-up says so too, at every run: the cache it re-creates with them pulls nothing new.
    let wrong_up = with("team-bot", "wrong-pw", "dev-up.rhai", &[]);
    wrong_up.success().stderr_contains(&format!(
        "warning: docker.io: {}/token refused the account in BRRT_DOCKER_IO_USERNAME/PASSWORD: \
         401 incorrect username or password;",
        hub.url()
    ));

    with("paid-bot", "pa1d-pw", "doctor.rhai", &[])
        .success()
        .stdout_contains(&format!(
            "ok    docker.io: {} reports no pull limit (the account in BRRT_DOCKER_IO_USERNAME)\n",
            hub.url()
        ));
    // The account used elsewhere too: few of its pulls are left, and logging in is no advice.
    hub.pulled_elsewhere(&bot, 190);
    let low = with("team-bot", "s3cret-pw", "doctor.rhai", &[]);
    low.success().stdout_contains(
        "warn  docker.io: 9 of 200 pulls left in this 6 h window (the account in \
         BRRT_DOCKER_IO_USERNAME); warm images earlier with `cache warm`, use a team cache \
         ([cache.shared]), or an account with a higher limit in \
         BRRT_DOCKER_IO_USERNAME/PASSWORD\n",
    );
    for out in [&out, &wrong, &wrong_up, &low] {
        for secret in ["s3cret-pw", "wrong-pw"] {
            out.stdout_lacks(secret).stderr_lacks(secret);
        }
    }
}

on_both_stacks!(a_429_from_docker_hub_is_named_in_cache_logs_and_doctor);

/// The limit runs out while a node pulls: the stand-in answers the cache's manifest fetch with
/// 429 TOOMANYREQUESTS (distribution v3 passes the 429 on, 2.8 answers 500), the node's pull
/// fails, and `cache logs` and doctor name the refusal with what to do. dev-up warned once
/// before, when one pull was left. A new window lets the pull through.
fn a_429_from_docker_hub_is_named_in_cache_logs_and_doctor(stack: (Containerd, Registry)) {
    let Some(tb) = Testbed::require_stack("pulllimit429", stack) else {
        return;
    };
    let (cluster, hub) = hub_cluster(&tb, 100, &[]);
    hub.pulled_elsewhere(&Who::Anonymous, 99);
    let up = cluster.dev_up();
    up.success();
    let advice = "log in through BRRT_DOCKER_IO_USERNAME/PASSWORD (then run dev-up), warm \
                  images earlier with `cache warm`, or use a team cache ([cache.shared])";
    assert_eq!(
        limit_warnings(&up.stderr),
        vec![format!(
            "warning: docker.io: 1 of 100 pulls left in this 6 h window (anonymous, per IP); \
             {advice}"
        )],
        "{up:?}"
    );

    let mut logs = Running::new(
        cluster
            .project
            .brrt()
            .arg("run")
            .arg(script("cache.rhai"))
            .args(["--", "logs"])
            .spawn(),
    );
    logs.wait_for("logs to start following", Duration::from_secs(30), |l| {
        l.iter().any(|l| l.contains("following 1 cache(s)"))
    });
    let node = cluster.control_plane();
    node.must_pull("docker.io/library/hello:1");
    let refused = node
        .pull("docker.io/library/hello:2")
        .expect_err("a pull past the limit fails");
    assert_eq!(hub.pulls(&Who::Anonymous), 100);
    let status = match tb.registry() {
        Registry::V2 => 500,
        Registry::V3 => 429,
    };
    let told = format!(
        "HTTP {status}: docker.io refused it, its pull limit is used up (429 TOOMANYREQUESTS); \
         {advice}"
    );
    logs.wait_for("the refusal in cache logs", Duration::from_secs(30), |l| {
        l.iter().any(|l| {
            l.starts_with("docker.io  ") && l.contains("library/hello:2") && l.ends_with(&told)
        })
    });
    assert_eq!(logs.stop("-INT"), Some(130), "{refused}");

    let cache = cluster.cache("docker.io");
    let out = doctor(&cluster);
    out.failure(1)
        .stdout_contains(&format!(
            "FAIL  docker.io: 0 of 100 pulls left in this 6 h window (anonymous, per IP): new \
             images cannot be pulled through the cache until the window ends; {advice}\n"
        ))
        .stdout_contains(&format!("warn  {cache}: docker.io refused "))
        .stdout_contains(" with 429 TOOMANYREQUESTS, the last at ")
        .stdout_contains(&format!(
            "(library/hello:2): its pull limit was used up; {advice}\n"
        ));

    // The window rolls over: the pull goes through, doctor is content with the limit and still
    // tells of the refusal in the cache's log.
    hub.new_window();
    node.must_pull("docker.io/library/hello:2");
    wait_for(30, "doctor to see the new window", || {
        let out = doctor(&cluster);
        if out.code == Some(0)
            && out.stdout.contains(
                "ok    docker.io: 99 of 100 pulls left in this 6 h window (anonymous, per IP)\n",
            )
            && out
                .stdout
                .contains(&format!("warn  {cache}: docker.io refused"))
        {
            Ok(())
        } else {
            Err(format!("{out:?}"))
        }
    });
}

/// Under `--watch`, dev-up warns when the limit gets low, says nothing more while it stays
/// low, says so when a new window brings pulls back, and warns again when it is low again.
#[test]
fn dev_up_under_watch_warns_only_when_the_limit_gets_low() {
    let Some(tb) = Testbed::require("pulllimitwatch") else {
        return;
    };
    let (cluster, hub) = hub_cluster(&tb, 100, &[]);
    hub.pulled_elsewhere(&Who::Anonymous, 95);
    let mut watch = cluster.watch_dev_up();
    let low = |l: &String| l.starts_with("warning: docker.io: 5 of 100 pulls left");
    watch.wait_for("the first apply's warning", Duration::from_secs(90), |l| {
        l.iter().any(low)
    });

    // The first apply is reported as one (`start → …`); each save adds one.
    let mut saves = 0;
    let mut save = |watch: &mut Running| {
        saves += 1;
        let text = std::fs::read_to_string(cluster.project.path().join("brrt.toml")).unwrap();
        cluster
            .project
            .write("brrt.toml", format!("{text}# save {saves}\n"));
        watch.wait_for_applies(1 + saves);
    };
    // Still 5 left: nothing more is said.
    save(&mut watch);
    assert_eq!(
        watch.lines().iter().filter(|l| low(l)).count(),
        1,
        "{:?}",
        watch.lines()
    );

    hub.new_window();
    save(&mut watch);
    assert!(
        watch
            .lines()
            .iter()
            .any(|l| l == "docker.io: 100 of 100 pulls left in this 6 h window (anonymous, per IP)"),
        "{:?}",
        watch.lines()
    );

    hub.pulled_elsewhere(&Who::Anonymous, 95);
    save(&mut watch);
    assert_eq!(
        watch.lines().iter().filter(|l| low(l)).count(),
        2,
        "{:?}",
        watch.lines()
    );
    assert_eq!(hub.pulls(&Who::Anonymous), 95, "a check counted as a pull");
    // One process, one token: the later checks send it at once, without the 401 and the
    // token service.
    let asked = probes(&hub);
    assert_eq!(
        (
            asked.iter().filter(|r| r.ends_with(" 401 -")).count(),
            asked.len()
        ),
        (1, 5),
        "{asked:?}"
    );
    let tokens = hub
        .requests()
        .iter()
        .filter(|r| r.starts_with("GET /token "))
        .count();
    assert_eq!(tokens, 1, "{:?}", hub.requests());
}

/// One request to the stand-in over a plain socket: the status, the headers (names in lower
/// case) and the body.
fn request(
    hub: &DockerHub,
    method: &str,
    path: &str,
    auth: Option<&str>,
) -> (u16, Vec<(String, String)>, String) {
    use std::io::{Read, Write};
    let addr = hub.url().trim_start_matches("http://").to_string();
    let mut s = std::net::TcpStream::connect(&addr).expect("the stand-in listens");
    let auth = auth.map_or(String::new(), |a| format!("Authorization: {a}\r\n"));
    write!(s, "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines.next().unwrap()[9..12].parse().unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
        .collect();
    (status, headers, body.to_string())
}

fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The stand-in keeps to Docker Hub's rules, so that the tests above cannot pass against a
/// lenient one: no manifest without a bearer token for its repository, tokens only for the
/// registry's service and for right credentials, the headers on GET and HEAD, only a GET
/// counted, and 429 TOOMANYREQUESTS once the limit is used up, while a HEAD still answers.
#[test]
fn the_docker_hub_stand_in_is_strict() {
    let hub = DockerHub::start(
        "127.0.0.1",
        2,
        &[Account {
            user: "bot",
            password: "pw",
            limit: Some(5),
        }],
    );
    hub.add_image("library/hello", "1", &[("hello.txt", "hello 1")]);
    let manifest = "/v2/library/hello/manifests/1";
    let (status, headers, _) = request(&hub, "GET", manifest, None);
    assert_eq!(status, 401);
    assert_eq!(
        header(&headers, "www-authenticate"),
        Some(
            format!(
                "Bearer realm=\"{}/token\",service=\"registry.docker.io\",scope=\"repository:library/hello:pull\"",
                hub.url()
            )
            .as_str()
        )
    );
    let (status, _, _) = request(&hub, "GET", manifest, Some("Bearer made-up"));
    assert_eq!(status, 401);

    let token_path = "/token?service=registry.docker.io&scope=repository%3Alibrary%2Fhello%3Apull";
    let (status, _, body) = request(&hub, "GET", "/token?service=other&scope=x", None);
    assert_eq!(status, 400, "{body}");
    let (status, _, body) = request(&hub, "GET", token_path, Some("Basic Ym90Ondyb25n"));
    assert_eq!(
        (status, body.as_str()),
        (401, r#"{"details":"incorrect username or password"}"#)
    );
    let token = |auth: Option<&str>| {
        let (status, _, body) = request(&hub, "GET", token_path, auth);
        assert_eq!(status, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        format!("Bearer {}", v["token"].as_str().unwrap())
    };
    let anonymous = token(None);
    let other = request(
        &hub,
        "GET",
        "/v2/library/other/manifests/1",
        Some(&anonymous),
    );
    assert_eq!(other.0, 401);
    assert!(header(&other.1, "www-authenticate")
        .unwrap()
        .ends_with("error=\"insufficient_scope\""));

    let remaining =
        |headers: &[(String, String)]| header(headers, "ratelimit-remaining").map(str::to_string);
    let (status, headers, _) = request(&hub, "HEAD", manifest, Some(&anonymous));
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "ratelimit-limit"), Some("2;w=21600"));
    assert_eq!(remaining(&headers).as_deref(), Some("2;w=21600"));
    assert_eq!(
        header(&headers, "docker-ratelimit-source"),
        Some("203.0.113.7")
    );
    for left in ["1;w=21600", "0;w=21600"] {
        let (status, headers, _) = request(&hub, "GET", manifest, Some(&anonymous));
        assert_eq!((status, remaining(&headers).as_deref()), (200, Some(left)));
    }
    let (status, headers, body) = request(&hub, "GET", manifest, Some(&anonymous));
    assert_eq!(status, 429);
    assert_eq!(remaining(&headers).as_deref(), Some("0;w=21600"));
    assert!(body.contains(r#""code":"TOOMANYREQUESTS""#), "{body}");
    let (status, headers, _) = request(&hub, "HEAD", manifest, Some(&anonymous));
    assert_eq!(
        (status, remaining(&headers).as_deref()),
        (200, Some("0;w=21600"))
    );
    assert_eq!(hub.pulls(&Who::Anonymous), 2);

    // An account counts on its own, and is told by its id rather than an address.
    let bot = token(Some("Basic Ym90OnB3"));
    let (status, headers, _) = request(&hub, "GET", manifest, Some(&bot));
    assert_eq!(
        (status, remaining(&headers).as_deref()),
        (200, Some("4;w=21600"))
    );
    assert!(header(&headers, "docker-ratelimit-source")
        .unwrap()
        .parse::<std::net::IpAddr>()
        .is_err());
    assert_eq!(hub.pulls(&Who::Account("bot".into())), 1);
}
