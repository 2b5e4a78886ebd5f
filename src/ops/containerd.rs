//! Registry mirrors in nodes: `hosts.toml` files under `/etc/containerd/certs.d/<host>/`, which
//! containerd reads on every pull. Changing them needs no restart and no new cluster.
//!
//! brrt writes, replaces and removes only files that start with its marker line. A hosts.toml
//! someone else wrote (a company mirror with its CA, kind's local-registry script) is never
//! lost: a flow that would replace one stops before any change ([`check_mirrors`]), unless the
//! host is one brrt was told to take over (`cluster.take_over_mirrors`). Then the original is
//! kept beside brrt's file as `hosts.toml.brrt-original`, where containerd does not read it,
//! and put back, byte for byte, as soon as brrt no longer needs the host (the cache is switched
//! off, dev-down).

use crate::ops::docker;
use crate::ops::kind::CERTS_DIR;
use crate::ops::{Action, Error, Mode, Result};
use bollard::Docker;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// brrt's record of the mirror files it wrote in a node (see [`docker::Stamp`]), beside their
/// folders in [`CERTS_DIR`].
const STAMP: &str = ".brrt-stamp";
/// Where brrt kept that record before files kept their real times; removed on the next write.
const OLD_MANIFEST: &str = ".brrt-managed";

/// First line of every file brrt writes; files without it are the user's and are left alone.
pub const MANAGED_MARKER: &str = "# Managed by brrt";
/// Beside a hosts.toml brrt took over: the original, put back when brrt lets the host go.
pub const ORIGINAL_SUFFIX: &str = ".brrt-original";

/// A `hosts.toml` as containerd reads it: the upstream's own server, and the hosts to try first.
#[derive(Serialize)]
struct HostsToml<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    server: Option<&'a str>,
    /// containerd ignores a file with no `[host]` table, so there is always one.
    host: BTreeMap<&'a str, HostEntry<'a>>,
}

#[derive(Serialize)]
struct HostEntry<'a> {
    capabilities: [&'static str; 2],
    /// The URL's path is the root of the registry API there (containerd adds `/v2` otherwise).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    override_path: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    header: BTreeMap<&'static str, &'a str>,
}

/// The file's text: brrt's marker line, then the TOML that serde and the toml crate write, so
/// quoting is always right.
fn render(comment: &str, server: Option<&str>, host: &str, entry: HostEntry<'_>) -> String {
    let file = HostsToml {
        server,
        host: BTreeMap::from([(host, entry)]),
    };
    let toml = toml::to_string(&file).expect("hosts.toml is plain strings and tables");
    format!("{MANAGED_MARKER} {comment}\n{toml}")
}

/// Renders the `hosts.toml` that sends pulls for `upstream` to `mirror_url` first. `server` is
/// where containerd falls back when the mirror cannot serve (the real registry), if any.
pub fn mirror_hosts(upstream: &str, mirror_url: &str, server: Option<&str>) -> String {
    mirror_hosts_from(upstream, mirror_url, server, None)
}

/// [`mirror_hosts`], saying in its first line which config wired it (an absolute path): another
/// run that shares the registry it names can read what that config wants (see
/// [`wired_from`]). A path that is not one plain line is left out.
pub fn mirror_hosts_from(
    upstream: &str,
    mirror_url: &str,
    server: Option<&str>,
    config: Option<&str>,
) -> String {
    let entry = HostEntry {
        capabilities: ["pull", "resolve"],
        override_path: false,
        header: BTreeMap::new(),
    };
    let config = config
        .filter(|c| c.starts_with('/') && !c.contains(char::is_control) && !c.contains(EDIT_END))
        .unwrap_or("brrt.toml");
    render(
        &format!("for {upstream}: edit {config}{EDIT_END}"),
        server,
        mirror_url,
        entry,
    )
}

/// How the first line of a mirror brrt wrote ends, after the config it names.
const EDIT_END: &str = ", not this file.";

/// The config that wired a hosts.toml brrt wrote, as its first line names it (an absolute
/// path); `None` for a file brrt did not write, or one that names no path.
pub fn wired_from(text: &str) -> Option<String> {
    let first = text.lines().next()?.strip_prefix(MANAGED_MARKER)?;
    let (_, rest) = first.split_once(": edit ")?;
    let path = rest.strip_suffix(EDIT_END)?;
    path.starts_with('/').then(|| path.to_string())
}

