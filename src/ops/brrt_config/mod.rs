//! brrt.toml, checked against a typed schema before any flow acts on it.
//!
//! A config is read whole and checked whole: unknown keys (with a "did you mean"), wrong types,
//! names Docker would refuse, upstreams that are not registry hosts, and two upstreams whose
//! caches would share a container. Only a config that passes every check reaches a script, with
//! every default filled in, so a flow never starts changing things from a config it would
//! later reject. An empty file is an error, never "all defaults": it is what an editor leaves
//! for a moment while it saves in place.
//!
//! The `[team]` table is the team's own: it is passed to scripts unchecked.
//!
//! - this file: [`parse`]; [`checked`]: the checked config's types
//! - [`raw`]: the file as written, each value with its place
//! - [`check`]: the whole config checked, defaults filled in, every problem collected
//! - [`values`]: single values checked as what reads them would (names, URLs, durations)
//! - [`wording`]: the deserializer's messages in a user's words
//! - [`lookup`]: one value by its dotted key, for `brrt config KEY`

mod check;
mod checked;
mod lookup;
mod raw;
mod values;
mod wording;

pub use checked::{
    BrrtConfig, CacheConfig, ClusterConfig, InvalidConfig, RegistryConfig, DEFAULT_UPSTREAMS,
};
pub use lookup::lookup;
pub use values::docker_name;

use crate::ops::ConfigError;
use raw::RawConfig;

/// Checks the text of a brrt config. `path` is the file's name as errors should show it.
pub fn parse(path: &str, text: &str) -> Result<BrrtConfig, InvalidConfig> {
    if text.trim().is_empty() {
        return Err(InvalidConfig(vec![ConfigError::whole(
            path,
            "the config is empty. brrt never applies defaults from an empty file (an editor \
             saving in place leaves one for a moment); write at least one setting, e.g. \
             [cluster] name = \"brrt-dev\"",
        )]));
    }
    let raw: RawConfig = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        InvalidConfig(vec![ConfigError::at(
            path,
            text,
            span.start,
            explain(text, span.start, e.message()),
        )])
    })?;
    check::check(path, text, raw)
}

/// What the deserializer said, in a user's words, with the key named.
fn explain(text: &str, offset: usize, message: &str) -> String {
    if let Some((field, known)) = wording::unknown_field(message) {
        let table = wording::table_above(&text[..offset.min(text.len())]);
        let place = match (&table, known.iter().any(|k| k == "cluster")) {
            (_, true) | (None, _) => "at the top level".to_string(),
            (Some(t), false) => format!("in [{t}]"),
        };
        let hint = match crate::suggest::closest(&field, known.iter().map(String::as_str)) {
            Some(k) => format!("; did you mean `{k}`?"),
            None => format!("; known keys: {}", known.join(", ")),
        };
        return format!(
            "unknown key `{field}` {place}{hint} (keys of your own flows go under [team])"
        );
    }
    let plain = wording::plain_types(message);
    match wording::key_at(text, offset) {
        Some(key) => format!("{key}: {plain}"),
        None => plain,
    }
}

#[cfg(test)]
mod tests;
