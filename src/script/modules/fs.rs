//! `fs::` — text files under the project directory, and only there.

use crate::script::api_doc::ModuleBuilder;
use crate::script::context::ScriptContext;
use crate::script::convert::{runtime_error, RhaiResult};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

/// Resolves `path` and refuses anything outside the project directory. Every symlink on the
/// way is followed, a dangling one too (its target is where a write would land), so no link
/// leads a read or a write outside. Returns the real path, which is what is then read or
/// written: a link swapped afterwards cannot redirect it.
fn inside_project(ctx: &ScriptContext, function: &str, path: &str) -> RhaiResult<PathBuf> {
    let root = std::fs::canonicalize(&ctx.project_dir).unwrap_or_else(|_| ctx.project_dir.clone());
    let real = real_path(&ctx.resolve(path)).ok_or_else(|| {
        runtime_error(format!(
            "{function}: `{path}` goes through too many symlinks"
        ))
    })?;
    if !real.starts_with(&root) {
        return Err(runtime_error(format!(
            "{function}: `{path}` is outside the project directory {} (it leads to {}); fs:: only \
             reads and writes files inside it",
            root.display(),
            real.display()
        )));
    }
    Ok(real)
}

/// The path with every symlink resolved, dangling ones included, and `.`/`..` applied.
/// `None` after 40 links (a loop).
fn real_path(path: &Path) -> Option<PathBuf> {
    /// One step of a path still to walk, owned, so a link's target can be queued.
    enum Step {
        Root(PathBuf),
        Up,
        Name(std::ffi::OsString),
    }
    fn steps(path: &Path) -> impl DoubleEndedIterator<Item = Step> + '_ {
        path.components().filter_map(|c| match c {
            Component::Prefix(_) | Component::RootDir => {
                Some(Step::Root(PathBuf::from(c.as_os_str())))
            }
            Component::CurDir => None,
            Component::ParentDir => Some(Step::Up),
            Component::Normal(n) => Some(Step::Name(n.to_owned())),
        })
    }
    let mut pending: Vec<Step> = steps(path).rev().collect();
    let mut real = PathBuf::new();
    let mut hops = 0;
    while let Some(step) = pending.pop() {
        match step {
            Step::Root(root) => real.push(root),
            Step::Up => {
                real.pop();
            }
            Step::Name(name) => {
                let next = real.join(&name);
                match std::fs::read_link(&next) {
                    Ok(target) => {
                        hops += 1;
                        if hops > 40 {
                            return None;
                        }
                        pending.extend(steps(&target).rev());
                    }
                    Err(_) => real = next,
                }
            }
        }
    }
    Some(real)
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
    m.func(
        "write",
        &["path: String", "text: String"],
        "bool",
        "Writes a text file inside the project directory; returns false when the content was \
         already the same.",
        move |path: &str, text: &str| -> RhaiResult<bool> {
            let full = inside_project(&c, "fs::write", path)?;
            if std::fs::read_to_string(&full).is_ok_and(|old| old == text) {
                return Ok(false);
            }
            let shown = c.display_path(&full);
            if c.mode
                .announce(crate::ops::Action::Updated, &format!("file {shown}"))
            {
                if let Some(parent) = full.parent() {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| runtime_error(format!("fs::write: {shown}: {e}")))?;
                }
                std::fs::write(&full, text)
                    .map_err(|e| runtime_error(format!("fs::write: {shown}: {e}")))?;
            }
            c.record(crate::ops::Action::Updated, format!("file {shown}"));
            Ok(true)
        },
    );
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
