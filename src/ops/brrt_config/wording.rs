//! Turning what the TOML deserializer says into what a user can act on: the key's full name,
//! types in words ("an integer", not "i64"), and a "did you mean" for a mistyped key.

/// The key a byte offset of `text` belongs to, as `table.key` (`registry.port`), read from the
/// line it is on and the last `[table]` header above it. `None` when it cannot tell.
pub(super) fn key_at(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    let line = &text[line_start..line_end];
    let table = table_above(&text[..line_start]);
    if let Some(header) = header_name(line) {
        return Some(header);
    }
    let (key, _) = line.split_once('=')?;
    let key = unquote(key.trim());
    if key.is_empty() {
        return None;
    }
    Some(match table {
        Some(t) => format!("{t}.{key}"),
        None => key,
    })
}

/// The name of the last `[table]` header in `text`.
pub(super) fn table_above(text: &str) -> Option<String> {
    text.lines().rev().find_map(header_name)
}

/// `[cache.remotes]` → `cache.remotes`; `None` for a line that is not a table header.
fn header_name(line: &str) -> Option<String> {
    let line = line.split('#').next()?.trim();
    let inner = line
        .strip_prefix("[[")
        .and_then(|l| l.strip_suffix("]]"))
        .or_else(|| line.strip_prefix('[').and_then(|l| l.strip_suffix(']')))?;
    let parts: Vec<String> = inner.split('.').map(|p| unquote(p.trim())).collect();
    Some(parts.join("."))
}

fn unquote(text: &str) -> String {
    text.trim_matches('"').trim_matches('\'').to_string()
}

/// Serde's type names in words a user knows.
pub(super) fn plain_types(message: &str) -> String {
    let mut out = message.to_string();
    for (from, to) in [
        ("expected i64", "expected an integer"),
        ("expected u16", "expected an integer"),
        ("expected a sequence", "expected an array"),
        ("expected a map", "expected a table"),
        (" as i128", ""),
    ] {
        out = out.replace(from, to);
    }
    if let Some(at) = out.find("expected struct ") {
        out.replace_range(at.., "expected a table");
    }
    // "invalid type: string \"x\", expected an integer" → "expected an integer, found a string \"x\""
    if let Some(rest) = out.strip_prefix("invalid type: ") {
        if let Some((found, expected)) = rest.rsplit_once(", expected ") {
            return format!("expected {expected}, found {}", with_article(found));
        }
    }
    out
}

fn with_article(found: &str) -> String {
    let article = if found.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {found}")
}

/// For serde's "unknown field `x`, expected one of `a`, `b`": the unknown key, and the known
/// ones it lists.
pub(super) fn unknown_field(message: &str) -> Option<(String, Vec<String>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, rest) = rest.split_once('`')?;
    let known = rest
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    Some((field.to_string(), known))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_named_with_their_table() {
        let text = "[cluster]\nname = \"x\"\n\n[registry] # push\nport = \"5001\"\n";
        assert_eq!(
            key_at(text, text.find("\"5001").unwrap()).as_deref(),
            Some("registry.port")
        );
        assert_eq!(key_at(text, 2).as_deref(), Some("cluster"));
        assert_eq!(key_at("port = 1", 7).as_deref(), Some("port"));
    }

    #[test]
    fn types_read_as_words() {
        assert_eq!(
            plain_types("invalid type: string \"x\", expected i64"),
            "expected an integer, found a string \"x\""
        );
        assert_eq!(
            plain_types("invalid type: integer `3`, expected struct RawCache"),
            "expected a table, found an integer `3`"
        );
    }

    #[test]
    fn unknown_keys_are_read_from_the_message() {
        let (field, listed) =
            unknown_field("unknown field `cahce`, expected `cache` or `registry`").unwrap();
        assert_eq!((field.as_str(), listed.len()), ("cahce", 2));
        assert_eq!(listed, ["cache", "registry"]);
    }
}
