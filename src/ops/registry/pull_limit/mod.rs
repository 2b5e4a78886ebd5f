//! An upstream's pull limit, as the upstream reports it (Docker Hub: anonymous pulls per IP
//! address, an account's per account, in a window of hours), and what to do when it runs out.
//!
//! Docker Hub sends `ratelimit-limit: 100;w=21600` and `ratelimit-remaining: 76;w=21600` on
//! manifest requests, `GET` and `HEAD` alike, and counts only a `GET` as a pull. So the check
//! is a `HEAD` of the manifest Docker documents for it (`ratelimitpreview/test:latest`), made
//! against the cache's remote (Docker Hub's real endpoint, or `[cache.remotes]`) with the
//! credentials the cache uses (`BRRT_<UPSTREAM>_USERNAME/_PASSWORD`), after the token dance the
//! cache makes: a `401` with `WWW-Authenticate: Bearer realm=…,service=…,scope=…`, then a token
//! from the realm, anonymous or with basic auth. It never counts as a pull.
//!
//! - this file: the figures for people ([`PullLimit`]), and checks started ahead of time
//! - [`probe`]: the `HEAD` that reads the limit, with the token dance
//! - [`headers`]: the rate-limit headers and the challenge, read
//! - [`refused`]: pulls refused for the limit, counted from a cache's log
//! - [`remembered`]: the last answer per remote and account, used for 5 minutes by a flow that
//!   starts its check ahead ([`start`]: dev-up); a check asked directly (doctor, `cache
//!   stats`) always asks the upstream

mod answer;
mod headers;
mod probe;
mod refused;
mod remembered;

pub use answer::PullLimit;
pub use probe::PROBE_REPO;
pub use refused::{refused, Refused, LOG_LINES};

use crate::ops::upstream;
use probe::{ask, Failure};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The credential variables of an upstream as people read them:
/// `BRRT_DOCKER_IO_USERNAME/PASSWORD`.
fn credential_words(host: &str) -> String {
    let (user, _) = upstream::credential_vars(host);
    format!("{user}/PASSWORD")
}

/// What to do when the limit of an account's pulls runs out, in one clause.
fn account_advice(host: &str) -> String {
    format!(
        "warm images earlier with `cache warm`, use a team cache ([cache.shared]), or an \
         account with a higher limit in {}",
        credential_words(host)
    )
}

/// What to do when an upstream's pull limit runs out, in one clause.
pub fn advice(host: &str) -> String {
    format!(
        "log in through {} (then run dev-up), warm images earlier with `cache warm`, or use a \
         team cache ([cache.shared])",
        credential_words(host)
    )
}

/// `21600` → `6 h`.
fn window_words(seconds: u64) -> String {
    if seconds >= 3600 && seconds.is_multiple_of(3600) {
        format!("{} h", seconds / 3600)
    } else if seconds >= 60 && seconds.is_multiple_of(60) {
        format!("{} min", seconds / 60)
    } else {
        format!("{seconds} s")
    }
}

/// A check started ahead of time, when, and whether it took a remembered answer.
type Started = (
    Instant,
    tokio::task::JoinHandle<crate::ops::Result<PullLimit>>,
    bool,
);
/// Checks started ahead of time ([`start`]) by upstream and remotes.
static STARTED: Mutex<BTreeMap<String, Started>> = Mutex::new(BTreeMap::new());
/// The longest a flow waits for a check it started, counted from its start: the check must
/// never hold up a dev-up (an upstream that does not answer would cost its timeouts, three
/// requests long). A check that takes longer is dropped, and the flow says nothing of it.
const STARTED_BUDGET: Duration = Duration::from_secs(5);
/// Whether the previous check of each remote in this process found the limit low.
static WAS_LOW: Mutex<BTreeMap<String, bool>> = Mutex::new(BTreeMap::new());
/// The remotes and accounts ([`remembered::key`]) this process asked already: a later check of
/// one (a save under `--watch`) asks the upstream again, never a remembered answer.
static ASKED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// Whether this process asked `key` before; it has now.
fn asked_before(key: &str) -> bool {
    !ASKED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(key.to_string())
}

