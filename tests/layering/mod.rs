//! The layout keeps a direction: the files of `src/` import each other without a circle, and
//! no lower layer reaches up (ops knows nothing of script, cli, run or watch; script nothing
//! of cli, run or watch). Read from the real source files, the way a newcomer would trace them:
//! every `use crate::…`, `super::…` and inline `crate::a::b` path is one arrow from a file to
//! the file that defines the module it names. A `pub use` is a facade, not an arrow: a path
//! through it is followed to the file that defines the item.

mod source;

use source::{Module, Parsed};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers whose files may take part in no circle at all (ops among them). Where a
/// module's `mod.rs` and its children would share something, it has a file of its own below
/// them (`registry/container.rs`, `brrt_config/checked.rs`, `kind/config/spec.rs`).
const NO_CIRCLE: &[&str] = &[
    "ops", "cli", "run", "watch", "script", "plugin", "init", "builtin",
];

/// Layers a file may not import from, by the first folder (or file) under `src/`.
const BELOW: &[(&str, &[&str])] = &[
    ("ops", &["script", "cli", "run", "watch", "init", "builtin"]),
    ("script", &["cli", "run", "watch", "init"]),
    ("plugin", &["script", "cli", "run", "watch", "init"]),
    ("init", &["script", "cli", "run", "watch"]),
    (
        "builtin",
        &["ops", "script", "cli", "run", "watch", "init", "plugin"],
    ),
];

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
