//! What a cache does, as it does it: the requests it serves, each told as a hit (from its own
//! storage) or a miss (from its upstream), the blobs it fetches and stores, and its errors,
//! read from the registry's log.
//!
//! distribution's log says which request was served, not where the bytes came from. The
//! storage does: a blob (or manifest) is linked into its repository when the cache stores it,
//! so a request that started after the link was written was served from the cache, and one
//! that started before it (or while there is no link yet) went to the upstream. That is one
//! stat per request, through the engine, and it never asks the registry. The same holds for
//! distribution 2.8 and v3, which log alike; they differ in what a client's hang-up does to a
//! fetch (2.8 goes on storing the blob, v3 drops it), and the line says which.

use super::logfmt::parse_logfmt;
use super::storage::Storage;
use crate::ops::docker;
use crate::ops::human_bytes;
use crate::ops::timestamp::{go_duration_nanos, unix_nanos};
use crate::ops::{Error, Result};
use bollard::Docker;
use futures_util::StreamExt;
use std::collections::BTreeMap;

/// A blob or a manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Blob,
    Manifest,
}

/// One thing a cache did, as its log tells it.
#[derive(Debug, Clone, PartialEq)]
pub enum Activity {
    /// A request for a blob or manifest was answered.
    Served {
        kind: Kind,
        method: String,
        repo: String,
        /// The digest or tag asked for.
        reference: String,
        status: u16,
        bytes: u64,
        /// When the request started, nanoseconds since the epoch.
        started: i128,
        duration_ms: f64,
        /// Why it failed, when it did (a client that hung up, an upstream error).
        error: Option<String>,
        /// The upstream refused the cache's fetch for its pull limit (`429 TOOMANYREQUESTS`).
        /// distribution v3 passes the 429 on (`err.code=toomanyrequests`); 2.8 answers 500 and
        /// keeps the upstream's words (`err.detail="toomanyrequests: …"`).
        too_many: bool,
    },
    /// The cache fetched something from its upstream and now holds it.
    Stored { repo: String, digest: String },
    /// The cache could not store a blob it fetched.
    StoreFailed {
        repo: String,
        digest: String,
        message: String,
    },
    /// Any other warning or error.
    Problem { level: String, message: String },
}

/// What a logfmt line of distribution's says, if it is worth showing.
pub fn activity(fields: &BTreeMap<String, String>) -> Option<Activity> {
    let msg = fields.get("msg")?;
    let level = fields.get("level").map_or("info", String::as_str);
    if let Some(rest) = msg.strip_prefix("Adding new scheduler entry for ") {
        let key = rest.split_whitespace().next()?;
        let (repo, digest) = key.rsplit_once('@')?;
        return Some(Activity::Stored {
            repo: repo.into(),
            digest: digest.into(),
        });
    }
    if let Some(message) = msg.strip_prefix("Error committing to storage: ") {
        return Some(Activity::StoreFailed {
            repo: fields.get("vars.name")?.clone(),
            digest: fields.get("vars.digest")?.clone(),
            message: message.to_string(),
        });
    }
    if msg.starts_with("response completed") {
        let uri = fields.get("http.request.uri")?;
        let path = uri.split('?').next().unwrap_or(uri).strip_prefix("/v2/")?;
        let (kind, repo, reference) = if let Some((repo, d)) = path.rsplit_once("/blobs/") {
            (Kind::Blob, repo, d)
        } else if let Some((repo, r)) = path.rsplit_once("/manifests/") {
            (Kind::Manifest, repo, r)
        } else {
            return None;
        };
        let time = unix_nanos(fields.get("time")?)?;
        let duration = fields
            .get("http.response.duration")
            .and_then(|d| go_duration_nanos(d))
            .unwrap_or(0.0);
        let error = (level != "info").then(|| {
            fields
                .get("err.detail")
                .or_else(|| fields.get("err.message"))
                .cloned()
                .unwrap_or_else(|| msg.clone())
        });
        let too_many = fields
            .get("err.code")
            .is_some_and(|c| c.eq_ignore_ascii_case("toomanyrequests"))
            || fields
                .get("err.detail")
                .is_some_and(|d| d.to_ascii_lowercase().starts_with("toomanyrequests"));
        return Some(Activity::Served {
            kind,
            method: fields.get("http.request.method")?.clone(),
            repo: repo.into(),
            reference: reference.into(),
            status: fields.get("http.response.status")?.parse().ok()?,
            bytes: fields
                .get("http.response.written")
                .and_then(|w| w.parse().ok())
                .unwrap_or(0),
            started: time - duration as i128,
            duration_ms: duration / 1e6,
            error,
            too_many,
        });
    }
    if level == "info" || level == "debug" {
        return None;
    }
    if msg.starts_with("error serving error json") {
        // The same client hang-up the request's own line reports.
        return None;
    }
    let detail = fields
        .get("err.detail")
        .map(|d| format!(": {d}"))
        .unwrap_or_default();
    Some(Activity::Problem {
        level: level.into(),
        message: format!("{msg}{detail}"),
    })
}

