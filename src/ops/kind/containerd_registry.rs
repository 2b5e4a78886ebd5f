//! How a node's containerd finds registry hosts, read from the node in the config layout of
//! the containerd version it runs (1.x or 2.x).

use super::{containerd_config, containerd_version, CERTS_DIR};
use crate::ops::{Error, Result};
use bollard::Docker;
use serde::Serialize;

/// The CRI table of containerd 2.x's config layout (config version 3 and later).
const CRI_IMAGES_TABLE: &str = "io.containerd.cri.v1.images";
/// The CRI table of containerd 1.x's config version 2. containerd 2.x migrates it from configs
/// of version 3 or older.
const GRPC_CRI_TABLE: &str = "io.containerd.grpc.v1.cri";
/// The CRI table of config version 1 (no `version` key), with the plugin's short name.
const SHORT_CRI_TABLE: &str = "cri";

/// How a node's containerd finds registry hosts: which version it runs, which config layout it
/// reads, the `config_path` it takes `hosts.toml` files from, and any deprecated
/// `registry.mirrors` tables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContainerdRegistry {
    /// The containerd version, e.g. `2.3.4` or `1.6.20~ds1`.
    pub version: String,
    /// Its major version: 1 or 2.
    pub major: u32,
    /// The config file's `version` (1 when the file has none).
    pub config_version: i64,
    /// The directory the CRI plugin reads `<host>/hosts.toml` from, when set in a table this
    /// containerd reads.
    pub config_path: Option<String>,
    /// The table that `config_path` was read from, e.g.
    /// `plugins."io.containerd.cri.v1.images".registry`.
    pub config_path_table: Option<String>,
    /// A table that sets `config_path` but that this containerd does not read (containerd 2.x's
    /// table under containerd 1.x, or 1.x's table in a config of version 4).
    pub unread_config_path_table: Option<String>,
    /// Whether `config_path` is [`CERTS_DIR`], where brrt writes the mirrors.
    pub reads_certs_dir: bool,
    /// The hosts of deprecated `registry.mirrors."<host>"` tables in the tables this containerd
    /// reads, in either layout. containerd refuses to load its CRI plugin when these and
    /// `config_path` are both set.
    pub legacy_mirrors: Vec<String>,
}

impl ContainerdRegistry {
    /// Reads the output of `containerd --version` and the text of its config file.
    pub fn from_node_files(
        version_output: &str,
        config: &str,
    ) -> std::result::Result<Self, String> {
        let (version, major) = parse_containerd_version(version_output)
            .ok_or_else(|| format!("cannot tell the containerd version from {version_output:?}"))?;
        let config: toml::Table = config
            .parse()
            .map_err(|e| format!("/etc/containerd/config.toml is not valid TOML: {e}"))?;
        let config_version = config
            .get("version")
            .and_then(toml::Value::as_integer)
            .unwrap_or(1);
        let read = cri_tables_read(major, config_version);
        let registry_of = |table: &str| {
            config
                .get("plugins")
                .and_then(|p| p.get(table))
                .and_then(|t| t.get("registry"))
        };
        let table_name = |table: &str| format!("plugins.\"{table}\".registry");

        let mut config_path = None;
        let mut unread_config_path_table = None;
        let mut legacy_mirrors = std::collections::BTreeSet::new();
        for table in [CRI_IMAGES_TABLE, GRPC_CRI_TABLE, SHORT_CRI_TABLE] {
            let Some(registry) = registry_of(table) else {
                continue;
            };
            let path = registry
                .get("config_path")
                .and_then(toml::Value::as_str)
                .filter(|p| !p.is_empty());
            if !read.contains(&table) {
                if path.is_some() && unread_config_path_table.is_none() {
                    unread_config_path_table = Some(table_name(table));
                }
                continue;
            }
            if let (Some(path), None) = (path, &config_path) {
                config_path = Some((path.to_string(), table_name(table)));
            }
            if let Some(mirrors) = registry.get("mirrors").and_then(toml::Value::as_table) {
                legacy_mirrors.extend(mirrors.keys().cloned());
            }
        }
        let (config_path, config_path_table) = config_path.unzip();
        Ok(ContainerdRegistry {
            version,
            major,
            config_version,
            reads_certs_dir: config_path.as_deref() == Some(CERTS_DIR),
            config_path,
            config_path_table,
            unread_config_path_table,
            legacy_mirrors: legacy_mirrors.into_iter().collect(),
        })
    }
}