/// The hosts a hosts.toml sends pulls to first (its `[host."…"]` tables), as written.
pub fn mirror_urls(text: &str) -> Vec<String> {
    toml::from_str::<toml::Table>(text)
        .ok()
        .and_then(|t| t.get("host").and_then(toml::Value::as_table).cloned())
        .map(|hosts| hosts.keys().cloned().collect())
        .unwrap_or_default()
}

/// Renders the `hosts.toml` that sends pulls for `upstream` straight to a team cache at
/// `endpoint` (`[cache.shared]`), falling back to `server`. An endpoint with a path
/// (`https://cache.team.example/v2/dockerhub`) is the root of the registry API there, which
/// containerd is told with `override_path = true` (it would add `/v2` itself otherwise).
/// `authorization`, when given, is sent with every request (a `Basic …` value).
pub fn shared_hosts(
    upstream: &str,
    endpoint: &str,
    server: Option<&str>,
    authorization: Option<&str>,
) -> String {
    let endpoint = endpoint.trim_end_matches('/');
    let path = endpoint
        .split_once("://")
        .map_or("", |(_, rest)| rest.split_once('/').map_or("", |(_, p)| p));
    let entry = HostEntry {
        capabilities: ["pull", "resolve"],
        override_path: !path.is_empty(),
        header: authorization
            .map(|auth| BTreeMap::from([("authorization", auth)]))
            .unwrap_or_default(),
    };
    render(
        &format!(
            "for {upstream}: the team cache in [cache.shared]; edit brrt.toml, not this file."
        ),
        server,
        endpoint,
        entry,
    )
}

/// `Basic <base64(user:password)>`, as HTTP basic authentication sends it.
pub fn basic_authorization(user: &str, password: &str) -> String {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {encoded}")
}

/// What applying mirrors did in one node.
#[derive(Debug, Clone, Serialize, Default)]
pub struct MirrorReport {
    pub node: String,
    pub written: Vec<String>,
    /// Removed, or given back their original.
    pub removed: Vec<String>,
    pub unchanged: Vec<String>,
    /// Written over a file brrt did not write, kept beside it as hosts.toml.brrt-original.
    pub taken_over: Vec<String>,
}

impl MirrorReport {
    pub fn action(&self) -> Action {
        if self.written.is_empty() && self.removed.is_empty() {
            Action::Unchanged
        } else {
            Action::Updated
        }
    }
}

fn host_file(host: &str) -> String {
    format!("{CERTS_DIR}/{host}/hosts.toml")
}

/// Every `hosts.toml` in a node, by registry host (brrt's and the user's own).
pub async fn read_mirrors(d: &Docker, node: &str) -> Result<BTreeMap<String, String>> {
    let files = docker::read_dir_files(d, node, CERTS_DIR).await?;
    Ok(files
        .into_iter()
        .filter_map(|(path, text)| Some((path.strip_suffix("/hosts.toml")?.to_string(), text)))
        .collect())
}

fn check_host_names<'a>(hosts: impl IntoIterator<Item = &'a String>) -> Result<()> {
    for host in hosts {
        let allowed = |c: char| c.is_ascii_alphanumeric() || ".-_:[]".contains(c);
        if host.is_empty() || host.starts_with('.') || !host.chars().all(allowed) {
            return Err(Error::InvalidSpec(format!(
                "`{host}` is not a registry host name (like docker.io or localhost:5001)"
            )));
        }
    }
    Ok(())
}

/// A hosts.toml in a node that brrt did not write.
#[derive(Debug, Clone, Serialize)]
pub struct ForeignFile {
    pub node: String,
    /// The registry host it is for (its folder's name).
    pub host: String,
    pub path: String,
    /// The hosts it sends pulls to first (its `[host."…"]` tables), as written.
    pub mirrors: Vec<String>,
    /// Where containerd falls back to (its `server`).
    pub server: Option<String>,
    /// Its mirrors, then its server.
    pub sends_to: Vec<String>,
    /// brrt may take it over (the host is in `cluster.take_over_mirrors`).
    pub take_over: bool,
}

impl ForeignFile {
    fn new(node: &str, host: &str, text: &str, take_over: bool) -> ForeignFile {
        let table = toml::from_str::<toml::Table>(text).unwrap_or_default();
        let server = table
            .get("server")
            .and_then(toml::Value::as_str)
            .map(str::to_string);
        let mirrors: Vec<String> = table
            .get("host")
            .and_then(toml::Value::as_table)
            .map(|hosts| hosts.keys().cloned().collect())
            .unwrap_or_default();
        ForeignFile {
            node: node.into(),
            host: host.into(),
            path: host_file(host),
            sends_to: mirrors.iter().chain(server.iter()).cloned().collect(),
            mirrors,
            server,
            take_over,
        }
    }

