//! Which distribution a registry container runs, 2.x (`registry:2`) or 3.x (`registry:3`):
//! they differ where brrt looks closely. A v3 proxy fetches a cold blob once and stores only
//! what it streams to a client (so `cache warm` reads each blob to its end), counts its blob
//! misses, and honours `proxy.ttl`; a 2.8 proxy stores a blob in a task of its own whatever the
//! client does, never counts a blob miss, and ignores `proxy.ttl`.
//!
//! Every line distribution logs through its context carries `version=…`, so the container's
//! recent log tells; a registry that has logged nothing of the kind yet is asked
//! `registry --version` (both images have the binary on their `PATH`).

use crate::ops::docker;
use crate::ops::Result;
use bollard::Docker;
use serde::Serialize;

/// How many of the latest log lines are searched for a `version=` field.
const LOG_LINES: usize = 200;

/// The distribution release a registry runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Distribution {
    /// As the registry says it: `2.8.2+ds1`, `v3.1.1-53-g0d6b721dc`.
    pub version: String,
    /// 2 or 3.
    pub major: u32,
}

impl Distribution {
    /// `2.8.2+ds1`, `v3.0.0`, `3.1.1-53-gabc` → the release; anything else is not one.
    pub fn parse(text: &str) -> Option<Distribution> {
        let text = text.trim().trim_matches('"');
        let major: u32 = text
            .trim_start_matches('v')
            .split(['.', '-', '+'])
            .next()?
            .parse()
            .ok()?;
        (major > 0).then(|| Distribution {
            version: text.to_string(),
            major,
        })
    }

    /// A proxy of this release reads `proxy.ttl` (`REGISTRY_PROXY_TTL`); 2.x keeps what it
    /// caches for its fixed 7 days whatever the setting.
    pub fn honours_ttl(&self) -> bool {
        self.major >= 3
    }

    /// A proxy of this release counts a blob it fetches from its upstream as a miss, once; 2.x
    /// counts no blob miss and each fetched blob twice.
    pub fn counts_blob_misses(&self) -> bool {
        self.major >= 3
    }

    /// A proxy of this release goes on storing a blob whose client hung up (2.x, which stores
    /// in a task of its own); v3 stores only what it streams to a client.
    pub fn stores_after_hang_up(&self) -> bool {
        self.major < 3
    }
}

impl std::fmt::Display for Distribution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "distribution {}", self.version)
    }
}

/// The release the registry container `name` runs, or `None` when neither its log nor
/// `registry --version` tells (an image that is not distribution's, a stopped container).
pub async fn distribution(d: &Docker, name: &str) -> Result<Option<Distribution>> {
    let log = docker::logs(d, name, LOG_LINES).await?;
    if let Some(found) = in_log(&log) {
        return Ok(Some(found));
    }
    let asked = docker::exec(d, name, &["registry".to_string(), "--version".to_string()]).await;
    Ok(asked.ok().and_then(|out| in_version_output(&out.stdout)))
}

/// The `version=` field of the latest log line that has one.
fn in_log(log: &str) -> Option<Distribution> {
    log.lines().rev().find_map(|line| {
        let at = line.find(" version=")?;
        let value = line[at + " version=".len()..].split(' ').next()?;
        Distribution::parse(value)
    })
}

/// `registry github.com/distribution/distribution/v3 v3.1.1` → `v3.1.1`.
fn in_version_output(out: &str) -> Option<Distribution> {
    out.split_whitespace().rev().find_map(Distribution::parse)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_release_is_read_from_the_log_or_the_version_output() {
        let v2 = r#"time="2026-12-07T15:05:56Z" level=info msg="listening on [::]:5000" go.version=go1.19.8 instance.id=811e service=registry version=2.8.2+ds1"#;
        let v3 = r#"time="2026-12-07T15:05:51Z" level=info msg="listening on [::]:5000" go.version=go1.27.3 instance.id=01a2 service=registry version=v3.1.1-53-g0d6b721dc"#;
        let debug = r#"time="2026-12-07T15:05:51Z" level=info msg="debug server listening :5001""#;
        let found = in_log(&format!("{v2}\n{debug}\n")).unwrap();
        assert_eq!((found.major, found.version.as_str()), (2, "2.8.2+ds1"));
        assert!(!found.honours_ttl() && found.stores_after_hang_up());
        let found = in_log(&format!("{v3}\n{debug}\n")).unwrap();
        assert_eq!(found.major, 3);
        assert!(found.honours_ttl() && found.counts_blob_misses());
        assert_eq!(in_log(debug), None);
        // go.version is not the registry's version.
        assert_eq!(in_log("level=info msg=x go.version=go1.19.8"), None);
        let out = "/bin/registry github.com/distribution/distribution/v3 v3.1.1-53-g0d6b721dc\n";
        assert_eq!(in_version_output(out).unwrap().major, 3);
        let out = "/bin/registry github.com/docker/distribution 2.8.2+ds1\n";
        assert_eq!(in_version_output(out).unwrap().major, 2);
        assert_eq!(Distribution::parse("go1.19"), None);
    }
}