/// The CRI tables whose `registry` settings a containerd reads, first the one that wins.
/// Seen with containerd 1.6.20's `config dump` and 2.3.4's `config migrate`: 1.x reads the
/// short `cri` table from a config without a version (or version 1) and `io.containerd.grpc.v1.cri`
/// from any later one, and never 2.x's table; 2.x reads its own table, and migrates both 1.x
/// tables from configs of version 3 or older.
fn cri_tables_read(major: u32, config_version: i64) -> &'static [&'static str] {
    match (major, config_version) {
        (0 | 1, ..=1) => &[SHORT_CRI_TABLE],
        (0 | 1, _) => &[GRPC_CRI_TABLE],
        (_, ..=3) => &[CRI_IMAGES_TABLE, GRPC_CRI_TABLE, SHORT_CRI_TABLE],
        _ => &[CRI_IMAGES_TABLE],
    }
}

/// The version and major version in `containerd --version` output:
/// `containerd github.com/containerd/containerd/v2 v2.3.4 <commit>` gives `("2.3.4", 2)`.
fn parse_containerd_version(output: &str) -> Option<(String, u32)> {
    let version = output.split_whitespace().nth(2)?;
    let version = version.strip_prefix('v').unwrap_or(version);
    let major = version.split('.').next()?.parse().ok()?;
    Some((version.to_string(), major))
}

/// How a node's containerd finds registry hosts: its version, read from the node, and its
/// config file, read in the layout that version uses.
pub async fn containerd_registry(d: &Docker, node: &str) -> Result<ContainerdRegistry> {
    // Each costs the engine a helper process: both at once.
    let (version, config) =
        futures_util::future::try_join(containerd_version(d, node), containerd_config(d, node))
            .await?;
    ContainerdRegistry::from_node_files(&version, &config)
        .map_err(|e| Error::Other(format!("node {node}: {e}")))
}

/// Shell that prints what [`containerd_registry`] reads (`containerd --version`, its exit
/// code, the config file when it is a regular file), for a command already running in the node
/// to append, so the check costs no engine call of its own. [`registry_from_probe`] reads it.
pub const REGISTRY_PROBE: &str = "set +e\n\
     echo '@@brrt-containerd-version'\n\
     containerd --version\n\
     echo \"@@brrt-containerd-code $?\"\n\
     c=/etc/containerd/config.toml\n\
     if [ -f \"$c\" ] && [ ! -h \"$c\" ]; then echo '@@brrt-containerd-config'; cat \"$c\"; fi\n";

const PROBE_VERSION: &str = "@@brrt-containerd-version\n";
const PROBE_CODE: &str = "@@brrt-containerd-code ";
const PROBE_CONFIG: &str = "@@brrt-containerd-config\n";

/// Splits the output of a command that ended with [`REGISTRY_PROBE`]: what it printed before,
/// and the probe's part (`None` when the probe did not run).
pub fn split_probe(stdout: &str) -> (&str, Option<&str>) {
    match stdout.find(PROBE_VERSION) {
        Some(at) => (&stdout[..at], Some(&stdout[at..])),
        None => (stdout, None),
    }
}

