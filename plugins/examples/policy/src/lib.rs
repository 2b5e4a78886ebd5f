//! `policy`, an example brrt plugin: checks image references against a team's image policy
//! (allowed upstreams, no `:latest`, digests if wanted) and returns the violations.
//!
//! ```rhai
//! import "policy" as policy;
//! let rules = policy::defaults();
//! rules.allow_latest = true;
//! for v in policy::check(["nginx:1.27", "example.com/app:1"], rules) { print(v.message); }
//! ```
//!
//! `abi.rs` is the ABI v1 glue a new plugin can copy; this file says which functions the plugin
//! has (`MANIFEST_FUNCTIONS`) and runs them (`call`).

mod abi;
mod policy;
mod reference;

use abi::{log, Level};
use policy::Rules;
use reference::Reference;
use serde_json::Value;

/// The functions scripts can call: name, parameter kinds, and the doc `brrt api` shows.
const MANIFEST_FUNCTIONS: &[(&str, &[&str], &str)] = &[
    (
        "check",
        &["array", "map"],
        "Checks image references against rules (see defaults()); returns the violations as \
         #{ref, rule, message}, rule being invalid, upstream, latest or digest.",
    ),
    (
        "defaults",
        &[],
        "The default rules: #{allowed_upstreams: the five upstreams brrt caches, \
         allow_latest: false, require_digest: false}.",
    ),
    (
        "pinned",
        &["string"],
        "Whether a reference is pinned: it names a tag other than latest, or a digest.",
    ),
    (
        "parse",
        &["string"],
        "An image reference's parts as Docker reads it: #{registry, repository, tag, digest, \
         canonical}.",
    ),
];

/// Runs one function with its JSON arguments; an `Err` becomes the script's error.
fn call(function: &str, args: Vec<Value>) -> Result<Value, String> {
    match (function, args.as_slice()) {
        ("check", [references, rules]) => {
            let references = strings(references)?;
            let rules = Rules::from_json(rules)?;
            let violations = policy::check(&references, &rules);
            log(
                Level::Debug,
                &format!(
                    "{} reference(s), {} violation(s)",
                    references.len(),
                    violations.len()
                ),
            );
            Ok(Value::Array(violations))
        }
        ("defaults", []) => Ok(Rules::default().to_json()),
        ("pinned", [Value::String(text)]) => Reference::parse(text)
            .map(|r| Value::Bool(r.digest.is_some() || r.effective_tag() != Some("latest"))),
        ("parse", [Value::String(text)]) => Reference::parse(text).map(|r| policy::describe(&r)),
        _ => Err(format!(
            "no function {function} taking {} argument(s)",
            args.len()
        )),
    }
}

/// An array of strings, or what is wrong with it.
fn strings(value: &Value) -> Result<Vec<String>, String> {
    let items = value
        .as_array()
        .ok_or("the references must be an array of strings")?;
    items
        .iter()
        .map(|v| {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| format!("{v} is not an image reference (a string)"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_function_in_the_manifest_answers() {
        let refs = json!(["nginx", "nginx:1.27"]);
        let found = call("check", vec![refs, json!({})]).unwrap();
        assert_eq!(found.as_array().unwrap().len(), 1);
        assert_eq!(call("defaults", vec![]).unwrap()["allow_latest"], false);
        assert_eq!(call("pinned", vec![json!("nginx")]).unwrap(), false);
        assert_eq!(call("pinned", vec![json!("nginx:1.27")]).unwrap(), true);
        assert_eq!(
            call("parse", vec![json!("redis")]).unwrap()["canonical"],
            "docker.io/library/redis"
        );
        for (name, _, _) in MANIFEST_FUNCTIONS {
            assert!(!call(name, vec![json!(1), json!(2), json!(3)])
                .unwrap_err()
                .is_empty());
        }
    }

    #[test]
    fn bad_arguments_are_errors_not_panics() {
        let err = call("check", vec![json!("nginx"), json!({})]).unwrap_err();
        assert!(err.contains("array of strings"), "{err}");
        let err = call("check", vec![json!([1]), json!({})]).unwrap_err();
        assert!(err.contains("1 is not an image reference"), "{err}");
    }
}
