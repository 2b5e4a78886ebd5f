//! The last answer of an upstream's pull limit, per remote and account, kept for a few minutes
//! in brrt's private folder: a dev-up run again within that time (a no-op, most often) makes no
//! round trip to Docker Hub (system CA store, DNS, the token dance, the `HEAD`). Only what
//! [`PullLimit`] says is kept, keyed by the account's name: never a token, a password or the
//! credentials themselves. Credentials refused are never kept: they change as soon as the user
//! acts, and are said at every run until then.

use super::answer::PullLimit;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{Read, Seek, Write};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long an answer is used instead of asking again.
pub(super) const KEPT_FOR: Duration = Duration::from_secs(5 * 60);
/// The file in brrt's private folder.
const FILE: &str = "pull-limits.json";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    /// When it was asked, in seconds since the epoch.
    at: u64,
    limit: PullLimit,
}

/// The key of an answer: the upstream, the remote asked (without credentials) and whose pulls
/// it counts, by the account's name only.
pub(super) fn key(host: &str, remote: &str, account: Option<&str>) -> String {
    match account {
        Some(name) => format!("{host} {remote} account {name}"),
        None => format!("{host} {remote} anonymous"),
    }
}

/// Whether an answer asked at `at` may still be used at `now` (both in seconds since the
/// epoch); one from the future (the clock went back) may not.
fn fresh(at: u64, now: u64) -> bool {
    now >= at && now - at < KEPT_FOR.as_secs()
}

/// Whether an answer is one to keep: anything but credentials refused (figures, no limit, a
/// remote this machine could not reach).
fn worth_keeping(limit: &PullLimit) -> bool {
    limit.status != "refused"
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The answer kept under `key`, when it is fresh. Any trouble with the file reads as none.
pub(super) fn recall(key: &str) -> Option<PullLimit> {
    let (mut file, _) = crate::ops::private_dir::open(FILE).ok()?;
    recall_from(&mut file, key, now())
}

/// Keeps `limit` under `key`, when it is an answer to keep; drops the stale ones. A file that
/// cannot be written is left as it is: the next dev-up asks again.
pub(super) fn remember(key: &str, limit: &PullLimit) {
    if !worth_keeping(limit) {
        return;
    }
    let kept = crate::ops::private_dir::open(FILE)
        .and_then(|(mut file, path)| {
            remember_in(&mut file, key, limit, now())
                .map_err(|e| crate::ops::Error::Other(format!("write {}: {e}", path.display())))
        })
        .err();
    if let Some(e) = kept {
        tracing::debug!("the pull limit is not kept: {e}");
    }
}

/// Drops the answer kept under `key`.
pub(super) fn forget(key: &str) {
    if let Ok((mut file, _)) = crate::ops::private_dir::open(FILE) {
        let mut all = read_all(&mut file);
        if all.remove(key).is_some() {
            let _ = write_all(&mut file, &all);
        }
    }
}

fn write_all(file: &mut std::fs::File, all: &BTreeMap<String, Entry>) -> std::io::Result<()> {
    let text = serde_json::to_string(all).map_err(std::io::Error::other)?;
    file.rewind()?;
    file.set_len(0)?;
    file.write_all(text.as_bytes())
}

fn read_all(file: &mut std::fs::File) -> BTreeMap<String, Entry> {
    let mut text = String::new();
    if file.rewind().is_err() || file.read_to_string(&mut text).is_err() {
        return BTreeMap::new();
    }
    serde_json::from_str(&text).unwrap_or_default()
}

fn recall_from(file: &mut std::fs::File, key: &str, now: u64) -> Option<PullLimit> {
    let entry = read_all(file).remove(key)?;
    fresh(entry.at, now).then_some(entry.limit)
}

fn remember_in(
    file: &mut std::fs::File,
    key: &str,
    limit: &PullLimit,
    now: u64,
) -> std::io::Result<()> {
    let mut all = read_all(file);
    all.retain(|_, e| fresh(e.at, now));
    let mut limit = limit.clone();
    // Said against this process's previous check, never kept.
    (limit.newly_low, limit.recovered) = (false, false);
    all.insert(key.to_string(), Entry { at: now, limit });
    write_all(file, &all)
}

/// For tests: the file in a folder of the test's own.
#[cfg(test)]
fn open_in(dir: &std::path::Path) -> std::fs::File {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(dir.join(FILE))
        .unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(status: &str, remaining: u64) -> PullLimit {
        PullLimit {
            upstream: "docker.io".into(),
            remote: "https://registry-1.docker.io".into(),
            own_remote: true,
            who: "anonymous".into(),
            limit: Some(100),
            remaining: Some(remaining),
            window: Some(21600),
            status: status.into(),
            level: "ok".into(),
            text: format!("docker.io: {remaining} of 100 pulls left"),
            newly_low: true,
            recovered: false,
        }
    }

    #[test]
    fn an_answer_is_kept_for_five_minutes_and_no_longer() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = open_in(dir.path());
        let k = key("docker.io", "https://registry-1.docker.io", None);
        remember_in(&mut file, &k, &limit("low", 7), 1_000).unwrap();
        let found = recall_from(&mut file, &k, 1_000).unwrap();
        assert_eq!((found.remaining, found.status.as_str()), (Some(7), "low"));
        // What this process said of its previous check is not kept.
        assert!(!found.newly_low);
        assert!(recall_from(&mut file, &k, 1_000 + 299).is_some());
        assert!(recall_from(&mut file, &k, 1_000 + 300).is_none());
        // The clock went back: asked again.
        assert!(recall_from(&mut file, &k, 999).is_none());
        // A later answer replaces it, and a stale one of another key goes.
        let other = key("docker.io", "https://mirror.example", None);
        remember_in(&mut file, &k, &limit("ok", 50), 2_000).unwrap();
        remember_in(&mut file, &other, &limit("ok", 60), 2_400).unwrap();
        assert!(recall_from(&mut file, &k, 2_400).is_none());
        assert_eq!(
            recall_from(&mut file, &other, 2_400).unwrap().remaining,
            Some(60)
        );
        // A file brrt cannot read is no answer.
        std::fs::write(dir.path().join(FILE), "not json").unwrap();
        assert!(recall_from(&mut open_in(dir.path()), &other, 2_400).is_none());
    }

    #[test]
    fn the_key_names_the_remote_and_the_account_never_a_password() {
        let anonymous = key("docker.io", "https://registry-1.docker.io", None);
        let alice = key("docker.io", "https://registry-1.docker.io", Some("alice"));
        let bob = key("docker.io", "https://registry-1.docker.io", Some("bob"));
        let mirror = key("docker.io", "https://mirror.example", Some("alice"));
        let keys = [&anonymous, &alice, &bob, &mirror];
        for (i, a) in keys.iter().enumerate() {
            for b in &keys[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(
            alice,
            "docker.io https://registry-1.docker.io account alice"
        );
    }

    #[test]
    fn only_answers_that_hold_are_kept() {
        assert!(worth_keeping(&limit("ok", 50)));
        assert!(worth_keeping(&limit("low", 5)));
        assert!(worth_keeping(&limit("used up", 0)));
        assert!(worth_keeping(&limit("unknown", 0)));
        assert!(!worth_keeping(&limit("refused", 0)));
    }
}