    /// `node N: /etc/…/hosts.toml (it sends pulls to A, falling back to B)`.
    pub fn describe(&self) -> String {
        let to = match (self.mirrors.as_slice(), &self.server) {
            ([], None) => "it names no host brrt can read".to_string(),
            ([], Some(server)) => format!("it sends pulls to {server}"),
            (mirrors, None) => format!("it sends pulls to {}", mirrors.join(", ")),
            (mirrors, Some(server)) => format!(
                "it sends pulls to {}, falling back to {server}",
                mirrors.join(", ")
            ),
        };
        format!("node {}: {} ({to})", self.node, self.path)
    }

    /// The first mirror it names that a cache could proxy (an http(s) URL).
    pub fn remote(&self) -> Option<&str> {
        self.mirrors
            .iter()
            .find(|m| m.starts_with("http://") || m.starts_with("https://"))
            .map(String::as_str)
    }
}

/// What making a node's mirrors match will do, found before any change: the files to write,
/// those that hold already, any file brrt did not write and may not take over, and the stamp
/// it was all read against. [`apply_plan`] carries it out; a flow plans every node first, so a
/// refusal comes before its first change, and a no-op reads each file once.
#[derive(Debug, Clone)]
pub struct MirrorPlan {
    node: String,
    mirrors: BTreeMap<String, String>,
    take_over: BTreeSet<String>,
    stamp: docker::Stamp,
    writes: BTreeMap<String, String>,
    report: MirrorReport,
    foreign: Vec<ForeignFile>,
}

impl MirrorPlan {
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The files brrt did not write and may not take over: applying the plan is refused.
    pub fn foreign(&self) -> &[ForeignFile] {
        &self.foreign
    }
}

/// Plans [`apply_mirrors`]: brrt's own files are known by its stamp (one stat each when
/// nothing changed); any other file at a wanted host is read. A file brrt did not write is
/// foreign unless its host is in `take_over` and no original is kept beside it already.
pub async fn plan_mirrors(
    d: &Docker,
    node: &str,
    mirrors: &BTreeMap<String, String>,
    take_over: &BTreeSet<String>,
) -> Result<MirrorPlan> {
    check_host_names(mirrors.keys())?;
    let stamp = docker::read_stamp(d, node, &format!("{CERTS_DIR}/{STAMP}")).await?;
    let mut plan = MirrorPlan {
        node: node.into(),
        mirrors: mirrors.clone(),
        take_over: take_over.clone(),
        stamp,
        writes: BTreeMap::new(),
        report: MirrorReport {
            node: node.into(),
            ..Default::default()
        },
        foreign: Vec::new(),
    };
    for (host, text) in mirrors {
        let path = host_file(host);
        if docker::file_holds(d, node, &path, text, &plan.stamp).await? {
            plan.report.unchanged.push(host.clone());
            continue;
        }
        if let Some(found) = foreign_file(d, node, host, take_over.contains(host)).await? {
            // One taken over already has its original beside it: a second would be lost.
            let kept = format!("{path}{ORIGINAL_SUFFIX}");
            if found.take_over && docker::stat_path(d, node, &kept).await?.is_none() {
                plan.report.taken_over.push(host.clone());
            } else {
                plan.foreign.push(ForeignFile {
                    take_over: false,
                    ..found
                });
            }
        }
        plan.writes.insert(path, text.clone());
        plan.report.written.push(host.clone());
    }
    Ok(plan)
}

/// The hosts.toml files at the hosts of `mirrors` in a node that brrt did not write and may
/// not take over: a flow must stop before any change while there is one.
pub async fn check_mirrors(
    d: &Docker,
    node: &str,
    mirrors: &BTreeMap<String, String>,
    take_over: &BTreeSet<String>,
) -> Result<Vec<ForeignFile>> {
    Ok(plan_mirrors(d, node, mirrors, take_over).await?.foreign)
}

/// The hosts.toml for `host` in a node when brrt did not write it.
async fn foreign_file(
    d: &Docker,
    node: &str,
    host: &str,
    take_over: bool,
) -> Result<Option<ForeignFile>> {
    let path = host_file(host);
    if docker::stat_path(d, node, &path).await?.is_none() {
        return Ok(None);
    }
    let bytes = docker::read_file(d, node, &path).await?.unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    if text.starts_with(MANAGED_MARKER) {
        return Ok(None);
    }
    Ok(Some(ForeignFile::new(node, host, &text, take_over)))
}

