//! The registry HTTP API (distribution v2): catalog, tags, manifests, delete.
//!
//! Written on reqwest rather than `oci-client` (checked at 0.15): that crate covers tags,
//! manifests, blobs and token auth, but not `GET /v2/_catalog` (a distribution extension
//! outside the OCI spec, which `cache ls` and doctor need) nor `DELETE` of a manifest; it
//! would bring 140 crates of its own for the four calls below.

use crate::ops::{Error, Result};
use serde::Serialize;
use std::time::Duration;

use super::manifest::ACCEPT as MANIFEST_TYPES;

/// What brrt calls itself in requests to registries.
pub const USER_AGENT: &str = concat!("brrt/", env!("CARGO_PKG_VERSION"));

/// How long a request waits for the whole of a registry's answer (all but blobs).
pub const TIMEOUT: Duration = Duration::from_secs(30);
/// How long a blob download may go without a byte before it counts as stalled. A blob takes as
/// long as it takes; only silence is bounded.
pub const STALL: Duration = Duration::from_secs(30);

/// A registry reachable over HTTP at `base` (e.g. `http://127.0.0.1:5001`).
#[derive(Debug, Clone)]
pub struct RegistryApi {
    base: String,
    http: reqwest::Client,
    /// For blobs: no bound on the whole download, one on silence ([`STALL`]).
    blobs: reqwest::Client,
}

/// Why a blob could not be read to its end.
#[derive(Debug)]
pub enum BlobReadError {
    /// The registry did not answer, or answered something other than the blob.
    Refused(Error),
    /// No byte came for [`STALL`], after `after` bytes.
    Stalled { after: u64 },
    /// The download ended early, after `after` bytes: the registry dropped it.
    CutOff { after: u64, why: String },
}

/// A request that failed before any answer, in words that say what happened: a timeout is
/// named as one, and the causes reqwest keeps behind its summary are spelled out.
fn request_failed(e: &reqwest::Error, limit: Duration) -> String {
    if e.is_timeout() {
        return format!("timed out: no answer within {} s", limit.as_secs());
    }
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}

/// One manifest: an image, or an index (OCI) / list (Docker) of images.
#[derive(Debug, Clone, Serialize)]
pub struct ManifestInfo {
    pub digest: String,
    pub media_type: String,
    /// `image`, `oci-index` or `docker-list`.
    pub kind: String,
    /// Bytes of the manifest itself.
    pub size: i64,
    /// Bytes of what it references: config and layers, or the child manifests.
    pub content_size: i64,
    /// The child manifest digests of an index or list.
    pub children: Vec<String>,
}

