//! Image references as Docker and containerd read them: `nginx` is
//! `docker.io/library/nginx:latest`, and the registry is the first path component only when it
//! looks like a host (it has a `.` or a `:`, or is `localhost`).

use std::fmt;

/// Where Docker Hub images live, however a reference spells it.
const DOCKER_HUB: &str = "docker.io";

/// A parsed, normalized image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub registry: String,
    pub repository: String,
    /// The tag as written; `None` when the reference has none.
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl Reference {
    pub fn parse(text: &str) -> Result<Reference, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("an empty reference".into());
        }
        let (name, digest) = match text.split_once('@') {
            Some((name, digest)) => (name, Some(check_digest(digest)?)),
            None => (text, None),
        };
        // A tag follows the last `:` after the last `/` (a `:` before it is a registry port).
        let slash = name.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name[slash..].rfind(':') {
            Some(i) => (&name[..slash + i], Some(check_tag(&name[slash + i + 1..])?)),
            None => (name, None),
        };
        let (registry, path) = match name.split_once('/') {
            Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => {
                (first.to_string(), rest.to_string())
            }
            _ => (DOCKER_HUB.to_string(), name.to_string()),
        };
        let registry = normalize_registry(&registry);
        let repository = if registry == DOCKER_HUB && !path.contains('/') {
            format!("library/{path}")
        } else {
            path
        };
        check_repository(&repository)?;
        Ok(Reference {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// The tag a pull uses: the one written, or `latest` when there is neither tag nor digest.
    pub fn effective_tag(&self) -> Option<&str> {
        match (&self.tag, &self.digest) {
            (Some(tag), _) => Some(tag),
            (None, None) => Some("latest"),
            (None, Some(_)) => None,
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// `index.docker.io` and `registry-1.docker.io` are Docker Hub too.
pub fn normalize_registry(host: &str) -> String {
    let host = host.trim().to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB.to_string(),
        _ => host,
    }
}

fn check_repository(path: &str) -> Result<(), String> {
    for component in path.split('/') {
        let ok = !component.is_empty()
            && component.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && component.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && component
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
        if !ok {
            return Err(format!(
                "`{path}` is not a repository name (lowercase letters, digits and . _ - \
                 between slashes)"
            ));
        }
    }
    Ok(())
}

fn check_tag(tag: &str) -> Result<String, String> {
    let ok = !tag.is_empty()
        && tag.len() <= 128
        && !tag.starts_with(['.', '-'])
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if ok {
        Ok(tag.to_string())
    } else {
        Err(format!("`{tag}` is not a tag"))
    }
}

fn check_digest(digest: &str) -> Result<String, String> {
    let ok = digest.split_once(':').is_some_and(|(algorithm, hex)| {
        !algorithm.is_empty()
            && algorithm
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            && hex.len() >= 32
            && hex.chars().all(|c| c.is_ascii_hexdigit())
    });
    if ok {
        Ok(digest.to_string())
    } else {
        Err(format!(
            "`{digest}` is not a digest (algorithm:hex, e.g. sha256:…)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> String {
        Reference::parse(text).unwrap().to_string()
    }

    #[test]
    fn normalizes_like_docker() {
        assert_eq!(parsed("nginx"), "docker.io/library/nginx");
        assert_eq!(parsed("nginx:1.27"), "docker.io/library/nginx:1.27");
        assert_eq!(
            parsed("grafana/grafana:11.0.0"),
            "docker.io/grafana/grafana:11.0.0"
        );
        assert_eq!(
            parsed("index.docker.io/library/redis"),
            "docker.io/library/redis"
        );
        assert_eq!(parsed("localhost:5001/app:dev"), "localhost:5001/app:dev");
        assert_eq!(
            parsed("quay.io/prometheus/prometheus"),
            "quay.io/prometheus/prometheus"
        );
    }

    #[test]
    fn a_missing_tag_means_latest_unless_pinned() {
        let digest = format!("sha256:{}", "a".repeat(64));
        assert_eq!(
            Reference::parse("nginx").unwrap().effective_tag(),
            Some("latest")
        );
        let pinned = Reference::parse(&format!("nginx@{digest}")).unwrap();
        assert_eq!(pinned.effective_tag(), None);
        assert_eq!(pinned.digest, Some(digest));
    }

    #[test]
    fn refuses_what_docker_refuses() {
        assert!(Reference::parse("Nginx").is_err());
        assert!(Reference::parse("nginx:").is_err());
        assert!(Reference::parse("nginx@sha256:xyz").is_err());
        assert!(Reference::parse("").is_err());
    }
}
