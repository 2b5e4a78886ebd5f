//! The files shipped inside the binary: the flows (`scripts/*.rhai`), their modules
//! (`scripts/lib/`) and the Tilt extension (`plugins/tilt/brrt/`), as they were when this brrt
//! was built (see `build.rs`). A repository with no `scripts/` of its own runs these; `brrt
//! init` copies them out for editing.
//!
//! It sits at the crate's root, below every layer, because three read it: the script layer
//! finds flows and modules here (`script::sources`), `brrt init` copies the files out, and
//! `brrt flows` compares them with the project's copies. It depends on nothing of brrt.

/// One embedded file.
#[derive(Debug, PartialEq, Eq)]
pub struct BuiltinFile {
    /// Its path in brrt's repository, with `/`: `scripts/dev-up.rhai`.
    pub path: &'static str,
    pub text: &'static str,
    /// Written out with the executable bit (`test.sh`).
    pub executable: bool,
}

include!(concat!(env!("OUT_DIR"), "/builtin_files.rs"));

/// How a built-in file is named in messages and diagnostics: `<built-in>/scripts/dev-up.rhai`.
pub const SHOWN_PREFIX: &str = "<built-in>/";

/// The folder of the flows; a flow `NAME` is `scripts/NAME.rhai`, here and in a project.
pub const FLOWS_DIR: &str = "scripts";

/// The folder of the Tilt extension.
pub const TILT_EXTENSION_DIR: &str = "plugins/tilt/brrt";

impl BuiltinFile {
    /// `<built-in>/scripts/dev-up.rhai`.
    pub fn shown(&self) -> String {
        format!("{SHOWN_PREFIX}{}", self.path)
    }

    /// Its folder: `scripts/lib` for `scripts/lib/topology.rhai`.
    pub fn dir(&self) -> &'static str {
        self.path.rsplit_once('/').map_or("", |(dir, _)| dir)
    }
}

/// Every embedded file, sorted by path.
pub fn files() -> &'static [BuiltinFile] {
    FILES
}

/// The embedded file at `path` (`scripts/lib/topology.rhai`), if there is one.
pub fn file(path: &str) -> Option<&'static BuiltinFile> {
    FILES.iter().find(|f| f.path == path)
}

/// The embedded file a diagnostic name (`<built-in>/scripts/dev-up.rhai`) stands for.
pub fn from_shown(shown: &str) -> Option<&'static BuiltinFile> {
    file(shown.strip_prefix(SHOWN_PREFIX)?)
}

/// The built-in flow `name` (`dev-up` → `scripts/dev-up.rhai`).
pub fn flow(name: &str) -> Option<&'static BuiltinFile> {
    file(&format!("{FLOWS_DIR}/{name}.rhai"))
}

/// The names of the built-in flows: the scripts directly in `scripts/`.
pub fn flow_names() -> Vec<&'static str> {
    FILES
        .iter()
        .filter_map(|f| {
            f.path
                .strip_prefix("scripts/")?
                .strip_suffix(".rhai")
                .filter(|n| !n.contains('/'))
        })
        .collect()
}

/// The embedded files under `dir` (`plugins/tilt/brrt`).
pub fn under(dir: &str) -> impl Iterator<Item = &'static BuiltinFile> + '_ {
    FILES.iter().filter(move |f| {
        f.path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flows_their_modules_and_the_tilt_extension_are_embedded() {
        let names = flow_names();
        for flow in ["dev-up", "dev-down", "cache", "doctor", "migrate"] {
            assert!(names.contains(&flow), "{flow} is not built in: {names:?}");
        }
        assert!(!names.iter().any(|n| n.contains('/')), "{names:?}");
        let topology = file("scripts/lib/topology.rhai").expect("the topology module");
        assert!(topology.text.contains("fn load(set)"));
        assert_eq!(topology.dir(), "scripts/lib");
        assert_eq!(
            from_shown("<built-in>/scripts/lib/topology.rhai"),
            Some(topology)
        );
        let tilt: Vec<&str> = under(TILT_EXTENSION_DIR).map(|f| f.path).collect();
        assert!(tilt.contains(&"plugins/tilt/brrt/Tiltfile"), "{tilt:?}");
        assert!(tilt.contains(&"plugins/tilt/brrt/README.md"), "{tilt:?}");
        assert!(file("plugins/tilt/brrt/test/test.sh").is_some_and(|f| f.executable));
        assert!(!file("plugins/tilt/brrt/Tiltfile").is_some_and(|f| f.executable));
    }

    #[test]
    fn embedded_files_are_the_files_of_this_checkout() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        for f in files() {
            let on_disk = std::fs::read_to_string(root.join(f.path)).expect(f.path);
            assert_eq!(on_disk, f.text, "{} differs from what was embedded", f.path);
        }
    }
}
