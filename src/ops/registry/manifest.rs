//! Image manifests as a puller reads them: an index (OCI) or list (Docker) of per-platform
//! images, or one image with its config and layers. Only the fields a pull needs are read.

use crate::ops::{Error, Result};
use serde::Deserialize;

/// Every manifest media type brrt asks a registry for, most specific last.
pub const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.v2+json";

/// A blob an image needs: its config or one of its layers.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BlobRef {
    pub digest: String,
    pub size: i64,
    /// Foreign layers (Windows base images) are fetched from these URLs, not the registry.
    #[serde(default)]
    pub urls: Vec<String>,
}

/// A platform as an index names it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Platform {
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub variant: Option<String>,
}

impl Platform {
    /// `linux/amd64`, `linux/arm64/v8`.
    pub fn parse(text: &str) -> Result<Platform> {
        let parts: Vec<&str> = text.split('/').collect();
        let ok =
            |s: &&str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        match parts.as_slice() {
            [os, arch] if ok(os) && ok(arch) => Ok(Platform {
                os: os.to_string(),
                architecture: arch.to_string(),
                variant: None,
            }),
            [os, arch, variant] if ok(os) && ok(arch) && ok(variant) => Ok(Platform {
                os: os.to_string(),
                architecture: arch.to_string(),
                variant: Some(variant.to_string()),
            }),
            _ => Err(Error::InvalidSpec(format!(
                "`{text}` is not a platform; write it as os/arch[/variant], e.g. linux/amd64"
            ))),
        }
    }

    /// Whether an index entry for `entry` serves this platform, as containerd matches them:
    /// the same OS and architecture, and the variant when one is asked for (arm64 without a
    /// variant is v8).
    pub fn matches(&self, entry: &Platform) -> bool {
        if self.os != entry.os || self.architecture != entry.architecture {
            return false;
        }
        let normal = |v: Option<&str>| match (self.architecture.as_str(), v) {
            ("arm64", None) => Some("v8".to_string()),
            (_, v) => v.map(str::to_string),
        };
        match normal(self.variant.as_deref()) {
            None => true,
            want => normal(entry.variant.as_deref()) == want,
        }
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// One entry of an index.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct IndexEntry {
    pub digest: String,
    #[serde(default)]
    pub size: i64,
    #[serde(default)]
    pub platform: Option<Platform>,
}

/// A parsed manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Manifest {
    Index(Vec<IndexEntry>),
    Image {
        config: BlobRef,
        layers: Vec<BlobRef>,
    },
}

#[derive(Deserialize)]
struct Raw {
    #[serde(default)]
    manifests: Option<Vec<IndexEntry>>,
    #[serde(default)]
    config: Option<BlobRef>,
    #[serde(default)]
    layers: Option<Vec<BlobRef>>,
    #[serde(rename = "schemaVersion", default)]
    schema_version: i64,
}

impl Manifest {
    pub fn parse(bytes: &[u8]) -> Result<Manifest> {
        let raw: Raw = serde_json::from_slice(bytes)
            .map_err(|e| Error::Other(format!("the manifest is not JSON a puller reads: {e}")))?;
        if raw.schema_version == 1 {
            return Err(Error::Other(
                "the image has a schema 1 manifest, which containerd no longer pulls".into(),
            ));
        }
        match (raw.manifests, raw.config, raw.layers) {
            (Some(list), _, _) => Ok(Manifest::Index(list)),
            (None, Some(config), layers) => Ok(Manifest::Image {
                config,
                layers: layers.unwrap_or_default(),
            }),
            _ => Err(Error::Other(
                "the manifest has neither `manifests` nor `config`".into(),
            )),
        }
    }

    /// The blobs an image needs from the registry: config, then layers (foreign layers are
    /// fetched elsewhere, so they are left out).
    pub fn blobs(&self) -> Vec<BlobRef> {
        match self {
            Manifest::Index(_) => Vec::new(),
            Manifest::Image { config, layers } => std::iter::once(config)
                .chain(layers)
                .filter(|b| b.urls.is_empty())
                .cloned()
                .collect(),
        }
    }

    /// The entry of an index for `platform`, if it has one.
    pub fn for_platform(&self, platform: &Platform) -> Option<&IndexEntry> {
        match self {
            Manifest::Index(list) => list
                .iter()
                .find(|e| e.platform.as_ref().is_some_and(|p| platform.matches(p))),
            Manifest::Image { .. } => None,
        }
    }

    /// The platforms an index offers, for messages.
    pub fn platforms(&self) -> Vec<String> {
        match self {
            Manifest::Index(list) => list
                .iter()
                .filter_map(|e| e.platform.as_ref())
                .filter(|p| p.os != "unknown")
                .map(Platform::to_string)
                .collect(),
            Manifest::Image { .. } => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INDEX: &str = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",
      "manifests":[
        {"digest":"sha256:aaaa","size":1,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}},
        {"digest":"sha256:bbbb","size":2,"platform":{"os":"linux","architecture":"amd64"}},
        {"digest":"sha256:cccc","size":3,"platform":{"os":"unknown","architecture":"unknown"}}]}"#;

    #[test]
    fn an_index_resolves_for_the_node_platform() {
        let m = Manifest::parse(INDEX.as_bytes()).unwrap();
        let amd = Platform::parse("linux/amd64").unwrap();
        assert_eq!(m.for_platform(&amd).unwrap().digest, "sha256:bbbb");
        let arm = Platform::parse("linux/arm64").unwrap();
        assert_eq!(m.for_platform(&arm).unwrap().digest, "sha256:aaaa");
        assert!(m
            .for_platform(&Platform::parse("linux/s390x").unwrap())
            .is_none());
        assert_eq!(m.platforms(), ["linux/arm64/v8", "linux/amd64"]);
        assert!(Platform::parse("linux").is_err() && Platform::parse("a/b/c/d").is_err());
    }

    #[test]
    fn an_image_lists_config_then_layers() {
        let m = Manifest::parse(
            br#"{"schemaVersion":2,"config":{"digest":"sha256:c","size":5},
              "layers":[{"digest":"sha256:l1","size":7},{"digest":"sha256:f","size":9,"urls":["https://x"]}]}"#,
        )
        .unwrap();
        let digests: Vec<String> = m.blobs().into_iter().map(|b| b.digest).collect();
        assert_eq!(digests, ["sha256:c", "sha256:l1"]);
        assert!(Manifest::parse(br#"{"schemaVersion":1}"#).is_err());
        assert!(Manifest::parse(b"<html>").is_err());
    }
}
