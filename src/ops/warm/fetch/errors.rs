//! Why a warm's request to its cache failed, in a user's words: a read cut short, an upstream
//! the cache cannot reach, an image the upstream does not have, and what the cache's log said.

use super::cache_log::lock;
use super::{size, CacheLink};
use crate::ops::registry::activity::short_digest;
use crate::ops::registry::api;
use crate::ops::registry::manifest::BlobRef;
use crate::ops::registry::BlobReadError;
use crate::ops::warm::ImageRef;
use crate::ops::{human_bytes, Error};
use std::time::{Duration, Instant};

impl CacheLink {
    /// A blob read through the cache that did not reach its end, in a user's words.
    pub(super) async fn read_failed(
        &self,
        image: &ImageRef,
        blob: &BlobRef,
        e: BlobReadError,
    ) -> String {
        let short = short_digest(&blob.digest);
        let whole = human_bytes(size(blob));
        match e {
            BlobReadError::Refused(e) => self.explain(image, e).await,
            BlobReadError::Stalled { after } => format!(
                "timed out: {} sent nothing of blob {short} ({whole}) for {} s, after {}; its \
                 upstream {} may be stalling; see `docker logs {}`",
                self.container,
                api::STALL.as_secs(),
                human_bytes(after),
                self.upstream,
                self.container
            ),
            BlobReadError::CutOff { after, why } => {
                let said = self.said_about(&blob.digest).await;
                format!(
                    "{} abandoned blob {short} ({whole}) after {}: {}; the cache stored none \
                     of it (see `docker logs {}`)",
                    self.container,
                    human_bytes(after),
                    said.unwrap_or(why),
                    self.container
                )
            }
        }
    }

    /// What the cache's log said went wrong with brrt's request for `digest`, if it says so
    /// within a moment.
    pub(super) async fn said_about(&self, digest: &str) -> Option<String> {
        let deadline = Instant::now() + Duration::from_secs(1);
        loop {
            if let Some(why) = lock(&self.heard).errors.get(digest) {
                return Some(why.clone());
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A failed request to the cache, in a user's words: an upstream the cache cannot reach is
    /// named as such (the cache is asked for a manifest that cannot exist, which only the
    /// upstream can answer), so is an image the upstream does not have.
    pub(super) async fn explain(&self, image: &ImageRef, err: Error) -> String {
        let Error::Registry { message, .. } = &err else {
            return err.to_string();
        };
        if message.starts_with("timed out") {
            return format!(
                "timed out: {} did not answer within {} s for {}:{}; its upstream {} may be \
                 slow or hanging (see `docker logs {}`)",
                self.container,
                api::TIMEOUT.as_secs(),
                image.repo,
                image.reference(),
                self.upstream,
                self.container
            );
        }
        // A tag the cache lacks reads as unknown when the upstream is down, too.
        let down = if unreachable(message) {
            Some(reason(message))
        } else if message.starts_with("404") {
            self.unreachable_upstream(&image.repo).await
        } else {
            None
        };
        if let Some(why) = down {
            return format!(
                "the upstream {} cannot be reached from {} ({why}); images it already holds are \
                 still served",
                self.upstream, self.container
            );
        }
        if message.starts_with("404") {
            return format!(
                "{} has no {}:{} ({})",
                self.upstream,
                image.repo,
                image.reference(),
                reason(message)
            );
        }
        format!("{} answered {}", self.container, reason(message))
    }

    /// Why the cache cannot reach its upstream, if it cannot, asked the only way it tells: a
    /// manifest that cannot exist, which the cache must ask the upstream for. Nothing is
    /// stored or counted.
    pub(super) async fn unreachable_upstream(&self, repo: &str) -> Option<String> {
        const NONE: &str =
            "sha256:0000000000000000000000000000000000000000000000000000000000000000";
        match self.api.manifest_bytes(repo, NONE).await {
            Err(Error::Registry { message, .. }) if unreachable(&message) => Some(reason(&message)),
            _ => None,
        }
    }
}

/// Whether a registry error carries a failure to connect to the upstream.
fn unreachable(message: &str) -> bool {
    [
        "\"Op\":\"dial\"",
        "no such host",
        "connection refused",
        "i/o timeout",
        "network is unreachable",
    ]
    .iter()
    .any(|m| message.contains(m))
}

/// The gist of a registry error: its code and message, or what the connection said.
fn reason(message: &str) -> String {
    let status = message.split([':', ' ']).next().unwrap_or("").trim();
    let body = message.split_once(": ").map_or("", |(_, b)| b);
    let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let first = parsed
        .as_ref()
        .and_then(|v| v.get("errors"))
        .and_then(|e| e.get(0));
    let Some(first) = first else {
        return message.to_string();
    };
    let detail = first.get("detail");
    // A connection failure's innermost error: {"Err":{"Err":"no such host",...}}.
    let mut inner = detail;
    while let Some(next) = inner.and_then(|d| d.get("Err")) {
        inner = Some(next);
    }
    if let Some(text) = inner.and_then(|v| v.as_str()) {
        let host = detail
            .and_then(|d| d.get("URL"))
            .and_then(|u| u.as_str())
            .unwrap_or("");
        return format!("{host}: {text}")
            .trim_start_matches(": ")
            .to_string();
    }
    let code = first.get("code").and_then(|c| c.as_str()).unwrap_or(status);
    let text = first.get("message").and_then(|c| c.as_str()).unwrap_or("");
    format!("{status} {code}: {text}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_errors_are_told_in_a_sentence() {
        let down = r#"500 Internal Server Error: {"errors":[{"code":"UNKNOWN","message":"unknown error","detail":{"Op":"Get","URL":"http://up:5000/v2/","Err":{"Op":"dial","Net":"tcp","Err":{"Err":"no such host","Name":"up"}}}}]}"#;
        assert!(unreachable(down));
        assert_eq!(reason(down), "http://up:5000/v2/: no such host");
        let missing = r#"404 Not Found: {"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"1"}}]}"#;
        assert!(!unreachable(missing));
        assert_eq!(reason(missing), "404 MANIFEST_UNKNOWN: manifest unknown");
        assert_eq!(reason("connection refused"), "connection refused");
    }
}
