//! The layout keeps a direction: the files of `src/` import each other without a circle, and
//! no lower layer reaches up (ops knows nothing of script, cli, run or watch; script nothing
//! of cli, run or watch). Read from the real source files, the way a newcomer would trace them:
//! every `use crate::…`, `super::…` and inline `crate::a::b` path is one arrow from a file to
//! the file that defines the module it names. A `pub use` is a facade, not an arrow: a path
//! through it is followed to the file that defines the item.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers whose files may take part in no circle at all. `ops` joins them once issue 21's
/// other branches have untangled it (today a module's `mod.rs` and its children import each
/// other there, and `registry/cache.rs` and `registry/stats.rs` share constants both ways).
const NO_CIRCLE: &[&str] = &["cli", "run", "watch", "script", "plugin"];

/// Layers a file may not import from, by the first folder (or file) under `src/`.
const BELOW: &[(&str, &[&str])] = &[
    ("ops", &["script", "cli", "run", "watch"]),
    ("script", &["cli", "run", "watch"]),
    ("plugin", &["script", "cli", "run", "watch"]),
];

type Module = Vec<String>;

#[test]
fn src_has_no_circle_and_no_arrow_up() {
    let graph = Graph::read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    // `BRRT_LAYERING_SHOW=script/ cargo test layering -- --nocapture` lists the arrows there.
    if let Ok(under) = std::env::var("BRRT_LAYERING_SHOW") {
        for (from, to) in graph
            .arrows()
            .filter(|(a, b)| a.starts_with(&under) && b.starts_with(&under))
        {
            println!("{from} -> {to}");
        }
    }
    let mut problems = Vec::new();

    for circle in graph.circles() {
        if circle.iter().any(|f| NO_CIRCLE.contains(&layer(f))) {
            problems.push(format!(
                "circle between {}:\n    {}",
                circle.join(", "),
                graph.arrows_within(&circle).join("\n    ")
            ));
        }
    }
    for (from, to) in graph.arrows() {
        let (a, b) = (layer(from), layer(to));
        if BELOW
            .iter()
            .any(|(low, high)| *low == a && high.contains(&b))
        {
            problems.push(format!(
                "{from} imports {to}: {a} must not reach up into {b}"
            ));
        }
    }
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

/// The first folder or file under `src/`, without `.rs`: `ops`, `script`, `run`.
fn layer(file: &str) -> &str {
    let first = file.split('/').next().unwrap_or(file);
    first.strip_suffix(".rs").unwrap_or(first)
}

struct Graph {
    /// Module path → file, relative to `src/`.
    files: BTreeMap<Module, String>,
    /// File → the files it imports.
    edges: BTreeMap<String, BTreeSet<String>>,
}

impl Graph {
    fn read(src: &Path) -> Self {
        let mut files = BTreeMap::new();
        for path in rust_files(src) {
            let rel = path
                .strip_prefix(src)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let mut module: Module = rel
                .trim_end_matches(".rs")
                .split('/')
                .map(str::to_string)
                .collect();
            if module.last().is_some_and(|l| l == "mod") || rel == "lib.rs" || rel == "main.rs" {
                module.pop();
            }
            if rel != "main.rs" {
                files.insert(module, rel);
            }
        }
        let parsed: BTreeMap<Module, Parsed> = files
            .iter()
            .map(|(m, f)| {
                let text = std::fs::read_to_string(src.join(f)).unwrap();
                (m.clone(), Parsed::of(m, &text))
            })
            .collect();
        let resolver = Resolver {
            files: &files,
            parsed: &parsed,
        };
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (module, p) in &parsed {
            let from = &files[module];
            for path in &p.paths {
                if let Some(target) = resolver.file_of(path, 0) {
                    if target != module {
                        edges
                            .entry(from.clone())
                            .or_default()
                            .insert(files[target].clone());
                    }
                }
            }
        }
        Self { files, edges }
    }

    fn arrows(&self) -> impl Iterator<Item = (&str, &str)> {
        self.edges
            .iter()
            .flat_map(|(a, bs)| bs.iter().map(move |b| (a.as_str(), b.as_str())))
    }

    fn arrows_within(&self, files: &[String]) -> Vec<String> {
        self.arrows()
            .filter(|(a, b)| files.iter().any(|f| f == a) && files.iter().any(|f| f == b))
            .map(|(a, b)| format!("{a} -> {b}"))
            .collect()
    }

    /// Strongly connected groups of more than one file, each sorted (Tarjan's algorithm).
    fn circles(&self) -> Vec<Vec<String>> {
        struct State<'a> {
            g: &'a Graph,
            index: BTreeMap<&'a str, usize>,
            low: BTreeMap<&'a str, usize>,
            stack: Vec<&'a str>,
            next: usize,
            out: Vec<Vec<String>>,
        }
        fn visit<'a>(s: &mut State<'a>, v: &'a str) {
            s.index.insert(v, s.next);
            s.low.insert(v, s.next);
            s.next += 1;
            s.stack.push(v);
            for w in s.g.edges.get(v).into_iter().flatten() {
                let w = w.as_str();
                if !s.index.contains_key(w) {
                    visit(s, w);
                    let lw = s.low[w];
                    s.low.entry(v).and_modify(|l| *l = (*l).min(lw));
                } else if s.stack.contains(&w) {
                    let iw = s.index[w];
                    s.low.entry(v).and_modify(|l| *l = (*l).min(iw));
                }
            }
            if s.low[v] == s.index[v] {
                let mut group = Vec::new();
                while let Some(w) = s.stack.pop() {
                    group.push(w.to_string());
                    if w == v {
                        break;
                    }
                }
                if group.len() > 1 {
                    group.sort();
                    s.out.push(group);
                }
            }
        }
        let mut s = State {
            g: self,
            index: BTreeMap::new(),
            low: BTreeMap::new(),
            stack: Vec::new(),
            next: 0,
            out: Vec::new(),
        };
        for f in self.files.values() {
            if !s.index.contains_key(f.as_str()) {
                visit(&mut s, f);
            }
        }
        s.out.sort();
        s.out
    }
}

