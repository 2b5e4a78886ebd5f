//! One value of a checked config by its dotted key (`registry.port`), for `brrt config KEY`:
//! the way a Tiltfile, a justfile or a shell script reads brrt.toml with brrt's own schema and
//! defaults, instead of parsing the file again.

use super::checked::BrrtConfig;
use serde_json::Value;

/// The value at `key` (`registry.port`, `cluster`, `cache.upstreams`, `team.slack`), defaults
/// filled in. `cache.shared` names the table as brrt.toml writes it (scripts see it as
/// `cache.team_caches`). An unknown key is an error that names the keys there are.
pub fn lookup(config: &BrrtConfig, key: &str) -> Result<Value, String> {
    let mut value = serde_json::to_value(config).map_err(|e| e.to_string())?;
    if let Value::Object(top) = &mut value {
        // Where the config was read from is no key of brrt.toml.
        top.remove("path");
        top.remove("file");
        if let Some(Value::Object(cache)) = top.get_mut("cache") {
            if let Some(shared) = cache.remove("team_caches") {
                cache.insert("shared".into(), shared);
            }
        }
    }
    if key.is_empty() {
        return Ok(value);
    }
    let mut here = &value;
    let mut walked = Vec::new();
    for part in key.split('.') {
        let Value::Object(table) = here else {
            return Err(format!(
                "`{}` is a value, not a table: it has no key `{part}`",
                walked.join(".")
            ));
        };
        let Some(next) = table.get(part) else {
            let place = if walked.is_empty() {
                "brrt's config".to_string()
            } else {
                format!("[{}]", walked.join("."))
            };
            let known: Vec<&str> = table.keys().map(String::as_str).collect();
            let hint = match crate::suggest::closest(part, known.iter().copied()) {
                Some(k) => format!("; did you mean `{k}`?"),
                None if known.is_empty() => String::new(),
                None => format!("; its keys: {}", known.join(", ")),
            };
            return Err(format!("no key `{part}` in {place}{hint}"));
        };
        walked.push(part);
        here = next;
    }
    Ok(here.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> BrrtConfig {
        super::super::parse("brrt.toml", text).unwrap()
    }

    #[test]
    fn a_key_gives_its_value_with_defaults_filled_in() {
        let c = config("[cluster]\nname = \"dev\"\n[cache.shared]\n\"ghcr.io\" = \"https://cache.example.com\"\n");
        assert_eq!(lookup(&c, "registry.port"), Ok(Value::from(5001)));
        assert_eq!(lookup(&c, "cluster.context"), Ok(Value::from("kind-dev")));
        assert_eq!(
            lookup(&c, "cache.shared")
                .unwrap()
                .get("ghcr.io")
                .and_then(Value::as_str),
            Some("https://cache.example.com")
        );
        assert!(lookup(&c, "").unwrap().get("path").is_none());
    }

    #[test]
    fn an_unknown_key_names_the_keys_there_are() {
        let c = config("[cluster]\nname = \"dev\"\n");
        assert_eq!(
            lookup(&c, "registry.prot"),
            Err("no key `prot` in [registry]; did you mean `port`?".into())
        );
        assert_eq!(
            lookup(&c, "registry.port.x"),
            Err("`registry.port` is a value, not a table: it has no key `x`".into())
        );
        assert!(lookup(&c, "nope")
            .unwrap_err()
            .starts_with("no key `nope` in brrt's config; its keys: "));
    }
}
