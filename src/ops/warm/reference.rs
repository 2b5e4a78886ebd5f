//! Image references, normalised the way containerd (and Docker) read them: `postgres:16` is
//! `docker.io/library/postgres:16`, a name without a tag or digest means `:latest`, and a
//! digest is kept (a reference with both pulls by the digest).

use std::fmt;

/// A checked, fully qualified image reference.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ImageRef {
    /// The registry host images name: `docker.io`, `ghcr.io`, `localhost:5001`.
    pub host: String,
    /// The repository on it: `library/postgres`.
    pub repo: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl ImageRef {
    /// Parses and normalises a reference; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<ImageRef, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("the reference is empty".into());
        }
        if let Some(c) = text.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("it contains {c:?}; a reference has no spaces"));
        }
        let (name_tag, digest) = match text.split_once('@') {
            Some((n, d)) => (n, Some(check_digest(d)?)),
            None => (text, None),
        };
        // A tag follows the last `:` after the last `/` (a `:` before that is a port).
        let last_slash = name_tag.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name_tag[last_slash..].rfind(':') {
            Some(i) => {
                let at = last_slash + i;
                (&name_tag[..at], Some(check_tag(&name_tag[at + 1..])?))
            }
            None => (name_tag, None),
        };
        let (host, path) = split_host(name);
        let host = match host {
            Some("index.docker.io") | None => "docker.io".to_string(),
            Some(h) => {
                crate::ops::upstream::check_host(h).map_err(|e| format!("its registry {e}"))?;
                h.to_string()
            }
        };
        let repo = if host == "docker.io" && !path.contains('/') {
            format!("library/{path}")
        } else {
            path.to_string()
        };
        check_repo(&repo)?;
        let tag = match (&tag, &digest) {
            (None, None) => Some("latest".to_string()),
            _ => tag,
        };
        Ok(ImageRef {
            host,
            repo,
            tag,
            digest,
        })
    }

    /// What to ask the registry for: the digest when there is one, else the tag.
    pub fn reference(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or("latest")
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.host, self.repo)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// The registry host, if the first component names one: it has a `.` or a `:`, or is
/// `localhost`. Otherwise the name is a Docker Hub path.
fn split_host(name: &str) -> (Option<&str>, &str) {
    match name.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (Some(first), rest)
        }
        _ => (None, name),
    }
}

/// Path components of lowercase letters and digits, joined by `.`, `_`, `__` or dashes.
fn check_repo(repo: &str) -> Result<(), String> {
    if repo.len() > 255 {
        return Err("the repository name is longer than 255 characters".into());
    }
    for part in repo.split('/') {
        if part.is_empty() {
            return Err("the repository name has an empty part (`//` or a trailing `/`)".into());
        }
        if part.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(format!("repository names must be lowercase (`{part}`)"));
        }
        let bytes = part.as_bytes();
        let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        let separators_ok = {
            let mut ok = alnum(bytes[0]) && alnum(bytes[bytes.len() - 1]);
            let mut i = 0;
            while ok && i < bytes.len() {
                if alnum(bytes[i]) {
                    i += 1;
                    continue;
                }
                let start = i;
                while i < bytes.len() && !alnum(bytes[i]) {
                    i += 1;
                }
                let sep = &part[start..i];
                ok = sep == "." || sep == "_" || sep == "__" || sep.chars().all(|c| c == '-');
            }
            ok
        };
        if !separators_ok {
            return Err(format!(
                "`{part}` is not a repository path component (lowercase letters and digits, \
                 joined by `.`, `_`, `__` or `-`)"
            ));
        }
    }
    Ok(())
}

/// A tag: up to 128 word characters, dots and dashes, not starting with a dot or dash.
fn check_tag(tag: &str) -> Result<String, String> {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let ok = !tag.is_empty()
        && tag.len() <= 128
        && tag.starts_with(word)
        && tag.chars().all(|c| word(c) || c == '.' || c == '-');
    if ok {
        Ok(tag.to_string())
    } else {
        Err(format!(
            "`{tag}` is not a tag (up to 128 letters, digits, `_`, `.` and `-`)"
        ))
    }
}

/// A digest: `sha256:` and 64 hex digits, or another algorithm with at least 32.
fn check_digest(digest: &str) -> Result<String, String> {
    let bad = || format!("`{digest}` is not a digest (sha256: and 64 hex digits)");
    let (algo, hex) = digest.split_once(':').ok_or_else(bad)?;
    let hex_ok = hex
        .chars()
        .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c));
    let len_ok = if algo == "sha256" {
        hex.len() == 64
    } else {
        hex.len() >= 32
    };
    let algo_ok = algo.starts_with(|c: char| c.is_ascii_lowercase())
        && algo
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+._-".contains(c));
    if hex_ok && len_ok && algo_ok {
        Ok(digest.to_string())
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(text: &str) -> String {
        ImageRef::parse(text).unwrap().to_string()
    }

    const D: &str = "sha256:ec05c98f076bd19b0d85a2f9d022dde83224a7652750d69a157d388eb501df16";

    #[test]
    fn docker_hub_names_are_qualified_as_containerd_does() {
        assert_eq!(norm("postgres:16"), "docker.io/library/postgres:16");
        assert_eq!(norm("postgres"), "docker.io/library/postgres:latest");
        assert_eq!(
            norm("grafana/grafana:10.4.1"),
            "docker.io/grafana/grafana:10.4.1"
        );
        assert_eq!(norm("docker.io/redis:7"), "docker.io/library/redis:7");
        assert_eq!(
            norm("index.docker.io/library/redis:7"),
            "docker.io/library/redis:7"
        );
    }

    #[test]
    fn other_registries_keep_their_host_and_port() {
        assert_eq!(
            norm("quay.io/prometheus/prometheus:v2.51.0"),
            "quay.io/prometheus/prometheus:v2.51.0"
        );
        assert_eq!(
            norm("registry.k8s.io/pause:3.9"),
            "registry.k8s.io/pause:3.9"
        );
        let r = ImageRef::parse("localhost:5001/app").unwrap();
        assert_eq!(
            (r.host.as_str(), r.repo.as_str(), r.reference()),
            ("localhost:5001", "app", "latest")
        );
    }

    #[test]
    fn digests_are_kept_and_asked_for() {
        let r = ImageRef::parse(&format!("postgres:16@{D}")).unwrap();
        assert_eq!(r.to_string(), format!("docker.io/library/postgres:16@{D}"));
        assert_eq!(r.reference(), D);
        let r = ImageRef::parse(&format!("ghcr.io/org/app@{D}")).unwrap();
        assert_eq!((r.tag.as_deref(), r.reference()), (None, D));
    }

    #[test]
    fn bad_references_say_why() {
        let why = |t: &str| ImageRef::parse(t).unwrap_err();
        assert!(
            why("Postgres:16").contains("must be lowercase"),
            "{}",
            why("Postgres:16")
        );
        assert!(why("postgres:16 redis").contains("no spaces"));
        assert!(why("postgres@sha256:abc").contains("is not a digest"));
        assert!(why("postgres:-x").contains("is not a tag"));
        assert!(why("a//b").contains("empty part"));
        assert!(why("my_.app").contains("not a repository path component"));
        assert!(why("").contains("empty"));
        assert!(why("Bad.Host/x").contains("is not a registry host"));
    }
}