impl RegistryApi {
    pub fn new(base: impl Into<String>) -> Self {
        let http = crate::ops::http_client::builder()
            .timeout(TIMEOUT)
            // Registry logs name the client: `cache warm` finds its own requests by this.
            .user_agent(USER_AGENT)
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        let blobs = crate::ops::http_client::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(STALL)
            .user_agent(USER_AGENT)
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        RegistryApi {
            base: base.into().trim_end_matches('/').to_string(),
            http,
            blobs,
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    fn err(&self, url: &str, message: impl ToString) -> Error {
        Error::Registry {
            url: url.to_string(),
            message: message.to_string(),
        }
    }

    /// A request's answer when it succeeded; otherwise an error with the status and the body the
    /// registry sent, or why no answer came.
    async fn answered(
        &self,
        url: &str,
        sent: reqwest::Result<reqwest::Response>,
    ) -> Result<reqwest::Response> {
        let resp = sent.map_err(|e| self.err(url, request_failed(&e, TIMEOUT)))?;
        if !resp.status().is_success() {
            let status = resp.status();
            let body = resp.text().await.unwrap_or_default();
            return Err(self.err(url, format!("{status}: {}", body.trim())));
        }
        Ok(resp)
    }

    async fn get(&self, path: &str, accept: Option<&str>) -> Result<reqwest::Response> {
        let url = format!("{}{path}", self.base);
        let mut req = self.http.get(&url);
        if let Some(a) = accept {
            req = req.header("Accept", a);
        }
        self.answered(&url, req.send().await).await
    }

    /// Every repository, following `Link` pagination.
    pub async fn catalog(&self) -> Result<Vec<String>> {
        self.catalog_paged(100).await
    }

    /// Every repository, asking for `page_size` per request and following `Link` pagination.
    pub async fn catalog_paged(&self, page_size: u32) -> Result<Vec<String>> {
        let mut repos = Vec::new();
        let mut next = Some(format!("/v2/_catalog?n={}", page_size.max(1)));
        while let Some(path) = next.take() {
            let resp = self.get(&path, None).await?;
            next = resp
                .headers()
                .get("link")
                .and_then(|l| l.to_str().ok())
                .and_then(|l| l.split(';').next())
                .map(|l| {
                    l.trim()
                        .trim_start_matches('<')
                        .trim_end_matches('>')
                        .to_string()
                })
                .map(|l| match l.find("/v2/") {
                    Some(at) => l[at..].to_string(),
                    None => l,
                });
            let body: serde_json::Value =
                resp.json_value().await.map_err(|e| self.err(&path, e))?;
            repos.extend(
                body["repositories"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|r| r.as_str().map(String::from)),
            );
        }
        Ok(repos)
    }

    /// The tags of a repository.
    pub async fn tags(&self, repo: &str) -> Result<Vec<String>> {
        let path = format!("/v2/{repo}/tags/list");
        let body: serde_json::Value = self
            .get(&path, None)
            .await?
            .json_value()
            .await
            .map_err(|e| self.err(&path, e))?;
        let mut tags: Vec<String> = body["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t.as_str().map(String::from))
            .collect();
        tags.sort();
        Ok(tags)
    }

    /// The manifest of `repo` at a tag or digest.
    pub async fn manifest(&self, repo: &str, reference: &str) -> Result<ManifestInfo> {
        let path = format!("/v2/{repo}/manifests/{reference}");
        let resp = self.get(&path, Some(MANIFEST_TYPES)).await?;
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let digest = header("docker-content-digest").unwrap_or_default();
        let header_type = header("content-type").unwrap_or_default();
        let bytes = resp.bytes().await.map_err(|e| self.err(&path, e))?;
        let body: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| self.err(&path, e))?;
        let media_type = body["mediaType"]
            .as_str()
            .map(str::to_string)
            .unwrap_or(header_type);
        let size_of = |v: &serde_json::Value| v["size"].as_i64().unwrap_or(0);
        let (kind, content_size, children) = if let Some(list) = body["manifests"].as_array() {
            let kind = if media_type.contains("docker") {
                "docker-list"
            } else {
                "oci-index"
            };
            (
                kind,
                list.iter().map(size_of).sum(),
                list.iter()
                    .filter_map(|m| m["digest"].as_str().map(String::from))
                    .collect(),
            )
        } else {
            let layers: i64 = body["layers"]
                .as_array()
                .into_iter()
                .flatten()
                .map(size_of)
                .sum();
            ("image", layers + size_of(&body["config"]), Vec::new())
        };
        Ok(ManifestInfo {
            digest,
            media_type,
            kind: kind.to_string(),
            size: i64::try_from(bytes.len()).unwrap_or(i64::MAX),
            content_size,
            children,
        })
    }

    /// The manifest of `repo` at a tag or digest, as JSON.
    pub async fn manifest_json(&self, repo: &str, reference: &str) -> Result<serde_json::Value> {
        let path = format!("/v2/{repo}/manifests/{reference}");
        self.get(&path, Some(MANIFEST_TYPES))
            .await?
            .json_value()
            .await
            .map_err(|e| self.err(&path, e))
    }

    /// Whether the registry serves blob `digest` of `repo` (`HEAD`, so nothing is downloaded).
    pub async fn blob_exists(&self, repo: &str, digest: &str) -> Result<bool> {
        let url = format!("{}/v2/{repo}/blobs/{digest}", self.base);
        let resp = self
            .http
            .head(&url)
            .send()
            .await
            .map_err(|e| self.err(&url, request_failed(&e, TIMEOUT)))?;
        Ok(resp.status().is_success())
    }

    /// A JSON document at `path` (e.g. a debug server's `/debug/vars`).
    pub async fn get_json(&self, path: &str) -> Result<serde_json::Value> {
        self.get(path, None)
            .await?
            .json_value()
            .await
            .map_err(|e| self.err(path, e))
    }

    /// The manifest of `repo` at a tag or digest as the registry serves it: its digest and its
    /// bytes. Through a cache, this fetches and stores it from the upstream if need be.
    pub async fn manifest_bytes(&self, repo: &str, reference: &str) -> Result<(String, Vec<u8>)> {
        let path = format!("/v2/{repo}/manifests/{reference}");
        let resp = self.get(&path, Some(MANIFEST_TYPES)).await?;
        let digest = resp
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = resp.bytes().await.map_err(|e| self.err(&path, e))?.to_vec();
        let digest = match digest {
            Some(d) => d,
            None => format!("sha256:{}", crate::ops::digest::sha256_hex(&bytes)),
        };
        Ok((digest, bytes))
    }

    /// Asks a cache for a blob and hangs up once it answers, without reading the blob. The
    /// cache goes on fetching the blob from its upstream into its storage by itself
    /// (distribution stores a missing blob in a task of its own, beside the copy it streams to
    /// the client), so the upstream sends the blob once instead of twice. Fails when the cache
    /// does not answer `200`, with its words.
    pub async fn start_blob_fetch(&self, repo: &str, digest: &str) -> Result<()> {
        let path = format!("/v2/{repo}/blobs/{digest}");
        let resp = self.get(&path, None).await?;
        drop(resp);
        Ok(())
    }

    /// Reads blob `digest` of `repo` to its end and drops it, handing the size of each piece to
    /// `got` as it arrives; returns the bytes read. Through a distribution v3 cache that lacks
    /// the blob, this is what stores it: v3 writes its storage from the same upstream fetch that
    /// streams the blob here, and drops that write if the client hangs up.
    pub async fn read_blob(
        &self,
        repo: &str,
        digest: &str,
        mut got: impl FnMut(u64),
    ) -> std::result::Result<u64, BlobReadError> {
        let url = format!("{}/v2/{repo}/blobs/{digest}", self.base);
        let mut resp = self
            .blobs
            .get(&url)
            .send()
            .await
            .map_err(|e| BlobReadError::Refused(self.err(&url, request_failed(&e, STALL))))?;
        if !resp.status().is_success() {
            let status = resp.status();
            let body = resp.text().await.unwrap_or_default();
            return Err(BlobReadError::Refused(
                self.err(&url, format!("{status}: {}", body.trim())),
            ));
        }
        let mut read = 0u64;
        loop {
            match resp.chunk().await {
                Ok(Some(piece)) => {
                    let n = piece.len() as u64;
                    read += n;
                    got(n);
                }
                Ok(None) => return Ok(read),
                Err(e) if e.is_timeout() => return Err(BlobReadError::Stalled { after: read }),
                Err(e) => {
                    return Err(BlobReadError::CutOff {
                        after: read,
                        why: request_failed(&e, STALL),
                    })
                }
            }
        }
    }

    /// Deletes a manifest by digest (the registry must allow deletes).
    pub async fn delete(&self, repo: &str, digest: &str) -> Result<()> {
        if !digest.starts_with("sha256:") {
            return Err(Error::InvalidSpec(format!(
                "delete needs a digest (sha256:…), not `{digest}`"
            )));
        }
        let url = format!("{}/v2/{repo}/manifests/{digest}", self.base);
        self.answered(&url, self.http.delete(&url).send().await)
            .await
            .map(drop)
    }
}

trait JsonValue {
    async fn json_value(self) -> std::result::Result<serde_json::Value, String>;
}

impl JsonValue for reqwest::Response {
    async fn json_value(self) -> std::result::Result<serde_json::Value, String> {
        let bytes = self.bytes().await.map_err(|e| e.to_string())?;
        serde_json::from_slice(&bytes).map_err(|e| e.to_string())
    }
}
