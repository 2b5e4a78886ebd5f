//! How well a cache works: requests, hits, misses and hit ratio, for blobs and manifests; the
//! bytes it fetched from its upstream, and the bytes it served from its own storage.
//!
//! The source is distribution's proxy counters, published as expvar JSON at `/debug/vars` on
//! its debug server (`REGISTRY_HTTP_DEBUG_ADDR`), under `registry.proxy.{blobs,manifests}`:
//! `Requests`, `Hits`, `Misses`, `BytesPulled`, `BytesPushed`. They live in memory, so they
//! count from when the container started.
//!
//! How distribution 2.8 (the `registry:2` image) counts, read from its code and checked on
//! the testbed:
//! - manifests: every request served adds to `Requests` and `Hits` (so `Hits` always equals
//!   `Requests`), and one fetched from the upstream also adds to `Misses` and `BytesPulled`.
//!   Hits are therefore `Requests - Misses`.
//! - blobs: `Misses` and `BytesPulled` are never counted. A blob fetched from the upstream is
//!   copied twice, once into the storage and once to the client, and each copy adds one to
//!   `Requests` (and `Hits`) and its size to `BytesPushed`.
//!
//! So for blobs brrt also reads which blobs the cache fetched since the container started
//! (its TTL record, `scheduler-state.json` in its volume, and its log since that was last
//! saved), and takes one storage copy per fetched blob back out of the counters. `cache warm`
//! hangs up once a blob fetch has started, so most of its fetches have no client copy; it notes
//! in the cache's volume which ones ([`WarmRecord`]), and those are taken into account too.
//!
//! distribution v3 (the `registry:3` image) counts as the counters read: a blob fetched from
//! the upstream is one request, one miss and its bytes pulled (and pushed, to the client); one
//! served from the storage is one request and one hit. Its figures are read as they are, with
//! no correction; [`WarmRecord`] only tells which misses were `cache warm`'s. Which release a
//! cache runs is read from its log ([`super::version`]); one that does not tell is read as v3
//! when its counters show a blob miss, else as 2.8.

use super::activity::{activity, Activity};
use super::api::RegistryApi;
use super::cache_container::{DEBUG_PORT, MODE_LABEL, MODE_PROXY};
use super::logfmt::parse_logfmt;
use super::storage::Storage;
use super::warm_record::WarmRecord;
use crate::ops::docker;
use crate::ops::loopback::loopback_url;
use crate::ops::{Error, Result};
use bollard::Docker;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// One set of distribution's proxy counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Counters {
    #[serde(default)]
    pub requests: u64,
    #[serde(default)]
    pub hits: u64,
    #[serde(default)]
    pub misses: u64,
    #[serde(default)]
    pub bytes_pulled: u64,
    #[serde(default)]
    pub bytes_pushed: u64,
}

/// A count and its size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub blobs: u64,
    pub bytes: u64,
}

/// Figures for blobs or for manifests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Figures {
    pub requests: u64,
    pub hits: u64,
    pub misses: u64,
    /// `hits / requests`; `None` before the first request.
    pub hit_ratio: Option<f64>,
    /// Bytes the cache fetched from its upstream.
    pub bytes_from_upstream: u64,
    /// Bytes it served from its own storage: what the upstream did not have to send.
    pub bytes_served: u64,
}

impl Figures {
    fn new(hits: u64, misses: u64, from_upstream: u64, served: u64) -> Self {
        let requests = hits + misses;
        Figures {
            requests,
            hits,
            misses,
            hit_ratio: (requests > 0).then(|| hits as f64 / requests as f64),
            bytes_from_upstream: from_upstream,
            bytes_served: served,
        }
    }
}

/// Manifests, as distribution counts them (see the module docs).
pub fn manifest_figures(c: &Counters) -> Figures {
    as_counted(c)
}

/// Blobs, as a registry that counts its blob misses counts them (distribution v3).
pub fn counted_blob_figures(c: &Counters) -> Figures {
    as_counted(c)
}

/// Figures read as the counters count: hits are requests less misses, and the bytes served
/// from storage are those pushed less those pulled.
fn as_counted(c: &Counters) -> Figures {
    let misses = c.misses.min(c.requests);
    Figures::new(
        c.requests - misses,
        misses,
        c.bytes_pulled,
        c.bytes_pushed.saturating_sub(c.bytes_pulled),
    )
}

