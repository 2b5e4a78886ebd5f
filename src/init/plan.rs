//! The plan of `brrt init`: every file it means to write, with the report row that says why.
//! Everything is planned (and checked) before the first file is written, so bad input changes
//! nothing; a file is only ever created anew or appended to, never overwritten, but for a
//! `*.new` that brrt wrote itself.

use crate::builtin::BuiltinFile;
use crate::ops::{Action, Error, Result};
use serde::Serialize;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// One file `init` looked at, and what it did to it.
#[derive(Debug, Clone, Serialize)]
pub struct InitRow {
    /// Relative to the repository.
    pub file: String,
    pub action: Action,
    pub detail: String,
}

/// A file to write once everything is planned.
pub(super) enum Write {
    /// A new file; it must not exist.
    Create {
        path: PathBuf,
        text: String,
        executable: bool,
    },
    /// Text added at the end of an existing file.
    Append { path: PathBuf, tail: String },
    /// A `*.new` file brrt wrote before, replaced with this version's.
    Replace { path: PathBuf, text: String },
}

/// Everything planned: the report rows and the writes behind them.
pub(super) struct Plan {
    pub dir: PathBuf,
    pub rows: Vec<InitRow>,
    pub writes: Vec<Write>,
    pub notes: Vec<String>,
}

impl Plan {
    pub fn row(&mut self, path: &Path, action: Action, detail: impl Into<String>) {
        self.rows.push(InitRow {
            file: self.shown(path),
            action,
            detail: detail.into(),
        });
    }

    pub fn shown(&self, path: &Path) -> String {
        path.strip_prefix(&self.dir)
            .unwrap_or(path)
            .display()
            .to_string()
    }

    /// A built-in file copied out, unless the repository has it already.
    pub fn copy(&mut self, file: &BuiltinFile) {
        let path = self.dir.join(file.path);
        match std::fs::read_to_string(&path) {
            Err(_) if !path.exists() => {
                self.row(&path, Action::Created, "brrt's built-in, yours to edit");
                self.writes.push(Write::Create {
                    path,
                    text: file.text.to_string(),
                    executable: file.executable,
                });
            }
            Ok(text) if text == file.text => {
                self.row(&path, Action::Unchanged, "same as the built-in")
            }
            _ => self.row(
                &path,
                Action::Unchanged,
                "kept: your copy differs from this brrt's built-in (`brrt init --upgrade` writes \
                 the built-in beside it as .new)",
            ),
        }
    }

    /// This version's built-in beside a local copy that differs from it, as `*.new`.
    pub fn upgrade(&mut self, file: &BuiltinFile) {
        let path = self.dir.join(file.path);
        let Ok(local) = std::fs::read_to_string(&path) else {
            return;
        };
        if local == file.text {
            return;
        }
        let new = self.dir.join(format!("{}.new", file.path));
        let detail = format!(
            "this brrt's {}, beside your copy: compare and merge, then delete it",
            file.path
        );
        match std::fs::read_to_string(&new) {
            Ok(text) if text == file.text => self.row(
                &new,
                Action::Unchanged,
                "up to date with this brrt's built-in",
            ),
            Ok(_) => {
                self.row(&new, Action::Updated, detail);
                self.writes.push(Write::Replace {
                    path: new,
                    text: file.text.to_string(),
                });
            }
            Err(_) => {
                self.row(&new, Action::Created, detail);
                self.writes.push(Write::Create {
                    path: new,
                    text: file.text.to_string(),
                    executable: file.executable,
                });
            }
        }
    }
}

/// Writes what was planned, in order.
pub(super) fn apply(plan: &Plan) -> Result<()> {
    let failed = |path: &Path, e: std::io::Error| {
        Error::Other(format!(
            "cannot write {}: {e}; the files listed before it were written",
            plan.shown(path)
        ))
    };
    for write in &plan.writes {
        match write {
            Write::Create {
                path,
                text,
                executable,
            } => {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| failed(path, e))?;
                }
                // create_new: a file that appeared since the plan is not overwritten either.
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(path)
                    .map_err(|e| failed(path, e))?;
                f.write_all(text.as_bytes()).map_err(|e| failed(path, e))?;
                #[cfg(unix)]
                if *executable {
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
                        .map_err(|e| failed(path, e))?;
                }
                #[cfg(not(unix))]
                let _ = executable;
            }
            Write::Append { path, tail } => {
                let mut f = std::fs::OpenOptions::new()
                    .append(true)
                    .open(path)
                    .map_err(|e| failed(path, e))?;
                f.write_all(tail.as_bytes()).map_err(|e| failed(path, e))?;
            }
            Write::Replace { path, text } => {
                std::fs::write(path, text).map_err(|e| failed(path, e))?;
            }
        }
    }
    Ok(())
}
