//! The marker of a `kind create cluster` brrt began: a file in brrt's private folder, named
//! after the engine and the cluster and locked by the creating process. [`super::create`]
//! takes it and removes it; [`super::cli::delete`] forgets it once the cluster is gone.

use crate::ops::digest::sha256_hex;
use crate::ops::timestamp::{now_nanos, show_utc};
use crate::ops::{Error, Result};
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::PathBuf;

/// Forgets that brrt began to create `name`: it is deleted (or finished).
pub fn forget(name: &str) {
    if let Ok(path) = marker_path(name) {
        let _ = std::fs::remove_file(path);
    }
}

/// Where the marker for cluster `name` is.
pub(super) fn marker_path(name: &str) -> Result<PathBuf> {
    Ok(crate::ops::private_dir::private_dir()?.join(marker_name(name)))
}

/// The marker for cluster `name` on the engine kind uses (the docker CLI's: see
/// [`crate::ops::docker::endpoint`]).
/// The marker's file name in brrt's private folder ([`crate::ops::private_dir`]): only this
/// user can write there, and a symlink is never followed.
pub(super) fn marker_name(name: &str) -> String {
    let engine = crate::ops::docker::endpoint()
        .map(|e| e.host)
        .unwrap_or_default();
    let key = sha256_hex(format!("{engine}\0{name}"));
    format!("kind-create-{}-{}", name, &key[..16])
}

/// The marker of a create under way: the file exists and this process holds its lock.
pub(super) struct Marker {
    file: File,
    path: PathBuf,
}

impl Marker {
    pub(super) fn take(name: &str) -> Result<Marker> {
        let (mut file, path) = crate::ops::private_dir::open(&marker_name(name))?;
        let io = |e: std::io::Error| Error::Other(format!("cannot write {}: {e}", path.display()));
        file.try_lock().map_err(|_| {
            Error::Other(format!(
                "another brrt ({}) is creating kind cluster {name}; wait for it",
                holder(&mut file)
            ))
        })?;
        // Who and when, never a command line: arguments can hold what others should not read.
        let me = format!("pid {}, at {}", std::process::id(), show_utc(now_nanos()));
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(me.as_bytes()))
            .map_err(io)?;
        Ok(Marker { file, path })
    }

    /// The create finished, or what it made is gone: nothing is left unfinished.
    pub(super) fn remove(self) {
        let _ = std::fs::remove_file(&self.path);
        drop(self.file);
    }
}

/// What the marker's writer wrote about itself.
pub(super) fn holder(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.rewind().and_then(|()| file.read_to_string(&mut text));
    let text = text.trim();
    if text.is_empty() {
        "a brrt that has just started".to_string()
    } else {
        text.to_string()
    }
}
