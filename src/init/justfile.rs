//! brrt's recipes for a team's justfile: appended to the one it has (skipping every name it
//! already uses), or a new justfile. The names a justfile defines are read by the real `just`
//! (`--dump --dump-format json`), so a justfile that does not parse is reported in just's own
//! words and left as it is; the result is parsed by `just` too before it is written.

use super::plan::{Plan, Write};
use crate::ops::{Action, Error, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The names just looks for, in its order.
const NAMES: [&str; 4] = ["justfile", "Justfile", "JUSTFILE", ".justfile"];

/// The line that starts what `brrt init` appends.
pub const HEADER: &str =
    "# --- brrt: the local registries and pull-through caches of the kind dev loop ---";

/// brrt's recipes: the name, its doc comment, and its signature and body. Each is one brrt
/// call, running the flow of the project (scripts/NAME.rhai) or brrt's built-in one.
pub const RECIPES: &[(&str, &str, &str)] = &[
    (
        "dev-registry",
        "Bring up the push registry and the caches; with no kind cluster yet, no node is wired (run dev-up once it exists).",
        "dev-registry:\n    brrt run dev-up\n",
    ),
    (
        "dev-up",
        "Reconcile the push registry, the caches and every kind node's mirrors with brrt.toml.",
        "dev-up:\n    brrt run dev-up\n",
    ),
    (
        "dev-watch",
        "dev-up, then again on every save of brrt.toml or a flow.",
        "dev-watch:\n    brrt run --watch dev-up\n",
    ),
    (
        "dev-down",
        "Remove mirrors, caches and the push registry; `just dev-down true` deletes their volumes too.",
        "dev-down purge=\"false\":\n    brrt run dev-down --set purge={{ trim_start_match(purge, \"purge=\") }}\n",
    ),
    (
        "cache-ls",
        "The images each cache holds, or only UPSTREAM's (e.g. `just cache-ls docker.io`).",
        "cache-ls upstream=\"\":\n    brrt run cache -- ls {{ upstream }}\n",
    ),
    (
        "cache-du",
        "Bytes on disk per cache.",
        "cache-du:\n    brrt run cache -- du\n",
    ),
    (
        "cache-clear",
        "Empty every cache, or only UPSTREAM's; the cache containers stay up.",
        "cache-clear upstream=\"\":\n    brrt run cache -- clear {{ upstream }}\n",
    ),
    (
        "doctor",
        "Diagnose the registries, the caches and the cluster wiring.",
        "doctor:\n    brrt run doctor\n",
    ),
];

/// What `brrt init --just` will do to the justfile.
#[derive(Debug, Clone)]
pub struct JustPlan {
    pub path: PathBuf,
    /// The justfile's text as it was read (empty for a new one).
    pub current: String,
    /// The justfile's new text, which starts with `current`; `None` when nothing changes.
    pub text: Option<String>,
    pub created: bool,
    /// brrt's recipes added now.
    pub added: Vec<&'static str>,
    /// brrt's recipes that are there already.
    pub present: Vec<&'static str>,
    /// brrt's recipe names the justfile uses for recipes of its own: skipped.
    pub taken: Vec<&'static str>,
}

/// The justfile of `dir`, if it has one.
pub fn find(dir: &Path) -> Option<PathBuf> {
    NAMES.iter().map(|n| dir.join(n)).find(|p| p.is_file())
}

/// Plans the change; nothing is written. Fails, changing nothing, on a justfile that does not
/// parse or when `just` is needed and missing.
pub fn plan(dir: &Path) -> Result<JustPlan> {
    let Some(path) = find(dir) else {
        let mut text = String::from(
            "# The recipes of this repository. `just` with no recipe lists them.\n\n\
             default:\n    @just --list\n\n",
        );
        text.push_str(&block(&RECIPES.iter().map(|r| r.0).collect::<Vec<_>>()));
        return Ok(JustPlan {
            path: dir.join("justfile"),
            current: String::new(),
            text: Some(text),
            created: true,
            added: RECIPES.iter().map(|r| r.0).collect(),
            present: Vec::new(),
            taken: Vec::new(),
        });
    };
    let shown = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let current = std::fs::read_to_string(&path)
        .map_err(|e| Error::Other(format!("cannot read {shown}: {e}; nothing was changed")))?;
    let names = defined_names(&path, dir, &shown)?;
    let (mut added, mut present, mut taken) = (Vec::new(), Vec::new(), Vec::new());
    for (name, _, body) in RECIPES {
        if !names.iter().any(|n| n == name) {
            added.push(*name);
        } else if current.contains(body) {
            present.push(*name);
        } else {
            taken.push(*name);
        }
    }
    let text = (!added.is_empty()).then(|| {
        let mut text = current.clone();
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push('\n');
        text.push_str(&block(&added));
        text
    });
    Ok(JustPlan {
        path,
        current,
        text,
        created: false,
        added,
        present,
        taken,
    })
}

/// The appended text: the header, then each recipe with its doc comment.
fn block(names: &[&str]) -> String {
    let mut out = format!(
        "{HEADER}\n# Added by `brrt init`. Each recipe is one brrt call; `brrt flows` lists the flows.\n"
    );
    for (_, doc, body) in RECIPES.iter().filter(|r| names.contains(&r.0)) {
        out.push_str(&format!("\n# {doc}\n{body}"));
    }
    out
}

fn just() -> Command {
    Command::new("just")
}

/// The recipe, alias and module names a justfile defines, as `just` reads it.
fn defined_names(path: &Path, dir: &Path, shown: &str) -> Result<Vec<String>> {
    let out = just()
        .arg("--justfile")
        .arg(path)
        .arg("--working-directory")
        .arg(dir)
        .args(["--dump", "--dump-format", "json"])
        .output()
        .map_err(|e| {
            Error::Other(format!(
                "cannot check {shown}: `just` could not be run ({e}); install it (`cargo install \
                 just`, or `pip install rust-just`) so that brrt can read the recipe names it \
                 would have to skip; nothing was changed"
            ))
        })?;
    if !out.status.success() {
        return Err(Error::Other(format!(
            "{shown} does not parse, so brrt init changed nothing; fix it first. just says:\n{}",
            String::from_utf8_lossy(&out.stderr).trim_end()
        )));
    }
    let dump: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| {
        Error::Other(format!(
            "cannot read what `just --dump` printed for {shown}: {e}; nothing was changed"
        ))
    })?;
    let mut names = Vec::new();
    for table in ["recipes", "aliases", "modules"] {
        if let Some(map) = dump[table].as_object() {
            names.extend(map.keys().cloned());
        }
    }
    Ok(names)
}

