//! Reading Rust source the way the layering test needs: its tokens (comments, strings and
//! character literals left out), the paths each `use` tree names, and the paths written inline,
//! each made absolute (`crate::…`) from where it is written.

use std::collections::BTreeMap;

/// A module's path from the crate root: `["script", "engine"]`.
pub(super) type Module = Vec<String>;

/// What one file says about its neighbours.
#[derive(Default)]
pub(super) struct Parsed {
    /// Absolute module paths it names (after `super`, `self` and local names are resolved),
    /// not counting its `pub use` facades.
    pub(super) paths: Vec<Module>,
    /// Names it re-exports with `pub use`, and the absolute path each stands for.
    pub(super) reexports: BTreeMap<String, Module>,
    /// Names a plain `use` brings in, and the absolute path each stands for.
    aliases: BTreeMap<String, Module>,
}

impl Parsed {
    pub(super) fn of(module: &Module, text: &str) -> Self {
        let tokens = tokens(text);
        let mut p = Self::default();
        // The inline modules (`mod tests { … }`) open at each point, with their brace depth.
        let mut inline: Vec<(String, usize)> = Vec::new();
        let mut depth = 0usize;
        let mut raw: Vec<(Module, Vec<String>, bool)> = Vec::new();
        let mut i = 0;
        while i < tokens.len() {
            let t = tokens[i].as_str();
            let scope: Module = module
                .iter()
                .cloned()
                .chain(inline.iter().map(|(n, _)| n.clone()))
                .collect();
            match t {
                "{" => depth += 1,
                "}" => {
                    depth = depth.checked_sub(1).unwrap_or_else(|| {
                        panic!(
                            "unbalanced braces in {module:?} at token {i}: {:?}",
                            &tokens[i.saturating_sub(30)..i]
                        )
                    });
                    if inline.last().is_some_and(|(_, d)| *d == depth) {
                        inline.pop();
                    }
                }
                "mod" if tokens.get(i + 2).is_some_and(|t| t == "{") => {
                    inline.push((tokens[i + 1].clone(), depth));
                }
                // (`+ use<>` is precise capturing, not an import.)
                "use" if tokens.get(i + 1).is_some_and(|t| t != "<") => {
                    let public = i > 0 && tokens[i - 1].starts_with("pub");
                    let end = (i..tokens.len()).find(|&j| tokens[j] == ";").unwrap();
                    for (path, alias) in use_tree(&tokens[i + 1..end]) {
                        raw.push((scope.clone(), path.clone(), public));
                        if let Some(alias) = alias {
                            let entry = (alias, path);
                            if public {
                                p.reexports.insert(entry.0, entry.1);
                            } else {
                                p.aliases.insert(entry.0, entry.1);
                            }
                        }
                    }
                    i = end;
                }
                _ if is_ident(t)
                    && tokens.get(i + 1).is_some_and(|n| n == "::")
                    && !(i > 0 && tokens[i - 1] == "::") =>
                {
                    let mut path = vec![t.to_string()];
                    let mut j = i + 1;
                    while tokens.get(j).is_some_and(|n| n == "::")
                        && tokens.get(j + 1).is_some_and(|n| is_ident(n))
                    {
                        path.push(tokens[j + 1].clone());
                        j += 2;
                    }
                    raw.push((scope, path, false));
                    i = j - 1;
                }
                _ => {}
            }
            i += 1;
        }
        // Resolve `super`, `self`, `crate`, and names brought in by `use`, to absolute paths:
        // the names `use` binds first, then every path through them.
        let no_aliases = BTreeMap::new();
        let bound: BTreeMap<String, Module> = p
            .aliases
            .iter()
            .filter_map(|(name, path)| Some((name.clone(), absolute(module, path, &no_aliases)?)))
            .collect();
        for (scope, path, public) in &raw {
            if let (Some(abs), false) = (absolute(scope, path, &bound), public) {
                p.paths.push(abs);
            }
        }
        for target in p.reexports.values_mut() {
            if let Some(abs) = absolute(module, target, &no_aliases) {
                *target = abs;
            }
        }
        p.aliases = bound;
        p
    }
}

