//! Where a flow comes from: the project's own `scripts/NAME.rhai` when it has one, else the
//! one built into brrt. `brrt flows` lists both, and which local copies differ from this
//! version's built-ins.

use crate::builtin::{self, BuiltinFile, FLOWS_DIR};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// A flow found by name.
#[derive(Debug, Clone)]
pub enum Located {
    /// The project's copy, `<project>/scripts/NAME.rhai`.
    Local(PathBuf),
    BuiltIn(&'static BuiltinFile),
}

/// Whether `script` names a flow rather than a file: one plain name with no extension
/// (`dev-up`, not `dev-up.rhai` or `scripts/dev-up.rhai`).
pub fn is_name(script: &Path) -> bool {
    let mut parts = script.components();
    matches!(
        (parts.next(), parts.next()),
        (Some(std::path::Component::Normal(_)), None)
    ) && script.extension().is_none()
}

/// The project's copy of flow `name`, whether or not it exists.
pub fn local_path(project_dir: &Path, name: &str) -> PathBuf {
    project_dir.join(FLOWS_DIR).join(format!("{name}.rhai"))
}

/// Flow `name`: the project's copy, else the built-in; `None` when neither exists.
pub fn locate(project_dir: &Path, name: &str) -> Option<Located> {
    let local = local_path(project_dir, name);
    if local.is_file() {
        return Some(Located::Local(local));
    }
    builtin::flow(name).map(Located::BuiltIn)
}

/// Why there is no flow `name`, with the flows there are.
pub fn not_found(project_dir: &Path, name: &str) -> String {
    let names: Vec<String> = catalog(project_dir)
        .into_iter()
        .filter(|e| e.kind == Kind::Flow)
        .map(|e| e.name)
        .collect();
    format!(
        "no flow `{name}`: the project has no {FLOWS_DIR}/{name}.rhai and brrt has no built-in \
         `{name}`; the flows are {} (`brrt flows` lists them), or give a script's path",
        names.join(", ")
    )
}

/// A flow (run by name) or a module (imported by flows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Flow,
    Module,
}

/// Where a listed flow or module comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// Only the project has it.
    Local,
    /// The project's copy is used; it is the same as the built-in.
    LocalSame,
    /// The project's copy is used; it differs from this version's built-in.
    LocalDiffers,
    /// The project has no copy: the built-in is used.
    BuiltIn,
}

/// One line of `brrt flows`.
#[derive(Debug, Clone, Serialize)]
pub struct CatalogEntry {
    /// `dev-up`, or `lib/topology` for a module.
    pub name: String,
    pub kind: Kind,
    pub origin: Origin,
    /// The file used: `scripts/dev-up.rhai` or `<built-in>/scripts/dev-up.rhai`.
    pub used: String,
}