fn started_key(host: &str, remotes: &BTreeMap<String, String>) -> String {
    format!("{host} {remotes:?}")
}

/// Starts [`check`] on `runtime` now, for the next [`check`] with the same arguments in this
/// process to take its answer: a flow asks early and reads it at its end, so the round trips
/// to the upstream overlap the flow's own work. The first check of a remote and account in
/// this process takes an answer kept from the last [`remembered::KEPT_FOR`] instead of asking
/// again; it says `newly_low` as a fresh answer would.
pub fn start(runtime: &tokio::runtime::Handle, host: &str, remotes: &BTreeMap<String, String>) {
    let (h, r) = (host.to_string(), remotes.clone());
    let kept = remembered_key(host, remotes)
        .filter(|k| !asked_before(k))
        .and_then(|k| remembered::recall(&k));
    let remembered = kept.is_some();
    let task = runtime.spawn(async move {
        match kept {
            Some(kept) => Ok(said_against_previous(kept)),
            None => check_now(&h, &r).await,
        }
    });
    STARTED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(
            started_key(host, remotes),
            (Instant::now(), task, remembered),
        );
}

/// Checks the pull limit of `host`'s remote (from `remotes`, the config's `cache.remotes`,
/// else the catalogue's endpoint) for the pulls its cache makes; takes the answer of a check
/// [`start`]ed with the same arguments when there is one, unless `fresh` and that check took
/// a remembered answer (the flow changed the cache since: new credentials, say).
pub async fn check(
    host: &str,
    remotes: &BTreeMap<String, String>,
    fresh: bool,
) -> crate::ops::Result<PullLimit> {
    let started = STARTED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .remove(&started_key(host, remotes));
    let Some((since, mut task, remembered)) = started else {
        return check_now(host, remotes).await;
    };
    if fresh && remembered {
        task.abort();
        return check_now(host, remotes).await;
    }
    let deadline = tokio::time::Instant::from_std(since + STARTED_BUDGET);
    match tokio::time::timeout_at(deadline, &mut task).await {
        Ok(Ok(found)) => found,
        // The task was cancelled or panicked: ask now, as if none had been started.
        Ok(Err(_)) => check_now(host, remotes).await,
        Err(_) => {
            task.abort();
            let mut out = PullLimit::unknown(host, remotes)?;
            out.text = format!(
                "{host}: the pull limit was not checked: {} did not answer within {} s",
                out.remote,
                STARTED_BUDGET.as_secs()
            );
            Ok(out)
        }
    }
}

/// The key [`remembered`] keeps `host`'s answer under: its remote and the account's name.
fn remembered_key(host: &str, remotes: &BTreeMap<String, String>) -> Option<String> {
    let remote = PullLimit::unknown(host, remotes).ok()?.remote;
    let account = upstream::credentials(host).map(|(user, _)| user);
    Some(remembered::key(host, &remote, account.as_deref()))
}

/// Asks the upstream now, keeps the answer (see [`remembered`]), and says whether it is newly
/// low or recovered against this process's previous check.
async fn check_now(
    host: &str,
    remotes: &BTreeMap<String, String>,
) -> crate::ops::Result<PullLimit> {
    let out = ask_now(host, remotes).await?;
    if let Some(key) = remembered_key(host, remotes) {
        asked_before(&key);
        // A refusal is said at every run until the credentials are right: nothing kept for
        // the account holds any more.
        if out.status == "refused" {
            remembered::forget(&key);
        } else {
            remembered::remember(&key, &out);
        }
    }
    Ok(said_against_previous(out))
}

/// Sets `newly_low` and `recovered` of an answer with figures against this process's previous
/// check of the same remote, and records this one.
fn said_against_previous(mut out: PullLimit) -> PullLimit {
    let (Some(limit), Some(remaining)) = (out.limit, out.remaining) else {
        return out;
    };
    let low = remaining.saturating_mul(10) < limit;
    let previous = WAS_LOW
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(format!("{} {}", out.upstream, out.remote), low);
    out.newly_low = low && previous != Some(true);
    out.recovered = !low && previous == Some(true);
    out
}

