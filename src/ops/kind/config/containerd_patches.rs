//! The nodes' containerd config patches: which node images run containerd 1.x and need
//! `config_path` pointed at certs.d, and a user's patch refused when it would break that.

use super::v1alpha4::KindNode;
use crate::ops::kind::CERTS_DIR;
use crate::ops::{Error, Result};

/// The first kindest/node patch release of each Kubernetes minor that kind v0.27 built (with
/// containerd 2.x); earlier patches of that minor were built by older kinds with containerd 1.x.
/// Minors after 1.32 exist only from kind v0.27 on; minors before 1.29 only before it.
const FIRST_CONTAINERD2_PATCH: [(u32, u32); 4] = [(29, 14), (30, 10), (31, 6), (32, 2)];

/// Whether a node image runs containerd 1.x (kind before v0.27): `Some(true)` or `Some(false)`
/// for a `…/node:v1.X.Y` tag, `None` when the tag says nothing.
pub fn image_runs_containerd_1(image: &str) -> Option<bool> {
    let image = image.split('@').next().unwrap_or(image);
    let (repo, tag) = image.rsplit_once(':')?;
    if repo.rsplit('/').next() != Some("node") {
        return None;
    }
    let mut parts = tag.strip_prefix('v')?.split('.');
    let (major, minor, patch) = (
        parts.next()?.parse::<u32>().ok()?,
        parts.next()?.parse::<u32>().ok()?,
        parts
            .next()?
            .split(['-', '+'])
            .next()?
            .parse::<u32>()
            .ok()?,
    );
    if major != 1 {
        return None;
    }
    Some(
        match FIRST_CONTAINERD2_PATCH.iter().find(|(m, _)| *m == minor) {
            Some((_, first)) => patch < *first,
            None => minor < 29,
        },
    )
}

/// Whether a kind CLI of this version (`0.27.0`, `v0.26.1`) defaults to a containerd 1.x image.
fn kind_defaults_to_containerd_1(version: &str) -> Option<bool> {
    let version = version.trim().trim_start_matches('v');
    let mut parts = version.split(['.', '-']);
    let major: u32 = parts.next()?.parse().ok()?;
    let minor: u32 = parts.next()?.parse().ok()?;
    Some(major == 0 && minor < 27)
}

/// The patch that points containerd 1.x's CRI plugin at [`CERTS_DIR`].
pub(super) fn certs_dir_patch() -> String {
    let mut registry = toml::Table::new();
    registry.insert("config_path".into(), CERTS_DIR.into());
    let mut cri = toml::Table::new();
    cri.insert("registry".into(), registry.into());
    let mut plugins = toml::Table::new();
    plugins.insert("io.containerd.grpc.v1.cri".into(), cri.into());
    let mut root = toml::Table::new();
    root.insert("plugins".into(), plugins.into());
    toml::to_string(&root).expect("a table serializes")
}

/// The CRI plugin tables, in every layout containerd has used.
const CRI_TABLES: [&str; 3] = [
    "io.containerd.cri.v1.images",
    "io.containerd.grpc.v1.cri",
    "cri",
];

/// A user's containerd patch: valid TOML, no deprecated `registry.mirrors`, and no
/// `config_path` other than [`CERTS_DIR`].
pub(super) fn check_patch(index: usize, patch: &str) -> Result<()> {
    let table: toml::Table = patch.parse().map_err(|e| {
        Error::InvalidSpec(format!(
            "kind::config: containerd_config_patches[{index}] is not valid TOML: {e}"
        ))
    })?;
    for cri in CRI_TABLES {
        let Some(registry) = table
            .get("plugins")
            .and_then(|p| p.get(cri))
            .and_then(|c| c.get("registry"))
        else {
            continue;
        };
        if let Some(mirrors) = registry.get("mirrors").and_then(toml::Value::as_table) {
            let hosts: Vec<&str> = mirrors.keys().map(String::as_str).collect();
            return Err(Error::InvalidSpec(format!(
                "kind::config: containerd_config_patches[{index}] sets the deprecated \
                 plugins.\"{cri}\".registry.mirrors ({}), but the nodes' containerd has \
                 config_path = \"{CERTS_DIR}\" (kind's node images set it since v0.27, and brrt \
                 adds it for older ones). With both, containerd does not load its CRI plugin \
                 (\"mirrors cannot be set when config_path is provided\") and the cluster never \
                 comes up. Remove the mirrors table: brrt writes every mirror as a hosts.toml \
                 under {CERTS_DIR}",
                hosts.join(", ")
            )));
        }
        if let Some(path) = registry.get("config_path").and_then(toml::Value::as_str) {
            if path != CERTS_DIR {
                return Err(Error::InvalidSpec(format!(
                    "kind::config: containerd_config_patches[{index}] sets config_path = \
                     \"{path}\", but brrt writes the mirrors under {CERTS_DIR}; remove that line"
                )));
            }
        }
    }
    Ok(())
}

/// Whether any node runs containerd 1.x, judged by its image's tag or, for nodes left to
/// kind's default image, by the kind CLI's version. When neither says, kind is taken to be
/// v0.27 or later (containerd 2.x, `config_path` set in the image); doctor names a node whose
/// containerd ignores certs.d.
pub(super) fn needs_certs_dir_patch(nodes: &[KindNode], kind_version: Option<&str>) -> bool {
    nodes.iter().any(|n| {
        let by_image = n.image.as_deref().and_then(image_runs_containerd_1);
        by_image
            .or_else(|| kind_version.and_then(kind_defaults_to_containerd_1))
            .unwrap_or(false)
    })
}
