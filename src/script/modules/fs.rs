//! `fs::` — text files under the project directory, and only there.

use crate::script::api_doc::ModuleBuilder;
use crate::script::context::ScriptContext;
use crate::script::convert::{runtime_error, RhaiResult};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

/// Resolves `path` and refuses anything outside the project directory.
fn inside_project(ctx: &ScriptContext, function: &str, path: &str) -> RhaiResult<PathBuf> {
    let full = ctx.resolve(path);
    let mut normal = PathBuf::new();
    for part in full.components() {
        match part {
            Component::ParentDir => {
                normal.pop();
            }
            Component::CurDir => {}
            other => normal.push(other),
        }
    }
    // Follow symlinks on the longest existing prefix, so a link cannot lead outside either.
    let mut existing: &Path = &normal;
    while !existing.exists() {
        match existing.parent() {
            Some(p) => existing = p,
            None => break,
        }
    }
    let real_prefix = std::fs::canonicalize(existing).unwrap_or_else(|_| existing.to_path_buf());
    // Join only a non-empty rest: `Path::join("")` appends a `/`, which makes an existing file
    // look like a directory (reads fail with "Not a directory").
    let rest = normal.strip_prefix(existing).unwrap_or(Path::new(""));
    let real = if rest.as_os_str().is_empty() {
        real_prefix
    } else {
        real_prefix.join(rest)
    };
    let root = std::fs::canonicalize(&ctx.project_dir).unwrap_or_else(|_| ctx.project_dir.clone());
    if !real.starts_with(&root) {
        return Err(runtime_error(format!(
            "{function}: `{path}` is outside the project directory {}; fs:: only reads and writes files inside it",
            root.display()
        )));
    }
    Ok(real)
}

pub fn register(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
    let c = ctx.clone();
    m.func(
        "read",
        &["path: String"],
        "String",
        "Reads a text file inside the project directory (watched under --watch).",
        move |path: &str| -> RhaiResult<String> {
            let full = inside_project(&c, "fs::read", path)?;
            c.track(&full);
            std::fs::read_to_string(&full)
                .map_err(|e| runtime_error(format!("fs::read: {}: {e}", c.display_path(&full))))
        },
    );
    let c = ctx.clone();
    m.func("write", &["path: String", "text: String"], "bool", "Writes a text file inside the project directory; returns false when the content was already the same.", move |path: &str, text: &str| -> RhaiResult<bool> {
        let full = inside_project(&c, "fs::write", path)?;
        if std::fs::read_to_string(&full).is_ok_and(|old| old == text) {
            return Ok(false);
        }
        let shown = c.display_path(&full);
        if c.mode.announce(crate::ops::Action::Updated, &format!("file {shown}")) {
            if let Some(parent) = full.parent() {
                std::fs::create_dir_all(parent).map_err(|e| runtime_error(format!("fs::write: {shown}: {e}")))?;
            }
            std::fs::write(&full, text).map_err(|e| runtime_error(format!("fs::write: {shown}: {e}")))?;
        }
        c.record(crate::ops::Action::Updated, format!("file {shown}"));
        Ok(true)
    });
    let c = ctx.clone();
    m.func(
        "exists",
        &["path: String"],
        "bool",
        "Whether a file exists inside the project directory.",
        move |path: &str| -> RhaiResult<bool> {
            let full = inside_project(&c, "fs::exists", path)?;
            c.track(&full);
            Ok(full.exists())
        },
    );
}
