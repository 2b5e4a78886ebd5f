//! Issue 18, case 4 and the migrate bullet: `brrt run migrate` never copies into a volume brrt
//! did not create, counts what it carries over, checks the cache's volume offline against the
//! old registry's own storage before the old container goes, puts the old registry back when
//! the copy is interrupted, and never prints a password. Real binary, real registries, a node
//! running real containerd.

use crate::adoption::{running, stored_files, wait_until_held, OldSetup};
use crate::support::cluster::{
    container_exists, container_id, script, volume_exists, wait_for, wait_until_serving, Cluster,
    REGISTRY_IMAGE,
};
use crate::support::{docker, try_docker, Output, Running, Testbed};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// What a registry's storage holds, counted from its files with `docker cp`, independently of
/// brrt: the distinct manifest and blob digests its links name, and the bytes of their data.
#[derive(Debug, PartialEq, Eq)]
struct Storage {
    manifests: usize,
    blobs: usize,
    bytes: u64,
}

fn storage_of(container: &str, root: &str) -> Storage {
    let out = Command::new("docker")
        .args([
            "cp",
            &format!("{container}:{root}/docker/registry/v2/."),
            "-",
        ])
        .output()
        .expect("docker cp runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut archive = tar::Archive::new(out.stdout.as_slice());
    let mut manifests = BTreeSet::new();
    let mut layers = BTreeSet::new();
    let mut sizes = BTreeMap::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        let path = path.trim_start_matches("./").to_string();
        let hex = |marker: &str| {
            path.split_once(marker)
                .and_then(|(_, rest)| rest.strip_suffix("/link"))
                .map(str::to_string)
        };
        if let Some(h) = hex("/_manifests/revisions/sha256/") {
            manifests.insert(h);
        } else if let Some(h) = hex("/_layers/sha256/") {
            layers.insert(h);
        } else if let Some(rest) = path.strip_prefix("blobs/sha256/") {
            if let Some(h) = rest.strip_suffix("/data").and_then(|r| r.split('/').nth(1)) {
                let mut body = Vec::new();
                entry.read_to_end(&mut body).unwrap();
                sizes.insert(h.to_string(), body.len() as u64);
            }
        }
    }
    let all: BTreeSet<&String> = manifests.iter().chain(&layers).collect();
    Storage {
        manifests: manifests.len(),
        blobs: layers.len(),
        bytes: all.iter().map(|h| sizes[*h]).sum(),
    }
}

fn migrate(cluster: &Cluster<'_>) -> Output {
    cluster.project.brrt().args(["run", "migrate"]).run()
}

/// Issue 18, case 4: migrate merged the old registry's data into a volume brrt did not create.
#[test]
fn migrate_never_copies_into_a_volume_brrt_did_not_create() {
    let Some(tb) = Testbed::require("own_migrate_volume") else {
        return;
    };
    let OldSetup {
        cluster,
        old_id,
        cache,
        aside,
        ..
    } = OldSetup::new(&tb);
    let volume = cluster.volume(&cache);
    docker(&["volume", "create", "--label", "owner=me", &volume]);
    for args in [
        &["run", "migrate", "--dry-run"][..],
        &["run", "migrate"][..],
    ] {
        cluster
            .project
            .brrt()
            .args(args)
            .run()
            .failure(1)
            .stderr_contains(&format!(
                "error: volume {volume} was not created by brrt (it has no dev.brrt.managed \
                 label), so brrt leaves it as it is: brrt keeps the data of {cache} in a volume of \
                 that name and would write into it"
            ));
    }
    assert_eq!(container_id(&cluster.registry), old_id);
    assert_eq!(running(&cluster.registry).as_deref(), Some("true"));
    assert!(!container_exists(&aside) && !container_exists(&cache));
    assert_eq!(
        docker(&["volume", "inspect", "--format", "{{.Labels}}", &volume]),
        "map[owner:me]"
    );
    let files = docker(&[
        "run",
        "--rm",
        "--volume",
        &format!("{volume}:/v"),
        "--entrypoint",
        "/bin/ls",
        "brrt-testbed/node:latest",
        "-A",
        "/v",
    ]);
    assert_eq!(files, "", "something was copied into it");
}

