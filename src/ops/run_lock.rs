//! One flow at a time per config and engine: an advisory file lock, so that a second `dev-up`
//! on the same config waits for the first instead of racing it into Docker's 409 conflicts.
//!
//! The lock file lives in the temp folder, named by a hash of the engine address and the
//! config's full path; it holds the pid and command line of whoever has it, so a waiting run
//! can say for whom it waits. The lock goes with the process, even when it is killed.

use crate::ops::digest::sha256_hex;
use crate::ops::{Error, Result};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Whether to wait for a lock someone else holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LockWait {
    /// Wait, saying once for whom.
    #[default]
    Wait,
    /// Fail at once, saying who holds it.
    NoWait,
}

/// A held lock; dropping it releases the lock.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
    pub path: PathBuf,
}

/// The folder lock files go in. Shared by every user of the machine.
fn lock_dir() -> PathBuf {
    std::env::temp_dir().join("brrt-locks")
}

/// The lock file for `config` on `engine`.
pub fn lock_path(config: &Path, engine: &str) -> PathBuf {
    let config = std::fs::canonicalize(config).unwrap_or_else(|_| config.to_path_buf());
    let key = sha256_hex(format!("{engine}\0{}", config.display()));
    lock_dir().join(format!("{}.lock", &key[..24]))
}

/// Takes the lock for `config` on `engine`. `shown` names the config in messages. While it
/// waits, `cancelled` is asked every poll, so Ctrl-C still stops the run.
pub async fn acquire(
    config: &Path,
    shown: &str,
    engine: &str,
    wait: LockWait,
    cancelled: impl Fn() -> bool,
) -> Result<RunLock> {
    let path = lock_path(config, engine);
    let io = |e: std::io::Error| Error::Other(format!("cannot lock {}: {e}", path.display()));
    let dir = lock_dir();
    if !dir.is_dir() {
        std::fs::create_dir_all(&dir).map_err(io)?;
        // Every user's runs meet here: anyone may create a lock file, nobody may remove another's.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o1777));
        }
    }
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io)?;
    let mut said = false;
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(TryLockError::WouldBlock) => {
                let holder = holder(&mut file);
                let busy = format!("another brrt ({holder}) is applying {shown} on {engine}");
                if wait == LockWait::NoWait {
                    return Err(Error::Other(format!(
                        "{busy}; run again when it is done, or leave out --no-wait to wait for it"
                    )));
                }
                if !said {
                    tracing::warn!("waiting: {busy}");
                    said = true;
                }
                if cancelled() {
                    return Err(Error::Interrupted);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
    }
    if said {
        tracing::info!("got the lock for {shown}; going on");
    }
    let me = format!(
        "pid {}: {}",
        std::process::id(),
        std::env::args().collect::<Vec<_>>().join(" ")
    );
    let written = file
        .set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| file.write_all(me.as_bytes()));
    written.map_err(io)?;
    Ok(RunLock { _file: file, path })
}

/// Who holds the lock, as its holder wrote it.
fn holder(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.rewind().and_then(|()| file.read_to_string(&mut text));
    let text = text.trim();
    if text.is_empty() {
        "a process that has just started".to_string()
    } else {
        text.to_string()
    }
}
