//! distribution's log lines read as logfmt (`time="…" level=info msg="…" key=value`), quoted
//! values with their escapes; a line in another format (the access log) is none.

use std::collections::BTreeMap;

/// The fields of one logfmt line (`time="…" level=info msg="…" key=value`), or `None` for a
/// line in another format (the registry's access log).
pub fn parse_logfmt(line: &str) -> Option<BTreeMap<String, String>> {
    let mut fields = BTreeMap::new();
    let mut rest = line.trim();
    while !rest.is_empty() {
        let eq = rest.find('=')?;
        let key = &rest[..eq];
        if key.is_empty() || key.contains(char::is_whitespace) || key.contains('"') {
            return None;
        }
        rest = &rest[eq + 1..];
        let value;
        if let Some(quoted) = rest.strip_prefix('"') {
            let mut out = String::new();
            let mut chars = quoted.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            out.push(match n {
                                'n' => '\n',
                                't' => '\t',
                                other => other,
                            });
                        }
                    }
                    '"' => {
                        end = Some(i);
                        break;
                    }
                    other => out.push(other),
                }
            }
            let end = end?;
            value = out;
            rest = &quoted[end + 1..];
        } else {
            let end = rest.find(' ').unwrap_or(rest.len());
            value = rest[..end].to_string();
            rest = &rest[end..];
        }
        fields.insert(key.to_string(), value);
        rest = rest.trim_start();
    }
    fields.contains_key("msg").then_some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_values_keep_their_escapes() {
        let f = parse_logfmt(r#"level=error msg="a \"quoted\" word" k=v"#).unwrap();
        assert_eq!(f["msg"], r#"a "quoted" word"#);
        assert_eq!(f["k"], "v");
    }
}
