//! The lines that load brrt's Tilt extension into a team's Tiltfile, and appending them once,
//! under a comment that marks them as brrt's.

use super::plan::{Plan, Write};
use crate::builtin::{self, TILT_EXTENSION_DIR};
use crate::ops::{Action, Error, Result};
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

/// Plans the Tilt extension: with `write`, its files and the lines that load it from the
/// Tiltfile; without, a note with those lines when the Tiltfile lacks them.
pub(super) fn add_to(plan: &mut Plan, dir: &Path, write: bool) -> Result<()> {
    let tiltfile = find(dir);
    let current = match &tiltfile {
        Some(path) => Some(std::fs::read_to_string(path).map_err(|e| {
            Error::Other(format!("cannot read Tiltfile: {e}; nothing was changed"))
        })?),
        None => None,
    };
    let loaded = current.as_deref().is_some_and(|t| t.contains(GUARD));
    if !write {
        if !loaded {
            plan.notes.push(format!(
                "for Tilt: `brrt init --tilt` writes the extension to {TILT_EXTENSION_DIR}/ and \
                 appends to your Tiltfile the lines that load it:\n{}",
                block()
            ));
        }
        return Ok(());
    }
    for file in builtin::under(TILT_EXTENSION_DIR) {
        plan.copy(file);
    }
    match (tiltfile, current) {
        (Some(path), Some(text)) => match appended(&text) {
            Some(new) => {
                plan.row(
                    &path,
                    Action::Updated,
                    "appended the lines that load the brrt extension",
                );
                plan.writes.push(Write::Append {
                    path,
                    tail: new[text.len()..].to_string(),
                });
            }
            None => plan.row(&path, Action::Unchanged, "loads the brrt extension already"),
        },
        _ => plan.notes.push(format!(
            "no Tiltfile here: when you have one, add the lines that load the extension:\n{}",
            block()
        )),
    }
    Ok(())
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