/// Blobs. `fetched` is what the cache stored from its upstream since its container started
/// (from its TTL record), and `uncopied` the part of it `cache warm` fetched without taking the
/// client copy. Returns the figures and whether the counters had to be corrected for
/// distribution 2.8's way of counting.
pub fn blob_figures(c: &Counters, fetched: Tally, uncopied: Tally) -> (Figures, bool) {
    if c.misses > 0 || c.bytes_pulled > 0 || fetched.blobs == 0 {
        return (counted_blob_figures(c), false);
    }
    // distribution 2.8: each fetched blob added one storage copy to the counters; of the
    // fetches, all but those `cache warm` hung up on also streamed a client copy.
    let uncopied = Tally {
        blobs: uncopied.blobs.min(fetched.blobs),
        bytes: uncopied.bytes.min(fetched.bytes),
    };
    let client_requests = c.requests.saturating_sub(fetched.blobs);
    let client_misses = fetched.blobs - uncopied.blobs;
    let hits = client_requests.saturating_sub(client_misses);
    let to_clients = c.bytes_pushed.saturating_sub(fetched.bytes);
    let served = to_clients.saturating_sub(fetched.bytes - uncopied.bytes);
    (
        Figures::new(hits, fetched.blobs, fetched.bytes, served),
        true,
    )
}

/// A pair of figures, for blobs and for manifests.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Split<T> {
    pub blobs: T,
    pub manifests: T,
}

/// The figures of one cache, in the shape `cache stats --json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct CacheStats {
    pub upstream: String,
    pub cache: String,
    /// Whether the cache publishes distribution's counters; without them every figure is null.
    pub counters: bool,
    pub requests: Option<Split<u64>>,
    pub hits: Option<Split<u64>>,
    pub misses: Option<Split<u64>>,
    pub hit_ratio: Option<Split<Option<f64>>>,
    /// Blobs and manifests.
    pub bytes_from_upstream: Option<u64>,
    pub bytes_served: Option<u64>,
    /// When the container started (RFC 3339): the counters count from then.
    pub since: Option<String>,
    /// Of the misses, what `cache warm` fetched.
    pub warmed: Option<Tally>,
    /// How the figures were read, or why there are none.
    pub note: Option<String>,
}

impl CacheStats {
    fn without_counters(upstream: &str, cache: &str, since: Option<String>, why: String) -> Self {
        CacheStats {
            upstream: upstream.into(),
            cache: cache.into(),
            counters: false,
            requests: None,
            hits: None,
            misses: None,
            hit_ratio: None,
            bytes_from_upstream: None,
            bytes_served: None,
            since,
            warmed: None,
            note: Some(format!("no counters: {why}")),
        }
    }
}

/// The proxy counters in a `/debug/vars` document, if it has them.
pub fn proxy_counters(vars: &serde_json::Value) -> Option<(Counters, Counters)> {
    let proxy = vars.get("registry")?.get("proxy")?;
    let read = |key: &str| serde_json::from_value::<Counters>(proxy.get(key)?.clone()).ok();
    Some((read("blobs")?, read("manifests")?))
}

