//! The lines that load brrt's Tilt extension into a team's Tiltfile, and appending them once,
//! under a comment that marks them as brrt's.

use std::path::{Path, PathBuf};

/// The comment above the lines; its presence means they were added already.
pub const GUARD: &str =
    "# --- brrt: local registries and caches, kept reconciled while Tilt runs ---";

/// The three lines that load the extension from `plugins/tilt/brrt/`.
pub const LOAD_LINES: &str = "\
v1alpha1.extension_repo(name='brrt-local', url='file://' + os.getcwd() + '/plugins/tilt')
v1alpha1.extension(name='brrt', repo_name='brrt-local', repo_path='brrt')
load('ext://brrt', 'brrt_up', 'brrt_down', 'brrt_cache_ls', 'brrt_registry')
";

/// The block appended to a Tiltfile: the guard, the load lines, and the resources they declare.
/// It names no setting of brrt.toml: the extension asks brrt for them (`brrt config`), so the
/// port and the rest live in brrt.toml alone.
pub fn block() -> String {
    format!(
        "{GUARD}\n\
         # Added by `brrt init --tilt`: `brrt run --watch dev-up` as the resource `brrt`, and the\n\
         # buttons brrt-cache-ls and brrt-down (see plugins/tilt/brrt/README.md). brrt_up runs\n\
         # dev-up once as the Tiltfile loads, so the registry is announced before Tilt looks.\n\
         {LOAD_LINES}\
         brrt_up()\n\
         brrt_cache_ls()\n\
         brrt_down()\n\
         # dev-up announces the push registry in the cluster, and Tilt pushes there by itself;\n\
         # for a cluster nobody announced it in: default_registry(brrt_registry())\n"
    )
}

/// The Tiltfile of `dir`, if it has one.
pub fn find(dir: &Path) -> Option<PathBuf> {
    Some(dir.join("Tiltfile")).filter(|p| p.is_file())
}

/// The Tiltfile's text with the block appended, or `None` when it holds the block already.
pub fn appended(current: &str) -> Option<String> {
    if current.contains(GUARD) {
        return None;
    }
    let mut text = current.to_string();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    if !text.is_empty() {
        text.push('\n');
    }
    text.push_str(&block());
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_block_is_appended_once() {
        let once = appended("k8s_yaml('k8s/app.yaml')").unwrap();
        assert!(
            once.starts_with("k8s_yaml('k8s/app.yaml')\n\n# --- brrt"),
            "{once}"
        );
        // The port lives in brrt.toml alone.
        assert!(once.contains("\nbrrt_up()\n"), "{once}");
        assert!(!once.contains("registry_port"), "{once}");
        assert_eq!(LOAD_LINES.lines().count(), 3);
        assert_eq!(appended(&once), None);
    }
}