/// Every flow and module: the project's (`scripts/*.rhai`, `scripts/lib/*.rhai`) and the
/// built-in ones, flows first, each sorted by name.
pub fn catalog(project_dir: &Path) -> Vec<CatalogEntry> {
    // path under the project (`scripts/lib/topology.rhai`) → (kind, local text, built-in)
    let mut found: BTreeMap<String, (Kind, Option<String>, Option<&'static BuiltinFile>)> =
        BTreeMap::new();
    let kind_of = |path: &str| {
        if path.trim_start_matches("scripts/").contains('/') {
            Kind::Module
        } else {
            Kind::Flow
        }
    };
    for f in builtin::files().iter().filter(|f| is_script(f.path)) {
        found.insert(f.path.to_string(), (kind_of(f.path), None, Some(f)));
    }
    for dir in [FLOWS_DIR.to_string(), format!("{FLOWS_DIR}/lib")] {
        let Ok(entries) = std::fs::read_dir(project_dir.join(&dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = format!("{dir}/{name}");
            if !is_script(&path) || !entry.path().is_file() {
                continue;
            }
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            found
                .entry(path.clone())
                .or_insert((kind_of(&path), None, None))
                .1 = Some(text);
        }
    }
    let mut entries: Vec<CatalogEntry> = found
        .into_iter()
        .map(|(path, (kind, local, built_in))| {
            let origin = match (&local, built_in) {
                (Some(_), None) => Origin::Local,
                (Some(text), Some(b)) if text == b.text => Origin::LocalSame,
                (Some(_), Some(_)) => Origin::LocalDiffers,
                (None, _) => Origin::BuiltIn,
            };
            let used = match (origin, built_in) {
                (Origin::BuiltIn, Some(b)) => b.shown(),
                _ => path.clone(),
            };
            CatalogEntry {
                name: path
                    .trim_start_matches("scripts/")
                    .trim_end_matches(".rhai")
                    .to_string(),
                kind,
                origin,
                used,
            }
        })
        .collect();
    entries.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
    entries
}

fn is_script(path: &str) -> bool {
    path.starts_with("scripts/") && path.ends_with(".rhai")
}

/// `brrt flows`: a table of [`catalog`].
pub struct CatalogTable(pub Vec<CatalogEntry>);

impl fmt::Display for CatalogTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows: Vec<[String; 4]> = self
            .0
            .iter()
            .map(|e| {
                let (from, note) = match e.origin {
                    Origin::Local => ("local", "no built-in of that name"),
                    Origin::LocalSame => ("local", "same as the built-in"),
                    Origin::LocalDiffers => (
                        "local",
                        "differs from this brrt's built-in (`brrt init --upgrade` writes it beside as .new)",
                    ),
                    Origin::BuiltIn => ("built-in", ""),
                };
                let kind = match e.kind {
                    Kind::Flow => "flow",
                    Kind::Module => "module",
                };
                [
                    e.name.clone(),
                    kind.to_string(),
                    format!("{from}  {}", e.used),
                    note.to_string(),
                ]
            })
            .collect();
        let header = ["name", "kind", "from", ""].map(String::from);
        let width = |i: usize| {
            rows.iter()
                .chain(std::iter::once(&header))
                .map(|r| r[i].len())
                .max()
                .unwrap_or(0)
        };
        let (w0, w1, w2) = (width(0), width(1), width(2));
        for row in std::iter::once(&header).chain(&rows) {
            let line = format!("{:w0$}  {:w1$}  {:w2$}  {}", row[0], row[1], row[2], row[3]);
            writeln!(f, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_one_part_without_an_extension() {
        assert!(is_name(Path::new("dev-up")));
        for path in [
            "dev-up.rhai",
            "scripts/dev-up.rhai",
            "./dev-up",
            "/dev-up",
            "..",
        ] {
            assert!(!is_name(Path::new(path)), "{path}");
        }
    }

    #[test]
    fn a_local_copy_wins_and_is_compared_with_the_built_in() {
        let dir = tempfile::tempdir().unwrap();
        let scripts = dir.path().join("scripts");
        std::fs::create_dir_all(scripts.join("lib")).unwrap();
        assert!(matches!(
            locate(dir.path(), "dev-up"),
            Some(Located::BuiltIn(_))
        ));
        std::fs::write(scripts.join("dev-up.rhai"), "print(1);").unwrap();
        std::fs::write(
            scripts.join("cache.rhai"),
            builtin::flow("cache").unwrap().text,
        )
        .unwrap();
        std::fs::write(scripts.join("mine.rhai"), "").unwrap();
        assert!(matches!(
            locate(dir.path(), "dev-up"),
            Some(Located::Local(_))
        ));
        assert!(locate(dir.path(), "nope").is_none());

        let all = catalog(dir.path());
        let origin = |name: &str| all.iter().find(|e| e.name == name).unwrap().origin;
        assert_eq!(origin("dev-up"), Origin::LocalDiffers);
        assert_eq!(origin("cache"), Origin::LocalSame);
        assert_eq!(origin("mine"), Origin::Local);
        assert_eq!(origin("doctor"), Origin::BuiltIn);
        assert_eq!(origin("lib/topology"), Origin::BuiltIn);
        // Flows first, then the modules.
        let first_module = all.iter().position(|e| e.kind == Kind::Module).unwrap();
        assert!(all[first_module..].iter().all(|e| e.kind == Kind::Module));
        assert!(all[first_module..].iter().any(|e| e.name == "lib/topology"));
        assert!(not_found(dir.path(), "nope").contains("dev-up, doctor, migrate, mine"));
    }
}
