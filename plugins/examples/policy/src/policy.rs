//! The image policy: which upstreams images may come from, and whether they must be pinned.

use crate::reference::{normalize_registry, Reference};
use serde_json::{json, Map, Value};

/// The rules a team sets. Every field has a default, so `#{}` is a valid set of rules.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    /// Registries images may come from; empty allows any.
    pub allowed_upstreams: Vec<String>,
    /// Whether `:latest`, or no tag at all, is allowed.
    pub allow_latest: bool,
    /// Whether every reference must carry a digest.
    pub require_digest: bool,
}

const KNOWN_RULES: [&str; 3] = ["allowed_upstreams", "allow_latest", "require_digest"];

impl Default for Rules {
    fn default() -> Self {
        Rules {
            allowed_upstreams: [
                "docker.io",
                "gcr.io",
                "quay.io",
                "ghcr.io",
                "registry.k8s.io",
            ]
            .map(String::from)
            .to_vec(),
            allow_latest: false,
            require_digest: false,
        }
    }
}

impl Rules {
    /// Reads rules from a map, on top of the defaults. An unknown key is an error, so that a
    /// misspelt rule does not pass silently.
    pub fn from_json(value: &Value) -> Result<Rules, String> {
        let Value::Object(map) = value else {
            return Err(format!("rules must be a map, not {value}"));
        };
        if let Some(unknown) = map.keys().find(|k| !KNOWN_RULES.contains(&k.as_str())) {
            return Err(format!(
                "unknown rule `{unknown}`; the rules are {}",
                KNOWN_RULES.join(", ")
            ));
        }
        let mut rules = Rules::default();
        if let Some(list) = map.get("allowed_upstreams") {
            let hosts = list
                .as_array()
                .ok_or("allowed_upstreams must be an array")?;
            rules.allowed_upstreams = hosts
                .iter()
                .map(|h| {
                    h.as_str()
                        .map(normalize_registry)
                        .ok_or_else(|| format!("allowed_upstreams holds {h}, not a host name"))
                })
                .collect::<Result<_, _>>()?;
        }
        if let Some(flag) = map.get("allow_latest") {
            rules.allow_latest = flag.as_bool().ok_or("allow_latest must be true or false")?;
        }
        if let Some(flag) = map.get("require_digest") {
            rules.require_digest = flag
                .as_bool()
                .ok_or("require_digest must be true or false")?;
        }
        Ok(rules)
    }

    pub fn to_json(&self) -> Value {
        json!({
            "allowed_upstreams": self.allowed_upstreams,
            "allow_latest": self.allow_latest,
            "require_digest": self.require_digest,
        })
    }
}

/// One reference that breaks one rule.
fn violation(reference: &str, rule: &str, message: String) -> Value {
    json!({ "ref": reference, "rule": rule, "message": message })
}

/// Every violation of `rules` by `references`, in order: `#{ref, rule, message}` with `rule`
/// one of `invalid`, `upstream`, `latest`, `digest`.
pub fn check(references: &[String], rules: &Rules) -> Vec<Value> {
    let mut found = Vec::new();
    for text in references {
        let reference = match Reference::parse(text) {
            Ok(r) => r,
            Err(why) => {
                found.push(violation(text, "invalid", why));
                continue;
            }
        };
        if !rules.allowed_upstreams.is_empty()
            && !rules.allowed_upstreams.contains(&reference.registry)
        {
            found.push(violation(
                text,
                "upstream",
                format!(
                    "{} is not an allowed upstream ({})",
                    reference.registry,
                    rules.allowed_upstreams.join(", ")
                ),
            ));
        }
        if !rules.allow_latest && reference.effective_tag() == Some("latest") {
            let message = if reference.tag.is_none() {
                "no tag means :latest; pin a version".to_string()
            } else {
                ":latest changes under you; pin a version".to_string()
            };
            found.push(violation(text, "latest", message));
        }
        if rules.require_digest && reference.digest.is_none() {
            found.push(violation(
                text,
                "digest",
                "no digest; pin it with @sha256:…".to_string(),
            ));
        }
    }
    found
}

/// A reference's parts, for scripts: `#{registry, repository, tag, digest, canonical}`.
pub fn describe(reference: &Reference) -> Value {
    let mut map = Map::new();
    map.insert("registry".into(), reference.registry.clone().into());
    map.insert("repository".into(), reference.repository.clone().into());
    map.insert("tag".into(), reference.effective_tag().into());
    map.insert("digest".into(), reference.digest.clone().into());
    map.insert("canonical".into(), reference.to_string().into());
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(json: Value) -> Rules {
        Rules::from_json(&json).unwrap()
    }

    fn rules_broken(refs: &[&str], rules: &Rules) -> Vec<String> {
        let refs: Vec<String> = refs.iter().map(|s| s.to_string()).collect();
        check(&refs, rules)
            .iter()
            .map(|v| {
                format!(
                    "{} {}",
                    v["ref"].as_str().unwrap(),
                    v["rule"].as_str().unwrap()
                )
            })
            .collect()
    }

    #[test]
    fn flags_upstreams_latest_and_bad_references() {
        let found = rules_broken(
            &[
                "nginx:1.27",
                "redis",
                "example.com/app:1",
                "quay.io/x/y:latest",
                "Bad",
            ],
            &Rules::default(),
        );
        assert_eq!(
            found,
            [
                "redis latest",
                "example.com/app:1 upstream",
                "quay.io/x/y:latest latest",
                "Bad invalid"
            ]
        );
    }

    #[test]
    fn rules_are_read_on_top_of_the_defaults() {
        let r = rules(json!({"allow_latest": true, "allowed_upstreams": ["index.docker.io"]}));
        assert!(r.allow_latest);
        assert_eq!(r.allowed_upstreams, ["docker.io"]);
        assert!(!r.require_digest);
        assert_eq!(
            rules_broken(&["redis", "quay.io/a/b:1"], &r),
            ["quay.io/a/b:1 upstream"]
        );
        let err = Rules::from_json(&json!({"allow_lates": true})).unwrap_err();
        assert!(err.contains("unknown rule `allow_lates`"), "{err}");
    }

    #[test]
    fn a_digest_can_be_required() {
        let r = rules(json!({"require_digest": true}));
        let pinned = format!("nginx:1.27@sha256:{}", "0".repeat(64));
        assert_eq!(
            rules_broken(&[&pinned, "nginx:1.27"], &r),
            ["nginx:1.27 digest"]
        );
    }
}
