//! brrt's own folder on this machine, for its run locks and the short-lived files it hands to
//! other programs (the kind config): one only this user can write, so that nobody else can
//! plant a symlink where brrt opens a file, take a lock's name, or read what brrt writes there.
//!
//! It is `$XDG_RUNTIME_DIR/brrt` when that variable names a folder of this user's that only
//! they can enter, else `brrt-<uid>` in the temp folder. Either is created `0700`, and one that
//! is a symlink, belongs to someone else or is open to others is refused, never used. Files in
//! it are opened without following a symlink, and created `0600`.

use crate::ops::{Error, Result};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The folder, created when missing and checked every time.
pub fn private_dir() -> Result<PathBuf> {
    let runtime = std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .filter(|dir| dir.is_absolute() && owned_and_closed(dir).is_ok());
    let dir = match runtime {
        Some(base) => base.join("brrt"),
        None => std::env::temp_dir().join(format!("brrt-{}", uid())),
    };
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => {
            return Err(Error::Other(format!(
                "cannot create brrt's folder {}: {e}",
                dir.display()
            )))
        }
    }
    owned_and_closed(&dir).map_err(|why| {
        Error::Other(format!(
            "brrt keeps its run locks in {}, but {why}, so anyone could meddle with them: remove \
             it (brrt makes it again, 0700), or set XDG_RUNTIME_DIR to a folder only you can \
             write",
            dir.display()
        ))
    })?;
    Ok(dir)
}

/// Opens `name` in the private folder for reading and writing, creating it `0600` when
/// missing. A symlink there is refused.
pub fn open(name: &str) -> Result<(File, PathBuf)> {
    let path = private_dir()?.join(name);
    let mut options = OpenOptions::new();
    options
        .read(true)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .create(true)
        .truncate(false);
    let file = options.open(&path).map_err(|e| {
        let why = if e.raw_os_error() == Some(libc::ELOOP) {
            "it is a symbolic link, which brrt never follows there; remove it".to_string()
        } else {
            e.to_string()
        };
        Error::Other(format!("cannot open {}: {why}", path.display()))
    })?;
    Ok((file, path))
}

/// Why `dir` is not a folder of this user's that only they can write, if it is not.
fn owned_and_closed(dir: &Path) -> std::result::Result<(), String> {
    let meta = std::fs::symlink_metadata(dir).map_err(|e| e.to_string())?;
    if meta.file_type().is_symlink() {
        return Err("it is a symbolic link".into());
    }
    if !meta.is_dir() {
        return Err("it is not a folder".into());
    }
    if meta.uid() != uid() {
        return Err(format!("it belongs to uid {}, not to you", meta.uid()));
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "others may enter or write it (mode {mode:o}, not 700)"
        ));
    }
    Ok(())
}

fn uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}
