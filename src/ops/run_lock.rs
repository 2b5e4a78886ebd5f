//! One flow at a time per set of containers: an advisory file lock, so that a second `dev-up`
//! that would change the same containers waits for the first instead of racing it into
//! Docker's 409 conflicts. The lock is keyed by the engine and by what the flow changes (the
//! push registry's name, the set of caches every cluster shares, and the cluster's name, which
//! names its nodes), not by the config's path: two configs that name the same containers, or
//! share caches, take turns.
//!
//! Lock files live in brrt's private folder ([`private_dir`](crate::ops::private_dir)), opened
//! without following symlinks. Each holds its holder's pid and the config it applies, so a
//! waiting run can say for whom it waits; never a command line. The lock goes with the
//! process, even when it is killed.

use crate::ops::digest::sha256_hex;
use crate::ops::{private_dir, Error, Result};
use std::fs::{File, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::PathBuf;
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
    /// What it is held for, as [`LockKey::name`] gives it.
    pub key: String,
    pub path: PathBuf,
}

/// What a flow locks: something on an engine whose containers the flow changes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LockKey {
    /// `push registry kind-registry`, `the caches brrt-cache-* that every cluster shares`,
    /// `the nodes of cluster brrt-dev`.
    pub what: String,
    pub engine: String,
}

impl LockKey {
    /// The push registry `name` on `engine`.
    pub fn registry(engine: &str, name: &str) -> LockKey {
        LockKey {
            what: format!("push registry {name}"),
            engine: engine.into(),
        }
    }

    /// The caches of the set `name` (cache.name) on `engine`, which every cluster whose config
    /// names that set shares.
    pub fn caches(engine: &str, name: &str) -> LockKey {
        LockKey {
            what: format!("the caches {name}-* that every cluster shares"),
            engine: engine.into(),
        }
    }

    /// The nodes of kind cluster `name` on `engine`.
    pub fn cluster(engine: &str, name: &str) -> LockKey {
        LockKey {
            what: format!("the nodes of cluster {name}"),
            engine: engine.into(),
        }
    }

    /// The lock file's name: a hash, so no name can reach outside the folder.
    fn file_name(&self) -> String {
        let key = sha256_hex(format!("{}\0{}", self.engine, self.what));
        format!("{}.lock", &key[..24])
    }

    pub fn name(&self) -> String {
        format!("{} on {}", self.what, self.engine)
    }
}

/// Takes the lock for `key`. `config` names what this run applies, for whoever waits for it.
/// While it waits, `cancelled` is asked every poll, so Ctrl-C still stops the run.
pub async fn acquire(
    key: &LockKey,
    config: &str,
    wait: LockWait,
    cancelled: impl Fn() -> bool,
) -> Result<RunLock> {
    let (mut file, path) = private_dir::open(&key.file_name())?;
    let io = |e: std::io::Error| Error::Other(format!("cannot lock {}: {e}", path.display()));
    let mut said = false;
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(TryLockError::WouldBlock) => {
                let holder = holder(&mut file);
                let busy = format!("another brrt ({holder}) holds {}", key.name());
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
        tracing::info!("got the lock for {}; going on", key.name());
    }
    let me = format!("pid {}, applying {config}", std::process::id());
    // Written over the last holder's text, and cut only when that was longer: on a folder on
    // disk a truncate waits for the filesystem's journal (0.3-4 ms apiece on a busy machine,
    // three locks a run), a write over the same bytes does not.
    let before = file.metadata().map_err(io)?.len();
    let shorter = u64::try_from(me.len()).is_ok_and(|len| len < before);
    let written = (if shorter { file.set_len(0) } else { Ok(()) })
        .and_then(|()| file.rewind())
        .and_then(|()| file.write_all(me.as_bytes()));
    written.map_err(io)?;
    Ok(RunLock {
        _file: file,
        key: key.name(),
        path,
    })
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