/// Every hosts.toml in a node that brrt did not write (for `brrt init` and doctor).
pub async fn foreign_mirrors(d: &Docker, node: &str) -> Result<Vec<ForeignFile>> {
    Ok(read_mirrors(d, node)
        .await?
        .into_iter()
        .filter(|(_, text)| !text.starts_with(MANAGED_MARKER))
        .map(|(host, text)| ForeignFile::new(node, &host, &text, false))
        .collect())
}

/// The error a flow stops with when nodes hold hosts.toml files brrt did not write where it
/// would write its own: each file and where it sends pulls, and the two ways on.
pub fn foreign_files_error(files: &[ForeignFile]) -> Error {
    let list: Vec<String> = files.iter().map(ForeignFile::describe).collect();
    let hosts: BTreeSet<&str> = files.iter().map(|f| f.host.as_str()).collect();
    let quoted: Vec<String> = hosts.iter().map(|h| format!("{h:?}")).collect();
    let remote = files
        .iter()
        .find_map(|f| f.remote().map(|to| (f.host.as_str(), to)))
        .map(|(host, to)| {
            format!(
                " To cache what that mirror serves, make it the upstream's remote in \
                 brrt.toml: [cache.remotes] {host:?} = {to:?}."
            )
        })
        .unwrap_or_default();
    Error::Other(format!(
        "{} hosts.toml file(s) in the nodes were not written by brrt, and brrt would replace \
         them: {}. brrt leaves them as they are, and nothing was changed.{remote} To let brrt \
         use those hosts while it runs, set [cluster] take_over_mirrors = [{}] in brrt.toml: \
         each original is kept beside brrt's file as hosts.toml{ORIGINAL_SUFFIX} and put back \
         when brrt no longer needs the host (the cache switched off, dev-down)",
        files.len(),
        list.join("; "),
        quoted.join(", ")
    ))
}

/// Makes the node's brrt-managed mirrors exactly `mirrors` (upstream host → file content):
/// writes what differs (atomically), removes managed files no longer wanted (putting back an
/// original brrt took over), touches nothing else. A file brrt did not write at a host of
/// `mirrors` is refused, unless the host is in `take_over`: then it is kept beside brrt's.
pub async fn apply_mirrors(
    d: &Docker,
    node: &str,
    mirrors: &BTreeMap<String, String>,
    take_over: &BTreeSet<String>,
    mode: Mode,
) -> Result<MirrorReport> {
    let plan = plan_mirrors(d, node, mirrors, take_over).await?;
    apply_plan(d, plan, mode).await
}

/// Carries out a [`MirrorPlan`]; refused, with nothing changed, when it found a file brrt did
/// not write and may not take over. A file that appears after the plan is never lost either:
/// the write itself sets aside or refuses what is not brrt's.
pub async fn apply_plan(d: &Docker, plan: MirrorPlan, mode: Mode) -> Result<MirrorReport> {
    if !plan.foreign.is_empty() {
        return Err(foreign_files_error(&plan.foreign));
    }
    let MirrorPlan {
        node,
        mirrors,
        take_over,
        stamp,
        writes,
        mut report,
        ..
    } = plan;
    let (node, mirrors, take_over) = (node.as_str(), &mirrors, &take_over);
    let stamp_path = format!("{CERTS_DIR}/{STAMP}");
    // The stamp lists the files brrt wrote: when it lists exactly the wanted ones, no other
    // managed file is there to remove.
    let wanted: BTreeSet<String> = mirrors.keys().map(|h| host_file(h)).collect();
    let only_wanted = stamp.paths().eq(wanted.iter().map(String::as_str));
    if writes.is_empty() && only_wanted && !mirrors.is_empty() {
        return Ok(report);
    }
    if mode.dry_run {
        report.removed = read_mirrors(d, node)
            .await?
            .into_iter()
            .filter(|(host, text)| text.starts_with(MANAGED_MARKER) && !mirrors.contains_key(host))
            .map(|(host, _)| host)
            .collect();
        if report.action().is_change() {
            mode.announce(Action::Updated, &describe(&report));
        }
        return Ok(report);
    }
    let keep: Vec<&str> = mirrors.keys().map(String::as_str).collect();
    let mut sweep = sweep_script(&keep);
    sweep.push_str(&format!("rm -f '{CERTS_DIR}/{OLD_MANIFEST}'\n"));
    if mirrors.is_empty() {
        // Nothing managed is left: the stamp goes too.
        sweep.push_str(&format!("rm -f '{stamp_path}'\n"));
    }
    let unchanged: BTreeSet<&str> = wanted
        .iter()
        .map(String::as_str)
        .filter(|p| !writes.contains_key(*p))
        .collect();
    let guard = guard_script(&report.written, take_over);
    let removed = docker::write_files_atomically(
        d,
        node,
        &writes,
        &stamp_path,
        &stamp,
        &unchanged,
        docker::AroundWrite {
            before: &guard,
            after: &sweep,
        },
    )
    .await
    .map_err(|e| match e {
        // A file appeared between the look and the write: it is still there, untouched.
        Error::ExecFailed { stderr, .. } if stderr.contains(FOREIGN_NOTE) => {
            let hosts: Vec<ForeignFile> = stderr
                .lines()
                .filter_map(|l| l.strip_prefix(FOREIGN_NOTE))
                .map(|host| ForeignFile::new(node, host.trim(), "", false))
                .collect();
            foreign_files_error(&hosts)
        }
        other => other,
    })?;
    report.removed = removed
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    if report.action().is_change() {
        tracing::debug!("{}", describe(&report));
    }
    Ok(report)
}