/// The absolute module path `path` stands for, read in `scope`: `crate::`, `self::`,
/// `super::`, a name `use` bound, or else a child module of `scope`.
fn absolute(scope: &Module, path: &[String], bound: &BTreeMap<String, Module>) -> Option<Module> {
    let (first, rest) = path.split_first()?;
    let mut base = match first.as_str() {
        "crate" => Vec::new(),
        "self" => scope.clone(),
        "super" => scope[..scope.len().saturating_sub(1)].to_vec(),
        name => match bound.get(name) {
            Some(target) => target.clone(),
            None => [scope.as_slice(), &[name.to_string()]].concat(),
        },
    };
    let mut rest = rest;
    while let Some((s, r)) = rest.split_first() {
        if s != "super" {
            break;
        }
        base.pop();
        rest = r;
    }
    Some([base, rest.to_vec()].concat())
}

/// Every `(path, name it binds)` in the tree after `use`: `a::{b, c::d as e}` gives
/// `(a::b, b)` and `(a::c::d, e)`; a glob binds nothing.
fn use_tree(tokens: &[String]) -> Vec<(Vec<String>, Option<String>)> {
    fn walk(prefix: &[String], tokens: &[String], out: &mut Vec<(Vec<String>, Option<String>)>) {
        let mut path = prefix.to_vec();
        let mut i = 0;
        while i < tokens.len() {
            match tokens[i].as_str() {
                "::" => {}
                "{" => {
                    // Split the group at its top-level commas.
                    let mut depth = 0;
                    let mut start = i + 1;
                    for j in i..tokens.len() {
                        match tokens[j].as_str() {
                            "{" => depth += 1,
                            "}" => {
                                depth -= 1;
                                if depth == 0 {
                                    walk(&path, &tokens[start..j], out);
                                    return;
                                }
                            }
                            "," if depth == 1 => {
                                walk(&path, &tokens[start..j], out);
                                start = j + 1;
                            }
                            _ => {}
                        }
                    }
                    return;
                }
                "*" => {
                    out.push((path, None));
                    return;
                }
                "as" => {
                    let alias = tokens.get(i + 1).cloned().filter(|a| a != "_");
                    out.push((path, alias));
                    return;
                }
                t => path.push(t.to_string()),
            }
            i += 1;
        }
        if path.len() > prefix.len() {
            let last = path.last().cloned().filter(|l| l != "self");
            if path.last().is_some_and(|l| l == "self") {
                path.pop();
            }
            let alias = last.or_else(|| path.last().cloned());
            out.push((path, alias));
        }
    }
    let mut out = Vec::new();
    walk(&[], tokens, &mut out);
    out
}

fn is_ident(t: &str) -> bool {
    t.chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
}

/// The code's tokens that matter here: identifiers, `::` and single punctuation, with
/// comments, strings and character literals left out.
fn tokens(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == '"' {
            i += 1;
            while chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
        } else if c == '\'' {
            // A character literal ('a', '\n', '\'') or a lifetime ('a): skip either.
            if next == Some('\\') {
                i += 3;
                while chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if chars.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                i += 1;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
            }
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            if (word == "r" || word == "br") && raw_string_at(&chars, i) {
                i = raw_string_end(&chars, i);
                continue;
            }
            // `b"…"` reads as `b` and a string: the string is skipped as any other.
            out.push(word);
        } else if c == ':' && next == Some(':') {
            out.push("::".to_string());
            i += 2;
        } else {
            if !c.is_whitespace() {
                out.push(c.to_string());
            }
            i += 1;
        }
    }
    // `pub(crate) use` reads as one `pub…` token before `use`.
    let mut merged: Vec<String> = Vec::new();
    let mut k = 0;
    while k < out.len() {
        if out[k] == "pub" && out.get(k + 1).is_some_and(|t| t == "(") {
            let close = (k..out.len()).find(|&j| out[j] == ")").unwrap();
            merged.push("pub".to_string());
            k = close + 1;
        } else {
            merged.push(out[k].clone());
            k += 1;
        }
    }
    merged
}

/// Whether a raw string's hashes and quote start at `i`, just after its `r` or `br`.
fn raw_string_at(chars: &[char], i: usize) -> bool {
    let mut j = i;
    while chars.get(j) == Some(&'#') {
        j += 1;
    }
    chars.get(j) == Some(&'"')
}

/// Just past the raw string whose hashes and quote start at `i`: its closing quote and as
/// many hashes.
fn raw_string_end(chars: &[char], i: usize) -> usize {
    let hashes = chars[i..].iter().take_while(|c| **c == '#').count();
    let mut j = i + hashes + 1;
    while !(chars[j] == '"' && (0..hashes).all(|h| chars.get(j + 1 + h) == Some(&'#'))) {
        j += 1;
    }
    j + 1 + hashes
}