/// [`containerd_registry`] from what [`REGISTRY_PROBE`] printed (and the command's stderr),
/// with the same errors: a failed `containerd --version`, a node without the config file, a
/// version or config brrt cannot read.
pub fn registry_from_probe(node: &str, probe: &str, stderr: &str) -> Result<ContainerdRegistry> {
    let bad = || {
        Error::Other(format!(
            "node {node}: the containerd check printed {probe:?}"
        ))
    };
    let rest = probe.strip_prefix(PROBE_VERSION).ok_or_else(bad)?;
    let at = rest.find(PROBE_CODE).ok_or_else(bad)?;
    let (version, rest) = (&rest[..at], &rest[at + PROBE_CODE.len()..]);
    let (code, rest) = rest.split_once('\n').unwrap_or((rest, ""));
    let code: i64 = code.trim().parse().map_err(|_| bad())?;
    if code != 0 {
        return Err(Error::ExecFailed {
            container: node.into(),
            command: "containerd --version".into(),
            code,
            stderr: stderr.trim().into(),
        });
    }
    let config = rest
        .find(PROBE_CONFIG)
        .map(|at| &rest[at + PROBE_CONFIG.len()..])
        .ok_or_else(|| Error::Other(format!("{node} has no /etc/containerd/config.toml")))?;
    ContainerdRegistry::from_node_files(version.trim(), config)
        .map_err(|e| Error::Other(format!("node {node}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONTAINERD_16: &str =
        "containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+deb12u3";
    const CONTAINERD_2: &str =
        "containerd github.com/containerd/containerd/v2 v2.3.4 db8809540e1a7a9da5d518876894933ff55692ab";

    /// The part of a kind node's config that matters here, in containerd 1.x's layout.
    const LAYOUT_1X: &str = r#"
version = 2
[plugins."io.containerd.grpc.v1.cri".containerd]
  snapshotter = "native"
[plugins."io.containerd.grpc.v1.cri".registry]
  config_path = "/etc/containerd/certs.d"
"#;

    /// The same in containerd 2.x's layout, as kind's current node image has it.
    const LAYOUT_2X: &str = r#"
version = 3
[plugins."io.containerd.cri.v1.images"]
  snapshotter = "native"
[plugins."io.containerd.cri.v1.images".registry]
  config_path = "/etc/containerd/certs.d"
[[plugins."io.containerd.transfer.v1.local".unpack_config]]
  platform = "linux/amd64"
  snapshotter = "native"
"#;

    fn read(version: &str, config: &str) -> ContainerdRegistry {
        ContainerdRegistry::from_node_files(version, config).unwrap()
    }

    #[test]
    fn containerd_1_reads_config_path_from_the_grpc_cri_table() {
        let r = read(CONTAINERD_16, LAYOUT_1X);
        assert_eq!(
            (r.version.as_str(), r.major, r.config_version),
            ("1.6.20~ds1", 1, 2)
        );
        assert_eq!(r.config_path.as_deref(), Some(CERTS_DIR));
        assert_eq!(
            r.config_path_table.as_deref(),
            Some(r#"plugins."io.containerd.grpc.v1.cri".registry"#)
        );
        assert!(r.reads_certs_dir);
        assert!(r.legacy_mirrors.is_empty());
        assert_eq!(r.unread_config_path_table, None);
    }

    #[test]
    fn containerd_2_reads_config_path_from_the_cri_images_table() {
        let r = read(CONTAINERD_2, LAYOUT_2X);
        assert_eq!(
            (r.version.as_str(), r.major, r.config_version),
            ("2.3.4", 2, 3)
        );
        assert_eq!(r.config_path.as_deref(), Some(CERTS_DIR));
        assert_eq!(
            r.config_path_table.as_deref(),
            Some(r#"plugins."io.containerd.cri.v1.images".registry"#)
        );
        assert!(r.reads_certs_dir && r.legacy_mirrors.is_empty());
    }

    #[test]
    fn containerd_2_migrates_the_1x_table_of_an_older_config() {
        // kind's containerdConfigPatches in the 1.x layout, on a node running containerd 2.x.
        let r = read(CONTAINERD_2, LAYOUT_1X);
        assert_eq!(r.config_path.as_deref(), Some(CERTS_DIR));
        // From version 4 on, containerd 2.x no longer migrates it.
        let r = read(
            CONTAINERD_2,
            &LAYOUT_1X.replace("version = 2", "version = 4"),
        );
        assert_eq!(r.config_path, None);
        assert_eq!(
            r.unread_config_path_table.as_deref(),
            Some(r#"plugins."io.containerd.grpc.v1.cri".registry"#)
        );
    }

    #[test]
    fn containerd_1_ignores_the_2x_table() {
        let r = read(CONTAINERD_16, LAYOUT_2X);
        assert_eq!(r.config_path, None);
        assert!(!r.reads_certs_dir);
        assert_eq!(
            r.unread_config_path_table.as_deref(),
            Some(r#"plugins."io.containerd.cri.v1.images".registry"#)
        );
    }

    #[test]
    fn config_without_a_version_uses_the_short_cri_table() {
        let config = "[plugins.cri.registry]\nconfig_path = \"/etc/containerd/certs.d\"\n";
        let r = read(CONTAINERD_16, config);
        assert_eq!(r.config_version, 1);
        assert_eq!(
            r.config_path_table.as_deref(),
            Some(r#"plugins."cri".registry"#)
        );
    }

    #[test]
    fn legacy_mirrors_are_found_in_both_layouts() {
        let mirrors_1x = format!(
            "{LAYOUT_1X}[plugins.\"io.containerd.grpc.v1.cri\".registry.mirrors.\"docker.io\"]\n  \
             endpoint = [\"http://kind-registry:5000\"]\n"
        );
        let mirrors_2x = format!(
            "{LAYOUT_2X}[plugins.\"io.containerd.cri.v1.images\".registry.mirrors.\"quay.io\"]\n  \
             endpoint = [\"http://cache:5000\"]\n\
             [plugins.\"io.containerd.cri.v1.images\".registry.mirrors.\"gcr.io\"]\n  \
             endpoint = [\"http://cache:5000\"]\n"
        );
        assert_eq!(
            read(CONTAINERD_16, &mirrors_1x).legacy_mirrors,
            ["docker.io"]
        );
        assert_eq!(
            read(CONTAINERD_2, &mirrors_2x).legacy_mirrors,
            ["gcr.io", "quay.io"]
        );
        // containerd 2.x migrates the 1.x layout's mirrors too.
        assert_eq!(
            read(CONTAINERD_2, &mirrors_1x).legacy_mirrors,
            ["docker.io"]
        );
        // A comment that names them is not a table.
        let commented = format!("{LAYOUT_2X}# registry.mirrors are deprecated\n");
        assert!(read(CONTAINERD_2, &commented).legacy_mirrors.is_empty());
    }

    #[test]
    fn unreadable_version_or_config_is_an_error() {
        let err = ContainerdRegistry::from_node_files("containerd", LAYOUT_2X).unwrap_err();
        assert!(err.contains("cannot tell the containerd version"), "{err}");
        let err = ContainerdRegistry::from_node_files(CONTAINERD_2, "version = \n").unwrap_err();
        assert!(err.contains("not valid TOML"), "{err}");
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn a_probe_reads_as_the_separate_check_does() {
        let out = format!(
            "docker.io\n{PROBE_VERSION}{CONTAINERD_2}\n{PROBE_CODE}0\n{PROBE_CONFIG}{LAYOUT_2X}"
        );
        let (before, probe) = split_probe(&out);
        assert_eq!(before, "docker.io\n");
        let cr = registry_from_probe("n", probe.unwrap(), "").unwrap();
        assert_eq!(cr, read(CONTAINERD_2, LAYOUT_2X));
        assert_eq!(split_probe("docker.io\n"), ("docker.io\n", None));

        let failed = format!("{PROBE_VERSION}{PROBE_CODE}127\n{PROBE_CONFIG}{LAYOUT_2X}");
        let err = registry_from_probe("n", &failed, "sh: containerd: not found\n").unwrap_err();
        assert!(
            matches!(&err, Error::ExecFailed { command, code: 127, stderr, .. }
                if command == "containerd --version" && stderr == "sh: containerd: not found"),
            "{err}"
        );
        let no_config = format!("{PROBE_VERSION}{CONTAINERD_16}\n{PROBE_CODE}0\n");
        let err = registry_from_probe("n", &no_config, "").unwrap_err();
        assert_eq!(err.to_string(), "n has no /etc/containerd/config.toml");
        let bad_version = format!("{PROBE_VERSION}containerd\n{PROBE_CODE}0\n{PROBE_CONFIG}");
        let err = registry_from_probe("n", &bad_version, "").unwrap_err();
        assert!(err.to_string().starts_with("node n: cannot tell"), "{err}");
    }
}