/// Issue 18, case 4: migrate reported "3 images, 14.6 MiB" for 2 images and 7.3 MiB (the whole
/// volume after the copy), and replaced a tag the volume held without a word.
#[test]
fn migrate_counts_what_it_carries_and_names_a_tag_it_replaces() {
    let Some(tb) = Testbed::require("own_migrate_counts") else {
        return;
    };
    let OldSetup {
        cluster,
        node,
        cache,
        ..
    } = OldSetup::new(&tb);
    cluster
        .upstream("docker.io")
        .push("brrt-testbed/hello:2", "library/hello:2");
    node.must_pull("docker.io/library/hello:2");
    wait_until_held(&cluster.registry, "library/hello", "2", 6);
    let old = storage_of(&cluster.registry, "/var/lib/registry");
    assert_eq!((old.manifests, old.blobs), (2, 4), "{old:?}");

    // brrt's cache volume from an earlier run, holding hello:1 as another image, and one more.
    let volume = cluster.volume(&cache);
    docker(&[
        "volume",
        "create",
        "--label",
        "dev.brrt.managed=true",
        "--label",
        "dev.brrt.registry.role=cache",
        &volume,
    ]);
    let earlier = tb.container("earlier-cache");
    docker(&[
        "run",
        "--detach",
        "--name",
        &earlier,
        "--publish",
        "127.0.0.1::5000",
        "--volume",
        &format!("{volume}:/var/lib/registry"),
        REGISTRY_IMAGE,
    ]);
    let port = docker(&["port", &earlier, "5000/tcp"]);
    let port = port
        .lines()
        .next()
        .unwrap()
        .trim_start_matches("127.0.0.1:");
    wait_for(30, "the earlier cache to answer", || {
        crate::support::cluster::http_status(port.parse().unwrap(), "/v2/").map(drop)
    });
    crate::support::cluster::push(
        "brrt-testbed/hello:2",
        &format!("127.0.0.1:{port}/library/hello:1"),
    );
    crate::support::cluster::push(
        "brrt-testbed/hello:1",
        &format!("127.0.0.1:{port}/team/other:1"),
    );
    docker(&["rm", "--force", &earlier]);
    let was = docker(&[
        "run",
        "--rm",
        "--volume",
        &format!("{volume}:/v"),
        "--entrypoint",
        "/bin/cat",
        "brrt-testbed/node:latest",
        "/v/docker/registry/v2/repositories/library/hello/_manifests/tags/1/current/link",
    ]);
    let now = docker(&[
        "run", "--rm", "--volumes-from", &cluster.registry, "--entrypoint", "/bin/cat",
        "brrt-testbed/node:latest",
        "/var/lib/registry/docker/registry/v2/repositories/library/hello/_manifests/tags/1/current/link",
    ]);
    assert_ne!(was, now);

    let out = migrate(&cluster);
    out.success()
        .stdout_contains(&format!(
            "copied 2 image(s) from {} into {volume}: {} manifest(s), {} blob(s), {} bytes",
            cluster.registry, old.manifests, old.blobs, old.bytes
        ))
        .stderr_contains(&format!(
            "warning: {volume} held docker.io/library/hello:1 as {was}; it is now {now}, as {} had it",
            cluster.registry
        ))
        .stdout_contains(&format!(
            "migrate: carried over 2 image(s) ({} manifest(s), {} blob(s), {} bytes) from {} into \
             {cache}, whose volume served all of them offline (2 image(s), {} manifest(s), {} \
             blob(s))",
            old.manifests, old.blobs, old.bytes, cluster.registry, old.manifests, old.blobs
        ));
}

/// A `scripts/dev-up.rhai` of the team's own: the shipped dev-up, then it waits for the file
/// `go-on` (so the test can act between dev-up and the check that follows it in migrate).
fn pausing_dev_up() -> String {
    let shipped = std::fs::read_to_string(script("dev-up.rhai")).expect("the shipped dev-up");
    format!(
        "{shipped}\nlog::info(\"dev-up done\");\nwhile !fs::exists(\"go-on\") {{ sleep(0.1); }}\n"
    )
}