/// The figures of the cache container `name`, which serves `upstream`. A cache without
/// counters (an image without distribution's debug server, or one created before brrt
/// published its port) gets figures of `None` and a note saying why, not an error.
pub async fn cache_stats(d: &Docker, name: &str, upstream: &str) -> Result<CacheStats> {
    let state = docker::inspect_container(d, name)
        .await?
        .ok_or_else(|| Error::Other(format!("no cache container `{name}`; run dev-up first")))?;
    if !state.running {
        return Ok(CacheStats::without_counters(
            upstream,
            name,
            None,
            format!("{name} is {}; run dev-up to start it", state.status),
        ));
    }
    let since = Some(state.started_at.clone());
    let proxying = state.labels.get(MODE_LABEL).is_none_or(|m| m == MODE_PROXY);
    if !proxying {
        return Ok(CacheStats::without_counters(
            upstream,
            name,
            since,
            format!(
                "{name} serves offline (a plain registry), so it fetches from no upstream and \
                 counts nothing"
            ),
        ));
    }
    let Some(addr) = state.ports.get(DEBUG_PORT) else {
        return Ok(CacheStats::without_counters(
            upstream,
            name,
            since,
            format!(
                "{name} publishes no debug port (it was made before brrt read counters); run \
                 dev-up to re-create it, which keeps what it holds"
            ),
        ));
    };
    let api = RegistryApi::new(loopback_url(addr));
    let vars = match api.get_json("/debug/vars").await {
        Ok(v) => v,
        Err(e) => {
            return Ok(CacheStats::without_counters(
                upstream,
                name,
                since,
                format!("its debug server does not answer ({e})"),
            ))
        }
    };
    let Some((blobs, manifests)) = proxy_counters(&vars) else {
        return Ok(CacheStats::without_counters(
            upstream,
            name,
            since,
            format!(
                "its image ({}) publishes no registry.proxy counters at /debug/vars",
                state.image
            ),
        ));
    };
    let counts_misses = match super::version::distribution(d, name).await.ok().flatten() {
        Some(release) => release.counts_blob_misses(),
        None => blobs.misses > 0 || blobs.bytes_pulled > 0,
    };
    let storage = Storage::new(d, name);
    let started = crate::ops::timestamp::unix_nanos(&state.started_at).unwrap_or(0);
    let warm = WarmRecord::read(&storage, &state.started_at).await;
    // Only 2.8's counters need the fetches read from the storage and the log.
    let (fetched, warmed, uncopied) =
        fetched_since(d, &storage, started, &warm, !counts_misses).await?;
    let (blob, corrected) = if counts_misses {
        (counted_blob_figures(&blobs), false)
    } else {
        blob_figures(&blobs, fetched, uncopied)
    };
    let manifest = manifest_figures(&manifests);
    let note = if corrected {
        Some(
            "blob misses read from the cache's TTL record (distribution 2.8 does not count them)"
                .to_string(),
        )
    } else {
        None
    };
    Ok(CacheStats {
        upstream: upstream.into(),
        cache: name.into(),
        counters: true,
        requests: Some(Split {
            blobs: blob.requests,
            manifests: manifest.requests,
        }),
        hits: Some(Split {
            blobs: blob.hits,
            manifests: manifest.hits,
        }),
        misses: Some(Split {
            blobs: blob.misses,
            manifests: manifest.misses,
        }),
        hit_ratio: Some(Split {
            blobs: blob.hit_ratio,
            manifests: manifest.hit_ratio,
        }),
        bytes_from_upstream: Some(blob.bytes_from_upstream + manifest.bytes_from_upstream),
        bytes_served: Some(blob.bytes_served + manifest.bytes_served),
        since,
        warmed: Some(warmed),
        note,
    })
}

/// How many log lines back the cache's latest fetches are looked for: its TTL record is saved
/// every 5 seconds, and the log has the fetches since.
const RECENT_LINES: usize = 2000;