/// What one file says about its neighbours.
#[derive(Default)]
struct Parsed {
    /// Absolute module paths it names (after `super`, `self` and local names are resolved),
    /// not counting its `pub use` facades.
    paths: Vec<Module>,
    /// Names it re-exports with `pub use`, and the absolute path each stands for.
    reexports: BTreeMap<String, Module>,
    /// Names a plain `use` brings in, and the absolute path each stands for.
    aliases: BTreeMap<String, Module>,
}

impl Parsed {
    fn of(module: &Module, text: &str) -> Self {
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

struct Resolver<'a> {
    files: &'a BTreeMap<Module, String>,
    parsed: &'a BTreeMap<Module, Parsed>,
}

impl<'a> Resolver<'a> {
    /// The module (with a file) that defines what `path` names, through `pub use` facades.
    fn file_of(&self, path: &[String], hops: usize) -> Option<&'a Module> {
        let (module, _) = self
            .files
            .get_key_value(path)
            .map(|(m, _)| (m, ()))
            .or_else(|| {
                (0..path.len())
                    .rev()
                    .find_map(|n| self.files.get_key_value(&path[..n]))
                    .map(|(m, _)| (m, ()))
            })?;
        let rest = &path[module.len()..];
        if let (Some(name), true) = (rest.first(), hops < 8) {
            if let Some(target) = self.parsed[module].reexports.get(name) {
                let through = [target.as_slice(), &rest[1..]].concat();
                return self.file_of(&through, hops + 1).or(Some(module));
            }
        }
        Some(module)
    }
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
        } else if c == 'r' && matches!(next, Some('#' | '"')) && raw_string_at(&chars, i) {
            // r"…", r#"…"#: skip to the closing quote with as many hashes.
            let mut j = i + 1;
            let mut hashes = 0;
            while chars[j] == '#' {
                hashes += 1;
                j += 1;
            }
            j += 1;
            loop {
                if chars[j] == '"' && (0..hashes).all(|h| chars.get(j + 1 + h) == Some(&'#')) {
                    i = j + 1 + hashes;
                    break;
                }
                j += 1;
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
            // `b"…"` and `br"…"` are strings too.
            if (word == "b" || word == "br") && matches!(chars.get(i), Some('"' | '#')) {
                if word == "b" && chars[i] == '"' {
                    i += 1;
                    while chars[i] != '"' {
                        i += if chars[i] == '\\' { 2 } else { 1 };
                    }
                    i += 1;
                    continue;
                }
            }
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

/// Whether `r` at `i` opens a raw string (`r"`, `r#"`), not an identifier ending in r.
fn raw_string_at(chars: &[char], i: usize) -> bool {
    let before_ok = i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
    let mut j = i + 1;
    while chars.get(j) == Some(&'#') {
        j += 1;
    }
    before_ok && chars.get(j) == Some(&'"')
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}