/// Whether a served request came from the cache's storage (`Some(true)`), from its upstream
/// (`Some(false)`), or cannot be told (`None`: a tag the cache does not hold, a failed request).
pub async fn served_from_cache(
    storage: &Storage,
    kind: Kind,
    repo: &str,
    reference: &str,
    started: i128,
) -> Result<Option<bool>> {
    let link = match kind {
        Kind::Blob => storage.layer_link(repo, reference).await?,
        Kind::Manifest => {
            let digest = if reference.contains(':') {
                reference.to_string()
            } else {
                match storage.tag_digest(repo, reference).await? {
                    Some(d) => d,
                    None => return Ok(None),
                }
            };
            storage.manifest_link(repo, &digest).await?
        }
    };
    Ok(Some(match link.and_then(|l| l.modified) {
        Some(linked) => linked < started,
        None => false,
    }))
}

/// Short digests in lines people read: `sha256:ec05c98f076b`.
pub fn short_digest(digest: &str) -> &str {
    match digest.split_once(':') {
        Some((algo, hex)) if hex.len() > 12 => &digest[..algo.len() + 1 + 12],
        _ => digest,
    }
}

/// One line of `cache logs`: the activity, told for people, with `hit`/`miss` in a column of
/// its own. `stores_after_hang_up`: whether the cache goes on storing a blob whose client hung
/// up (distribution 2.x) or drops it (v3). `upstream` names the upstream in a refusal.
pub fn describe(
    activity: &Activity,
    from_cache: Option<bool>,
    stores_after_hang_up: bool,
    upstream: &str,
) -> String {
    match activity {
        Activity::Served {
            kind,
            method,
            repo,
            reference,
            status,
            bytes,
            duration_ms,
            error,
            too_many,
            ..
        } => {
            let what = match kind {
                Kind::Blob => "blob",
                Kind::Manifest => "manifest",
            };
            let sep = if reference.contains(':') { '@' } else { ':' };
            let name = format!("{repo}{sep}{}", short_digest(reference));
            let hung_up = error
                .as_deref()
                .is_some_and(|e| e.contains("broken pipe") || e.contains("connection reset"));
            let answered = (200..300).contains(status) || hung_up;
            let verdict = match from_cache {
                Some(true) if answered => "hit ",
                Some(false) if answered => "miss",
                _ => "    ",
            };
            let how = match (error, from_cache) {
                _ if *too_many => format!(
                    "HTTP {status}: {upstream} refused it, its pull limit is used up (429 \
                     TOOMANYREQUESTS); {}",
                    super::pull_limit::advice(upstream)
                ),
                _ if hung_up && from_cache == Some(false) && !stores_after_hang_up => {
                    "the client hung up; the cache dropped what it was fetching".to_string()
                }
                _ if hung_up && from_cache == Some(false) => {
                    "the client hung up; the cache goes on storing what it fetches".to_string()
                }
                _ if hung_up => "the client hung up".to_string(),
                (Some(e), _) => format!("HTTP {status}: {e}"),
                (None, _) if !answered => format!("HTTP {status}"),
                (None, Some(true)) => "served from the cache".into(),
                (None, Some(false)) => "fetched from the upstream".into(),
                (None, None) => String::new(),
            };
            format!(
                "{verdict}  {what:<8}  {method:<4} {name}  {}  {:.0} ms  {how}",
                human_bytes(*bytes),
                duration_ms
            )
            .trim_end()
            .to_string()
        }
        Activity::Stored { repo, digest } => format!(
            "stored          {repo}@{}  now in the cache",
            short_digest(digest)
        ),
        Activity::StoreFailed {
            repo,
            digest,
            message,
        } => format!(
            "error           {repo}@{}  not stored: {message}",
            short_digest(digest)
        ),
        Activity::Problem { level, message } => format!("{level:<5}           {message}"),
    }
}

/// A cache to follow: the upstream it serves (each line's prefix) and its container.
#[derive(Debug, Clone)]
pub struct Followed {
    pub upstream: String,
    pub container: String,
}

