//! Config files in TOML, YAML or JSON, read into one JSON-like value, with line and column on
//! every syntax error.

use crate::ops::error::line_col;
use crate::ops::ConfigError;
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

/// The format of a config file, chosen by its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Toml,
    Yaml,
    Json,
}

impl Format {
    pub fn of(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "toml" => Some(Format::Toml),
            "yaml" | "yml" => Some(Format::Yaml),
            "json" => Some(Format::Json),
            _ => None,
        }
    }
}

/// Reads a file the way a config must be read while an editor may be saving it: again until
/// it holds still. A save in place truncates the file before writing it, so a read can see it
/// empty or half-written; a read is kept only when the file's size and time did not change
/// while it was read and it is not empty. After `patience`, what was read last is returned
/// (an empty file then is an error for the caller to report).
pub fn read_settled(path: &Path, patience: Duration) -> std::io::Result<String> {
    let deadline = Instant::now() + patience;
    loop {
        let before = stamp(path)?;
        let text = std::fs::read_to_string(path)?;
        let after = stamp(path)?;
        // Written in one go, and not touched for a moment: a writer that writes in pieces is
        // done with it (a save takes well under SETTLE).
        let quiet = after
            .0
            .and_then(|t| t.elapsed().ok())
            .is_none_or(|age| age >= SETTLE);
        let settled = before == after && after.1 == text.len() as u64 && quiet;
        if (settled && !text.trim().is_empty()) || Instant::now() >= deadline {
            return Ok(text);
        }
        std::thread::sleep(Duration::from_millis(15));
    }
}

/// How long a config must be left alone before a read of it counts.
const SETTLE: Duration = Duration::from_millis(50);

fn stamp(path: &Path) -> std::io::Result<(Option<SystemTime>, u64)> {
    let meta = std::fs::metadata(path)?;
    Ok((meta.modified().ok(), meta.len()))
}

/// Reads (see [`read_settled`]) and parses `path`.
pub fn load(path: &Path, patience: Duration) -> Result<Value, ConfigError> {
    let shown = path.display().to_string();
    let error = |message: String| ConfigError {
        path: shown.clone(),
        line: None,
        column: None,
        message,
        snippet: None,
    };
    let format = Format::of(path).ok_or_else(|| {
        error("unknown config format: use a .toml, .yaml, .yml or .json file".to_string())
    })?;
    let text = read_settled(path, patience).map_err(|e| error(format!("cannot read: {e}")))?;
    parse(&shown, &text, format)
}

/// Parses `text` (named `path` in errors).
pub fn parse(path: &str, text: &str, format: Format) -> Result<Value, ConfigError> {
    let at = |line: Option<usize>, column: Option<usize>, message: String| ConfigError {
        path: path.to_string(),
        line,
        column,
        snippet: line
            .and_then(|l| text.lines().nth(l.saturating_sub(1)))
            .map(str::to_string),
        message,
    };
    match format {
        Format::Toml => toml::from_str::<Value>(text).map_err(|e| {
            let (line, col) = match e.span() {
                Some(span) => {
                    let (l, c) = line_col(text, span.start);
                    (Some(l), Some(c))
                }
                None => (None, None),
            };
            at(line, col, format!("invalid TOML: {}", e.message()))
        }),
        Format::Yaml => yaml_serde::from_str::<Value>(text).map_err(|e| {
            let loc = e.location();
            let msg = e.to_string();
            let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
            at(
                loc.as_ref().map(|l| l.line()),
                loc.as_ref().map(|l| l.column()),
                format!("invalid YAML: {msg}"),
            )
        }),
        Format::Json => serde_json::from_str::<Value>(text).map_err(|e| {
            let msg = e.to_string();
            let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
            at(
                Some(e.line()),
                Some(e.column()),
                format!("invalid JSON: {msg}"),
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_errors_name_line_and_column() {
        let err = parse("brrt.toml", "[cache]\nenabled = tru\n", Format::Toml).unwrap_err();
        assert_eq!((err.line, err.column), (Some(2), Some(11)));
        assert!(
            err.to_string().starts_with("brrt.toml:2:11: invalid TOML"),
            "{err}"
        );
    }

    #[test]
    fn yaml_and_json_errors_name_the_line() {
        let err = parse("c.yaml", "a: 1\nb: [1, 2\n", Format::Yaml).unwrap_err();
        assert!(err.line.is_some(), "{err}");
        let err = parse("c.json", "{\n \"a\": 1,\n}", Format::Json).unwrap_err();
        assert_eq!(err.line, Some(3));
    }
}