async fn ask_now(host: &str, remotes: &BTreeMap<String, String>) -> crate::ops::Result<PullLimit> {
    let mut out = PullLimit::unknown(host, remotes)?;
    let (remote, own_remote) = (out.remote.clone(), out.own_remote);
    let credentials = upstream::credentials(host);
    let answer = ask(&remote, credentials.as_ref()).await;
    let (user_var, _) = upstream::credential_vars(host);
    let answer = match answer {
        Ok(a) => a,
        Err(Failure::Refused { realm, said }) => {
            out.status = "refused".into();
            out.level = "fail".into();
            out.who = "account".into();
            out.text = format!(
                "{host}: {realm} refused the account in {}: {said}; the cache's pulls of new \
                 images fail too until they are right (then run dev-up)",
                credential_words(host)
            );
            return Ok(out);
        }
        Err(Failure::Unreachable(why)) | Err(Failure::Unexpected(why)) => {
            if own_remote {
                out.text = format!("{host}: the pull limit could not be checked: {why}");
            } else {
                out.level = "note".into();
                out.text = format!(
                    "{host}: the pull limit was not checked: {why}; the cache may reach it \
                     where this machine cannot, as [cache.remotes] names it"
                );
            }
            return Ok(out);
        }
    };
    let source_is_ip = answer
        .source
        .as_deref()
        .is_some_and(|s| s.parse::<std::net::IpAddr>().is_ok());
    let todo = if answer.as_account && !source_is_ip {
        account_advice(host)
    } else {
        advice(host)
    };
    let whose = if answer.as_account && !source_is_ip {
        out.who = "account".into();
        format!("the account in {user_var}")
    } else if answer.as_account {
        format!("anonymous, per IP: {remote} did not count the login in {user_var}")
    } else {
        "anonymous, per IP".to_string()
    };
    let (Some((limit, w1)), Some((remaining, w2))) = (answer.limit, answer.remaining) else {
        out.status = "ok".into();
        out.level = "ok".into();
        out.text = format!("{host}: {remote} reports no pull limit ({whose})");
        return Ok(out);
    };
    let window = w2.or(w1);
    let low = remaining.saturating_mul(10) < limit;
    out.limit = Some(limit);
    out.remaining = Some(remaining);
    out.window = window;
    let span = window.map_or("this window".to_string(), |w| {
        format!("this {} window", window_words(w))
    });
    out.text = format!("{host}: {remaining} of {limit} pulls left in {span} ({whose})");
    if remaining == 0 {
        out.status = "used up".into();
        out.level = "fail".into();
        out.text = format!(
            "{}: new images cannot be pulled through the cache until the window ends; {todo}",
            out.text
        );
    } else if low {
        out.status = "low".into();
        out.level = "warn".into();
        out.text = format!("{}; {todo}", out.text);
    } else {
        out.status = "ok".into();
        out.level = "ok".into();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A remote that takes the connection and never answers costs a flow that started the
    /// check at most [`STARTED_BUDGET`], not the requests' timeouts.
    #[test]
    fn a_started_check_of_a_remote_that_never_answers_is_dropped_after_its_budget() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let remote = format!("http://{}", listener.local_addr().unwrap());
        let remotes = BTreeMap::from([("docker.io".to_string(), remote.clone())]);
        start(runtime.handle(), "docker.io", &remotes);
        let found = runtime
            .block_on(check("docker.io", &remotes, false))
            .unwrap();
        assert_eq!(found.status, "unknown");
        assert_eq!(
            found.text,
            format!(
                "docker.io: the pull limit was not checked: {remote} did not answer within 5 s"
            )
        );
        drop(listener);
    }

    #[test]
    fn windows_read_in_the_largest_whole_unit() {
        assert_eq!(window_words(21600), "6 h");
        assert_eq!(window_words(3600), "1 h");
        assert_eq!(window_words(600), "10 min");
        assert_eq!(window_words(90), "90 s");
    }

    #[test]
    fn the_advice_names_the_upstreams_variables() {
        assert!(advice("docker.io").starts_with("log in through BRRT_DOCKER_IO_USERNAME/PASSWORD"));
    }
}
