//! Where `import "name"` finds its module: a script or a WASM plugin in the project's folders,
//! else a module built into brrt. Only finding: reading, compiling and the import chain are
//! the engine's (`script::resolver`), and `brrt check` asks here which plugins a script names.

use crate::builtin::{self, BuiltinFile};
use crate::script::context::ScriptContext;
use std::path::{Path, PathBuf};

/// Whether an import resolved to a plugin rather than a script.
pub fn is_plugin(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "wasm")
}

/// A module `import` found.
#[derive(Debug, Clone)]
pub enum Found {
    /// A script or WASM plugin on disk.
    File(PathBuf),
    /// A module built into brrt (`scripts/lib/topology.rhai`).
    BuiltIn(&'static BuiltinFile),
}

/// Where `import "name"` finds its module: `name.rhai`, or the WASM plugin `name.wasm`, in the
/// importing script's folder, then `scripts/`, then `plugins/` (the first folder holding
/// either wins; a script before a plugin in the same folder); and last among brrt's built-in
/// modules, so that a built-in flow imports the project's copy of a module when it has one. A
/// built-in importer's folder is the project's folder of the same name (`scripts/` for
/// `<built-in>/scripts/dev-up.rhai`). A name with an extension is looked for as it is. A
/// script never finds itself, so `scripts/policy.rhai` can import the plugin `policy`.
pub fn find_import(ctx: &ScriptContext, source: Option<&str>, path: &str) -> Result<Found, String> {
    let has_extension = Path::new(path).extension().is_some();
    let files = if has_extension {
        vec![path.to_string()]
    } else {
        vec![format!("{path}.rhai"), format!("{path}.wasm")]
    };
    let built_in_importer = source.and_then(builtin::from_shown);
    let importer = match built_in_importer {
        Some(_) => None,
        None => source.map(|src| ctx.resolve(src)),
    };
    let mut dirs = Vec::new();
    match (
        built_in_importer,
        importer.as_deref().and_then(Path::parent),
    ) {
        (Some(b), _) => dirs.push(ctx.project_dir.join(b.dir())),
        (None, Some(dir)) => dirs.push(dir.to_path_buf()),
        (None, None) => {}
    }
    dirs.push(ctx.project_dir.join("scripts"));
    dirs.push(ctx.project_dir.join("plugins"));
    let is_importer = |p: &Path| {
        importer.as_deref().is_some_and(|i| {
            i == p || std::fs::canonicalize(i).ok() == std::fs::canonicalize(p).ok()
        })
    };
    let found = dirs
        .iter()
        .flat_map(|d| files.iter().map(move |f| d.join(f)))
        .find(|p| p.is_file() && !is_importer(p));
    if let Some(found) = found {
        return Ok(Found::File(found));
    }
    if let Some(found) = built_in_module(ctx, built_in_importer, importer.as_deref(), &files[0]) {
        return Ok(Found::BuiltIn(found));
    }
    Err(not_found(ctx, path, &dirs, &files[0], has_extension))
}

/// The built-in module `file` (`topology.rhai`): beside a built-in importer (or the built-in
/// counterpart of a local copy's folder), then in the built-in scripts/.
fn built_in_module(
    ctx: &ScriptContext,
    built_in_importer: Option<&'static BuiltinFile>,
    importer: Option<&Path>,
    file: &str,
) -> Option<&'static BuiltinFile> {
    let importer_dir = match (built_in_importer, importer) {
        (Some(b), _) => Some(b.dir().to_string()),
        (None, Some(i)) => i
            .parent()
            .and_then(|d| d.strip_prefix(&ctx.project_dir).ok())
            .filter(|d| d.starts_with(builtin::FLOWS_DIR))
            .map(|d| d.to_string_lossy().replace('\\', "/")),
        (None, None) => None,
    };
    importer_dir
        .into_iter()
        .chain(std::iter::once(builtin::FLOWS_DIR.to_string()))
        .map(|dir| format!("{dir}/{file}"))
        .filter_map(|p| builtin::file(&p))
        .find(|f| built_in_importer != Some(*f))
}

/// Why `import "path"` found nothing: the places looked in, and how to build a plugin whose
/// source is there.
fn not_found(
    ctx: &ScriptContext,
    path: &str,
    dirs: &[PathBuf],
    file: &str,
    has_extension: bool,
) -> String {
    let looked: Vec<String> = dirs
        .iter()
        .map(|d| ctx.display_path(&d.join(file)))
        .collect();
    let mut message = format!(
        "module `{path}` not found; looked for {}",
        looked.join(", ")
    );
    if !has_extension {
        message.push_str(&format!(
            ", and for a plugin {path}.wasm in the same folders"
        ));
        let example = ctx.project_dir.join("plugins/examples").join(path);
        if example.join("Cargo.toml").is_file() {
            message.push_str(&format!(
                " ({} is that plugin's source: build it with `just plugin-build {path}`)",
                ctx.display_path(&example)
            ));
        }
    }
    message.push_str("; brrt has no built-in module of that name either");
    message
}