/// The blobs the cache stored from its upstream since `started` (nanoseconds), with their
/// bytes; of those, the ones `cache warm` fetched, and the ones it fetched without a client
/// copy. Candidates are `warm`'s, and with `all_fetches` the entries of the cache's TTL record
/// and the fetches its log shows since the record was last saved; each counts when its link in
/// the repository was written since `started`. A fetch that failed left no link and is not
/// counted.
async fn fetched_since(
    d: &Docker,
    storage: &Storage,
    started: i128,
    warm: &WarmRecord,
    all_fetches: bool,
) -> Result<(Tally, Tally, Tally)> {
    let keys_of = |list: &[String]| -> BTreeSet<(String, String)> {
        list.iter()
            .filter_map(|k| k.rsplit_once('@'))
            .map(|(r, d)| (r.to_string(), d.to_string()))
            .collect()
    };
    let mut keys = BTreeSet::new();
    if all_fetches {
        keys.extend(
            storage
                .fetched()
                .await?
                .into_iter()
                .filter(|e| e.blob)
                .map(|e| (e.repo, e.digest)),
        );
        let recent = docker::logs(d, storage.container(), RECENT_LINES).await?;
        for line in recent.lines() {
            if let Some(Activity::Stored { repo, digest }) =
                parse_logfmt(line).as_ref().and_then(activity)
            {
                keys.insert((repo, digest));
            }
        }
    }
    let warmed = keys_of(&warm.blobs);
    let uncopied = keys_of(&warm.no_client_copy);
    keys.extend(warmed.iter().cloned());
    let sizes = futures_util::stream::iter(keys)
        .map(|(repo, digest)| async move {
            let link = storage.layer_link(&repo, &digest).await?;
            match link.and_then(|l| l.modified) {
                Some(at) if at >= started => {
                    let size = storage.blob_size(&digest).await?.unwrap_or(0);
                    Ok::<_, Error>(Some(((repo, digest), u64::try_from(size).unwrap_or(0))))
                }
                _ => Ok(None),
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    let mut tallies = (Tally::default(), Tally::default(), Tally::default());
    for found in sizes {
        if let Some((key, bytes)) = found? {
            let add = |t: &mut Tally| {
                t.blobs += 1;
                t.bytes += bytes;
            };
            add(&mut tallies.0);
            if warmed.contains(&key) {
                add(&mut tallies.1);
            }
            if uncopied.contains(&key) {
                add(&mut tallies.2);
            }
        }
    }
    Ok(tallies)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The counters the testbed's distribution 2.8.2 showed after: a config blob of 1569 bytes
    /// fetched (HEAD, a miss) and asked again (a hit), a layer of 137 bytes fetched (GET) and
    /// asked again, and a 20978106-byte layer whose fetch `cache warm` started and hung up on.
    #[test]
    fn distribution_2_8_blob_counters_are_corrected() {
        let counters = Counters {
            requests: 7,
            hits: 7,
            misses: 0,
            bytes_pulled: 0,
            bytes_pushed: 20_983_224,
        };
        let fetched = Tally {
            blobs: 3,
            bytes: 1569 + 137 + 20_978_106,
        };
        let warmed = Tally {
            blobs: 1,
            bytes: 20_978_106,
        };
        let (f, corrected) = blob_figures(&counters, fetched, warmed);
        assert!(corrected);
        assert_eq!((f.requests, f.hits, f.misses), (5, 2, 3));
        assert_eq!(f.bytes_from_upstream, 20_979_812);
        assert_eq!(f.bytes_served, 1569 + 137);
        assert_eq!(f.hit_ratio, Some(0.4));
    }

    #[test]
    fn manifests_hits_are_requests_less_misses() {
        let f = manifest_figures(&Counters {
            requests: 4,
            hits: 4,
            misses: 2,
            bytes_pulled: 1053,
            bytes_pushed: 2101,
        });
        assert_eq!((f.requests, f.hits, f.misses), (4, 2, 2));
        assert_eq!((f.bytes_from_upstream, f.bytes_served), (1053, 1048));
    }

    #[test]
    fn a_registry_that_counts_its_misses_is_read_as_it_counts() {
        let c = Counters {
            requests: 10,
            hits: 6,
            misses: 4,
            bytes_pulled: 400,
            bytes_pushed: 1000,
        };
        let (f, corrected) = blob_figures(
            &c,
            Tally {
                blobs: 4,
                bytes: 400,
            },
            Tally::default(),
        );
        assert!(!corrected);
        assert_eq!((f.hits, f.misses, f.bytes_served), (6, 4, 600));
        let idle = blob_figures(&Counters::default(), Tally::default(), Tally::default()).0;
        assert_eq!((idle.requests, idle.hit_ratio), (0, None));
    }

    #[test]
    fn counters_are_found_in_debug_vars() {
        let vars: serde_json::Value = serde_json::from_str(
            r#"{"cmdline":[],"registry":{"proxy":{"blobs":{"Requests":7,"Hits":7,"Misses":0,
               "BytesPulled":0,"BytesPushed":5},"manifests":{"Requests":4,"Hits":4,"Misses":2,
               "BytesPulled":1,"BytesPushed":2}}}}"#,
        )
        .unwrap();
        let (b, m) = proxy_counters(&vars).unwrap();
        assert_eq!((b.requests, m.misses), (7, 2));
        assert!(proxy_counters(&serde_json::json!({"cmdline": []})).is_none());
    }
}