/// Follows the logs of `caches` from now on, handing each line worth showing to `out` (with the
/// upstream as its first column) until every log ends (its container stopped) or the future is
/// dropped (Ctrl-C).
pub async fn follow(d: &Docker, caches: &[Followed], out: &mut dyn FnMut(String)) -> Result<()> {
    let width = caches.iter().map(|c| c.upstream.len()).max().unwrap_or(0);
    let mut streams = Vec::new();
    for (i, cache) in caches.iter().enumerate() {
        let state = docker::inspect_container(d, &cache.container)
            .await?
            .ok_or_else(|| Error::Other(format!("no cache container {}", cache.container)))?;
        if !state.running {
            return Err(Error::Other(format!(
                "{} is {}; run dev-up to start it",
                cache.container, state.status
            )));
        }
        // Each log ends with a `None`, to say its container stopped.
        streams.push(
            docker::follow(d, &cache.container)
                .map(move |item| (i, Some(item)))
                .chain(futures_util::stream::once(async move { (i, None) }))
                .boxed(),
        );
    }
    let storages: Vec<Storage> = caches
        .iter()
        .map(|c| Storage::new(d, &c.container))
        .collect();
    let mut keeps = Vec::new();
    for cache in caches {
        let release = super::version::distribution(d, &cache.container).await?;
        keeps.push(release.is_some_and(|r| r.stores_after_hang_up()));
    }
    let mut pending: Vec<String> = vec![String::new(); caches.len()];
    let mut all = futures_util::stream::select_all(streams);
    while let Some((i, item)) = all.next().await {
        let Some(item) = item else {
            out(format!(
                "{:<width$}  {} stopped (re-created by dev-up?); its log is no longer followed",
                caches[i].upstream, caches[i].container
            ));
            continue;
        };
        let chunk =
            item.map_err(|e| Error::docker(format!("logs of {}", caches[i].container), e))?;
        pending[i].push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
        while let Some(nl) = pending[i].find('\n') {
            let line: String = pending[i].drain(..=nl).collect();
            let Some(fields) = parse_logfmt(&line) else {
                continue;
            };
            let Some(act) = activity(&fields) else {
                continue;
            };
            let from_cache = match &act {
                Activity::Served {
                    kind,
                    repo,
                    reference,
                    started,
                    ..
                } => served_from_cache(&storages[i], *kind, repo, reference, *started)
                    .await
                    .unwrap_or(None),
                _ => None,
            };
            out(format!(
                "{:<width$}  {}",
                caches[i].upstream,
                describe(&act, from_cache, keeps[i], &caches[i].upstream)
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVED: &str = r#"time="2026-11-29T19:46:01.105582561Z" level=info msg="response completed" go.version=go1.19.8 http.request.host="127.0.0.1:33718" http.request.id=74e0 http.request.method=GET http.request.remoteaddr="192.168.240.1:51930" http.request.uri="/v2/library/hello/blobs/sha256:ec05c98f076bd19b0d85a2f9d022dde83224a7652750d69a157d388eb501df16" http.request.useragent=curl/7.88.1 http.response.contenttype=application/octet-stream http.response.duration=11.93469ms http.response.status=200 http.response.written=137 vars.digest="sha256:ec05c98f076bd19b0d85a2f9d022dde83224a7652750d69a157d388eb501df16" vars.name=library/hello"#;

    #[test]
    fn a_served_blob_is_read_with_when_it_started() {
        let fields = parse_logfmt(SERVED).unwrap();
        let Some(Activity::Served {
            kind,
            repo,
            reference,
            status,
            bytes,
            started,
            error,
            ..
        }) = activity(&fields)
        else {
            panic!("not a served request");
        };
        assert_eq!(
            (kind, repo.as_str(), status, bytes),
            (Kind::Blob, "library/hello", 200, 137)
        );
        assert!(reference.starts_with("sha256:ec05"));
        let end = unix_nanos("2026-11-29T19:46:01.105582561Z").unwrap();
        assert_eq!(end - started, 11_934_690);
        assert_eq!(error, None);
        let line = describe(&activity(&fields).unwrap(), Some(false), false, "docker.io");
        assert!(
            line.starts_with("miss  blob      GET  library/hello@sha256:ec05c98f076b  137 B"),
            "{line}"
        );
        assert!(
            describe(&activity(&fields).unwrap(), Some(true), false, "docker.io")
                .starts_with("hit ")
        );
    }

    /// What distribution v3 logged when a client hung up on a blob it was fetching.
    #[test]
    fn a_hang_up_is_told_as_each_release_handles_it() {
        let line = r#"time="2026-12-07T15:06:12.768508346Z" level=error msg="response completed with error" err.code=unknown err.detail="write tcp 172.28.0.3:5000->172.28.0.1:43366: write: broken pipe" err.message="unknown error" go.version=go1.27.3 http.request.host=x http.request.id=01a2 http.request.method=GET http.request.remoteaddr="172.28.0.1:43366" http.request.uri="/v2/team/big/blobs/sha256:c8dcd3c6e026354852f9c51f43a63d6c03d2b2e3ad09151b9525951e6dd3b1d3" http.request.useragent= http.response.contenttype=application/octet-stream http.response.duration=46.2ms http.response.status=200 http.response.written=168192 vars.digest="sha256:c8dc" vars.name=team/big version=v3.1.1"#;
        let act = activity(&parse_logfmt(line).unwrap()).unwrap();
        let v3 = describe(&act, Some(false), false, "docker.io");
        assert!(
            v3.starts_with("miss  blob      GET  team/big@sha256:c8dcd3c6e026"),
            "{v3}"
        );
        assert!(
            v3.ends_with("the client hung up; the cache dropped what it was fetching"),
            "{v3}"
        );
        let v2 = describe(&act, Some(false), true, "docker.io");
        assert!(
            v2.ends_with("the cache goes on storing what it fetches"),
            "{v2}"
        );
        assert!(describe(&act, Some(true), false, "docker.io").ends_with("the client hung up"));
    }

    /// What each release logged when the Docker Hub stand-in answered the cache's manifest
    /// fetch with 429 TOOMANYREQUESTS: v3 passes the 429 on, 2.8 answers 500.
    #[test]
    fn an_upstream_429_is_named_on_both_releases() {
        let v3 = r#"time="2026-12-07T17:09:44.396079384Z" level=error msg="response completed with error" err.code=toomanyrequests err.message="You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limits" go.version=go1.27.3 http.request.host="127.0.0.1:36651" http.request.id=01a2 http.request.method=GET http.request.remoteaddr="192.168.32.1:36526" http.request.uri=/v2/library/hello/manifests/1 http.request.useragent=curl/7.88.1 http.response.contenttype=application/json http.response.duration=12.732881ms http.response.status=429 http.response.written=195 vars.name=library/hello vars.reference=1 version=v3.1.1-53-g0d6b721dc"#;
        let v2 = r#"time="2026-12-07T17:09:44.337605892Z" level=error msg="response completed with error" err.code=unknown err.detail="toomanyrequests: You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limits" err.message="unknown error" go.version=go1.19.8 http.request.host="127.0.0.1:36650" http.request.id=80c7 http.request.method=GET http.request.remoteaddr="192.168.32.1:38674" http.request.uri=/v2/library/hello/manifests/4 http.request.useragent=curl/7.88.1 http.response.contenttype="application/json; charset=utf-8" http.response.duration=40.465784ms http.response.status=500 http.response.written=262 vars.name=library/hello vars.reference=4"#;
        for (line, status) in [(v3, 429), (v2, 500)] {
            let act = activity(&parse_logfmt(line).unwrap()).unwrap();
            assert!(
                matches!(act, Activity::Served { too_many: true, .. }),
                "{act:?}"
            );
            let told = describe(&act, None, false, "docker.io");
            assert!(
                told.contains(&format!(
                    "HTTP {status}: docker.io refused it, its pull limit is used up (429 TOOMANYREQUESTS); log in through BRRT_DOCKER_IO_USERNAME/PASSWORD"
                )),
                "{told}"
            );
        }
        let other = activity(&parse_logfmt(SERVED).unwrap()).unwrap();
        assert!(matches!(
            other,
            Activity::Served {
                too_many: false,
                ..
            }
        ));
    }

    #[test]
    fn stored_blobs_failures_and_noise() {
        let stored = r#"time="2026-11-29T19:47:57.376779786Z" level=info msg="Adding new scheduler entry for library/big@sha256:146b02202fe60ab359ec90b70a7e8a84412d9fae7a2211f609ab4abd27fc80b7 with ttl=167h59m59.999996795s" go.version=go1.19.8 service=registry"#;
        assert_eq!(
            activity(&parse_logfmt(stored).unwrap()),
            Some(Activity::Stored {
                repo: "library/big".into(),
                digest: "sha256:146b02202fe60ab359ec90b70a7e8a84412d9fae7a2211f609ab4abd27fc80b7"
                    .into()
            })
        );
        let failed = r#"time="2026-11-29T19:47:57Z" level=error msg="Error committing to storage: unexpected EOF" vars.digest="sha256:146b" vars.name=library/big"#;
        assert!(matches!(
            activity(&parse_logfmt(failed).unwrap()),
            Some(Activity::StoreFailed { message, .. }) if message == "unexpected EOF"
        ));
        let access = r#"192.168.240.1 - - [29/Nov/2026:19:46:01 +0000] "GET /v2/ HTTP/1.1" 200 2 "" "curl/7.88.1""#;
        assert_eq!(parse_logfmt(access), None);
        let listening = r#"time="2026-11-29T19:45:50Z" level=info msg="listening on [::]:5000" go.version=go1.19.8"#;
        assert_eq!(activity(&parse_logfmt(listening).unwrap()), None);
    }
}