/// Issue 18: migrate checked the new cache through its proxy, so a blob the copy missed was
/// fetched from the upstream and passed, and the old container (here with its data in its own
/// filesystem) was removed. The check now reads the cache's volume offline.
#[test]
fn a_blob_missing_from_the_cache_keeps_the_old_registry_and_its_data() {
    let Some(tb) = Testbed::require("own_migrate_missed") else {
        return;
    };
    // Its data lives only in its own filesystem, at /data.
    let OldSetup {
        cluster,
        cache,
        aside,
        ..
    } = OldSetup::with(
        &tb,
        &["--env", "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=/data"],
    );
    let volume = cluster.volume(&cache);
    cluster
        .project
        .write("scripts/dev-up.rhai", pausing_dev_up());
    let mut run = Running::new(cluster.project.brrt().args(["run", "migrate"]).spawn());
    run.wait_for("dev-up to be done", Duration::from_secs(120), |l| {
        l.iter().any(|l| l == "dev-up done")
    });
    // The copy is done, dev-up has run, the upstream is up: remove one blob of hello:1 from the
    // cache's volume, as a copy that missed it would have left it.
    // A layer (or config) blob: one the hello repository links as a layer, not a manifest.
    let hex = docker(&[
        "run",
        "--rm",
        "--volume",
        &format!("{volume}:/v"),
        "--entrypoint",
        "/bin/sh",
        "brrt-testbed/node:latest",
        "-c",
        "cd /v/docker/registry/v2 && r=repositories/library/hello && \
         for h in $(ls $r/_layers/sha256); do \
           [ -e $r/_manifests/revisions/sha256/$h ] && continue; \
           rm blobs/sha256/$(echo $h | cut -c1-2)/$h/data && echo $h && break; \
         done",
    ]);
    assert_eq!(hex.len(), 64, "no layer blob was removed: {hex}");
    cluster.project.write("go-on", "");
    assert_eq!(run.wait_for_exit(Duration::from_secs(120)), Some(1));
    let said = run.lines().join("\n");
    assert!(
        said.contains(&format!(
            "{cache}'s volume does not hold the blob sha256:{hex} of library/hello, which the old \
             registry holds, so the old registry is kept, stopped, as {aside}, with its data"
        )),
        "{said}"
    );
    assert_eq!(running(&aside).as_deref(), Some("false"));
    let kept = stored_files(&aside, "/data/docker/registry/v2").unwrap();
    assert!(
        kept.iter()
            .any(|f| f == &format!("blobs/sha256/{}/{hex}/data", &hex[..2])),
        "{kept:#?}"
    );
}

/// Issue 18: Ctrl-C during the copy left the old registry stopped; it runs again, as a failed
/// copy leaves it.
#[test]
fn ctrl_c_during_the_copy_starts_the_old_registry_again() {
    let Some(tb) = Testbed::require("own_migrate_ctrl_c") else {
        return;
    };
    let OldSetup {
        cluster,
        node,
        old_id,
        old_volume,
        cache,
        aside,
    } = OldSetup::new(&tb);
    // Enough data that the copy takes a while: 1 GiB besides what the old registry cached.
    docker(&[
        "run",
        "--rm",
        "--volume",
        &format!("{old_volume}:/v"),
        "--entrypoint",
        "/bin/dd",
        "brrt-testbed/node:latest",
        "if=/dev/zero",
        "of=/v/ballast",
        "bs=1M",
        "count=1024",
    ]);
    let receiver = tb.container("cache-docker-io-migrate-copy");
    let volume = cluster.volume(&cache);
    let run = cluster.project.brrt().args(["run", "migrate"]).spawn();
    // The engine holds the receiving container's lock while it unpacks, so the copy is seen
    // where its bytes land: the ballast growing in the cache's volume.
    wait_for(120, "the copy to be under way", || {
        let at = try_docker(&["volume", "inspect", "--format", "{{.Mountpoint}}", &volume])
            .ok_or("no volume yet")?;
        match std::fs::metadata(Path::new(&at).join("ballast")) {
            Ok(m) if m.len() > 0 => Ok(()),
            other => Err(format!("{other:?}")),
        }
    });
    Command::new("kill")
        .args(["-INT", &run.id().to_string()])
        .status()
        .expect("kill runs");
    let done = run.wait_with_output().expect("it ends");
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "the copy of {}'s data into volume {} was interrupted; {} is running again as \
             before, and its data is untouched",
            cluster.registry,
            cluster.volume(&cache),
            cluster.registry
        )),
        "{stderr}"
    );
    assert_eq!(container_id(&cluster.registry), old_id);
    assert_eq!(running(&cluster.registry).as_deref(), Some("true"));
    for gone in [&receiver, &aside, &cache] {
        assert!(!container_exists(gone), "{gone} was left behind");
    }
    assert!(
        !volume_exists(&cluster.volume(&cache)),
        "the half-copied volume was kept"
    );
    wait_until_serving(cluster.port, "the old registry to answer again");
    cluster.upstream("docker.io").stop();
    node.must_pull_afresh("docker.io/library/hello:1");
}