fn describe(report: &MirrorReport) -> String {
    format!(
        "mirrors in node {} (write: {:?}, remove: {:?})",
        report.node, report.written, report.removed
    )
}

/// What the guard prints on stderr before each host whose file it will not replace.
const FOREIGN_NOTE: &str = "brrt-foreign-file: ";

/// Shell run before any file is written, in the same call: each host about to be written whose
/// hosts.toml brrt did not write is set aside as hosts.toml.brrt-original when it may be taken
/// over (never over an original kept already), and otherwise stops the whole write. So a file
/// that appears between the look and the write is never lost either. Host names were checked
/// to need no quoting.
fn guard_script(written: &[String], take_over: &BTreeSet<String>) -> String {
    let mut script = String::new();
    for host in written {
        let f = host_file(host);
        let foreign = if take_over.contains(host) {
            format!(
                "if [ -e \"$f{ORIGINAL_SUFFIX}\" ]; then echo \"{FOREIGN_NOTE}{host}\" >&2; exit 3; fi; \
                 mv \"$f\" \"$f{ORIGINAL_SUFFIX}\""
            )
        } else {
            format!("echo \"{FOREIGN_NOTE}{host}\" >&2; exit 3")
        };
        script.push_str(&format!(
            "f='{f}'\n\
             if [ -f \"$f\" ]; then\n\
             \x20 first=; IFS= read -r first < \"$f\" || true\n\
             \x20 case \"$first\" in \"{MANAGED_MARKER}\"*) ;; *) {foreign} ;; esac\n\
             fi\n"
        ));
    }
    script
}

/// Shell that removes every brrt-managed hosts.toml whose host is not in `keep` (and its folder,
/// when empty), or puts back the original brrt kept beside it, printing each host. Host names
/// were checked to need no quoting.
fn sweep_script(keep: &[&str]) -> String {
    let keep = keep.join(" ");
    format!(
        "for d in {CERTS_DIR}/*/; do\n\
         \x20 d=${{d%/}}; h=${{d##*/}}; f=\"$d/hosts.toml\"\n\
         \x20 case \" {keep} \" in *\" $h \"*) continue ;; esac\n\
         \x20 first=; [ -f \"$f\" ] && {{ IFS= read -r first < \"$f\" || true; }}\n\
         \x20 case \"$first\" in \"{MANAGED_MARKER}\"*) ours=1 ;; *) ours= ;; esac\n\
         \x20 if [ -f \"$f{ORIGINAL_SUFFIX}\" ]; then\n\
         \x20   if [ -n \"$ours\" ] || [ ! -e \"$f\" ]; then mv -f \"$f{ORIGINAL_SUFFIX}\" \"$f\"; echo \"$h\"; fi\n\
         \x20 elif [ -n \"$ours\" ]; then\n\
         \x20   rm -f \"$f\"; rmdir \"$d\" 2>/dev/null || true; echo \"$h\"\n\
         \x20 fi\n\
         done\n"
    )
}

/// The outcome of a test pull inside a node.
#[derive(Debug, Clone, Serialize)]
pub struct PullReport {
    pub node: String,
    pub image: String,
    pub ok: bool,
    pub output: String,
    /// Nothing was pulled (`--dry-run`).
    pub dry_run: bool,
}