/// Checks that `text`, as the justfile at `path`, parses under `just`: written beside it under a
/// temporary name (so its imports resolve as they will), read, and removed. `Ok` when `just`
/// is not installed, for a justfile brrt creates from its own recipes.
pub fn check_parses(path: &Path, text: &str, must: bool) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let probe = dir.join(format!(".brrt-init-justfile-{}", std::process::id()));
    std::fs::write(&probe, text)
        .map_err(|e| Error::Other(format!("cannot write in {}: {e}", dir.display())))?;
    let result = just()
        .arg("--justfile")
        .arg(&probe)
        .arg("--working-directory")
        .arg(dir)
        .args(["--dump", "--dump-format", "json"])
        .output();
    let _ = std::fs::remove_file(&probe);
    match result {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(Error::Other(format!(
            "the justfile with brrt's recipes would not parse under this `just`, so it was left \
             as it is:\n{}",
            String::from_utf8_lossy(&out.stderr).trim_end()
        ))),
        Err(_) if !must => Ok(()),
        Err(e) => Err(Error::Other(format!("cannot run `just`: {e}"))),
    }
}

/// Plans brrt's recipes into the justfile: the report row, and the write when one is needed.
pub(super) fn add_to(plan: &mut Plan, dir: &Path) -> Result<()> {
    let just = self::plan(dir)?;
    let mut detail = Vec::new();
    if !just.added.is_empty() {
        detail.push(format!("added {}", just.added.join(", ")));
    }
    if !just.present.is_empty() && just.added.is_empty() {
        detail.push(format!(
            "brrt's recipes are there ({})",
            just.present.join(", ")
        ));
    }
    if !just.taken.is_empty() {
        detail.push(format!(
            "skipped {}: the justfile has recipes of its own by {}",
            just.taken.join(", "),
            if just.taken.len() == 1 {
                "that name"
            } else {
                "those names"
            }
        ));
    }
    let action = match (&just.text, just.created) {
        (None, _) => Action::Unchanged,
        (Some(_), true) => Action::Created,
        (Some(_), false) => Action::Updated,
    };
    if let Some(text) = &just.text {
        check_parses(&just.path, text, !just.created)?;
        plan.writes.push(if just.created {
            Write::Create {
                path: just.path.clone(),
                text: text.clone(),
                executable: false,
            }
        } else {
            Write::Append {
                path: just.path.clone(),
                tail: text[just.current.len()..].to_string(),
            }
        });
    }
    let path = just.path.clone();
    plan.row(&path, action, detail.join("; "));
    Ok(())
}