/// Issue 18: migrate printed the old proxy's remote with its password, and brrt's cache came
/// up without the credentials the old one used.
#[test]
fn migrate_never_prints_a_password_and_carries_the_login_over() {
    let Some(tb) = Testbed::require("own_migrate_secret") else {
        return;
    };
    let secret = "s3cret-pw-18";
    let OldSetup { cluster, cache, .. } = OldSetup::with(
        &tb,
        &[
            "--env",
            "REGISTRY_PROXY_USERNAME=robot",
            "--env",
            &format!("REGISTRY_PROXY_PASSWORD={secret}"),
        ],
    );
    for out in [
        cluster
            .project
            .brrt()
            .args(["run", "migrate", "--dry-run"])
            .run(),
        migrate(&cluster),
    ] {
        out.success()
            .stdout_contains(
                "login     it logs in to docker.io: migrate hands that user and password to \
                 brrt's cache for this run; set BRRT_DOCKER_IO_USERNAME and \
                 BRRT_DOCKER_IO_PASSWORD for the runs after it",
            )
            .stdout_lacks(secret)
            .stderr_lacks(secret);
    }
    let env = docker(&["inspect", "--format", "{{json .Config.Env}}", &cache]);
    assert!(env.contains("\"REGISTRY_PROXY_USERNAME=robot\""), "{env}");
    assert!(
        env.contains(&format!("\"REGISTRY_PROXY_PASSWORD={secret}\"")),
        "{env}"
    );
    let labels = docker(&["inspect", "--format", "{{json .Config.Labels}}", &cache]);
    assert!(!labels.contains(secret), "{labels}");
}

/// The same for a password in the old proxy's remote URL: never printed.
#[test]
fn a_password_in_the_old_remote_url_is_never_printed() {
    let Some(tb) = Testbed::require("own_migrate_url_secret") else {
        return;
    };
    let secret = "url-pw-18";
    let OldSetup { cluster, .. } = OldSetup::new(&tb);
    // Re-create the old proxy with the password in its URL (same data volume, same name).
    let remote = cluster.upstream("docker.io").remote();
    let with_password = remote.replacen("http://", &format!("http://robot:{secret}@"), 1);
    let volume = docker(&[
        "container",
        "inspect",
        "--format",
        "{{range .Mounts}}{{.Name}}{{end}}",
        &cluster.registry,
    ]);
    docker(&["rm", "--force", &cluster.registry]);
    docker(&[
        "run",
        "--detach",
        "--name",
        &cluster.registry,
        "--network",
        &cluster.network,
        "--volume",
        &format!("{volume}:/var/lib/registry"),
        "--env",
        &format!("REGISTRY_PROXY_REMOTEURL={with_password}"),
        REGISTRY_IMAGE,
    ]);
    let out = cluster
        .project
        .brrt()
        .args(["run", "migrate", "--dry-run"])
        .run();
    out.success()
        .stdout_contains(&format!("upstream  docker.io (it proxies {remote})"))
        .stdout_contains("login     it logs in to docker.io")
        .stdout_lacks(secret)
        .stderr_lacks(secret);
    assert!(try_docker(&["inspect", &cluster.registry]).is_some());
}