/// Pulls `image` inside the node with containerd's own client, through the node's mirrors. The
/// pull fills the node's image store and the caches, so `--dry-run` only says it would.
pub async fn verify_pull(d: &Docker, node: &str, image: &str, mode: Mode) -> Result<PullReport> {
    if !mode.announce(Action::Updated, &format!("node {node} by pulling {image}")) {
        return Ok(PullReport {
            node: node.into(),
            image: image.into(),
            ok: true,
            output: String::new(),
            dry_run: true,
        });
    }
    let cmd: Vec<String> = [
        "ctr",
        "-n",
        "k8s.io",
        "images",
        "pull",
        "--hosts-dir",
        CERTS_DIR,
        image,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let out = docker::exec(d, node, &cmd).await?;
    Ok(PullReport {
        node: node.into(),
        image: image.into(),
        ok: out.code == 0,
        dry_run: false,
        output: strip_progress(&if out.code == 0 {
            out.stdout
        } else {
            format!("{}{}", out.stdout, out.stderr)
        }),
    })
}

/// ctr's output without its progress bars and terminal colours.
fn strip_progress(text: &str) -> String {
    let mut plain = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            chars.by_ref().find(|c| c.is_ascii_alphabetic());
        } else {
            plain.push(c);
        }
    }
    plain
        .lines()
        .filter(|l| !l.contains('|'))
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_toml_is_valid_and_names_the_mirror() {
        let text = mirror_hosts(
            "docker.io",
            "http://kind-registry-docker-io:5000",
            Some("https://registry-1.docker.io"),
        );
        let parsed: toml::Value = toml::from_str(&text).unwrap();
        assert_eq!(
            parsed["server"].as_str(),
            Some("https://registry-1.docker.io")
        );
        let host = &parsed["host"]["http://kind-registry-docker-io:5000"];
        assert_eq!(host["capabilities"].as_array().unwrap().len(), 2);
        assert!(text.starts_with(MANAGED_MARKER));
    }

    #[test]
    fn a_mirror_names_the_config_that_wired_it() {
        let text = mirror_hosts_from(
            "docker.io",
            "http://brrt-cache-docker-io:5000",
            Some("https://registry-1.docker.io"),
            Some("/home/me/svc/brrt.toml"),
        );
        assert!(
            text.starts_with(
                "# Managed by brrt for docker.io: edit /home/me/svc/brrt.toml, not this file.\n"
            ),
            "{text}"
        );
        assert_eq!(wired_from(&text).as_deref(), Some("/home/me/svc/brrt.toml"));
        assert_eq!(mirror_urls(&text), ["http://brrt-cache-docker-io:5000"]);
        // No path, a relative one, or one that would break the comment line: none is named.
        for config in [None, Some("brrt.toml"), Some("/a\nserver = \"x\"")] {
            let text = mirror_hosts_from("docker.io", "http://c:5000", None, config);
            assert!(text.contains("edit brrt.toml, not this file."), "{text}");
            assert_eq!(wired_from(&text), None);
            assert!(toml::from_str::<toml::Table>(&text).is_ok(), "{text}");
        }
        assert_eq!(wired_from("server = \"https://x\"\n"), None);
    }

    #[test]
    fn a_team_cache_with_a_path_overrides_it() {
        let text = shared_hosts(
            "docker.io",
            "https://cache.team.example/v2/dockerhub",
            Some("https://registry-1.docker.io"),
            None,
        );
        let parsed: toml::Value = toml::from_str(&text).unwrap();
        let host = &parsed["host"]["https://cache.team.example/v2/dockerhub"];
        assert_eq!(host["override_path"].as_bool(), Some(true));
        assert_eq!(
            parsed["server"].as_str(),
            Some("https://registry-1.docker.io")
        );
        let plain = shared_hosts("docker.io", "http://teamcache:5000", None, None);
        assert!(!plain.contains("override_path"), "{plain}");
        let auth = shared_hosts("docker.io", "http://t:5000", None, Some("Basic dTpw"));
        let parsed: toml::Value = toml::from_str(&auth).unwrap();
        assert_eq!(
            parsed["host"]["http://t:5000"]["header"]["authorization"].as_str(),
            Some("Basic dTpw")
        );
    }

    #[test]
    fn basic_authorization_is_base64() {
        assert_eq!(basic_authorization("u", "p"), "Basic dTpw");
        assert_eq!(
            basic_authorization("Aladdin", "open sesame"),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        assert_eq!(basic_authorization("ab", "c"), "Basic YWI6Yw==");
    }
}
