//! `brrt check`: compile a script without running it, and find calls to functions that no
//! module provides, before they fail halfway through a flow. The WASM plugins a script imports
//! are opened to learn their functions; a plugin that does not load is a problem too.

use crate::plugin::Plugin;
use crate::script::api_doc::FnDoc;
use crate::script::context::ScriptContext;
use crate::script::diagnostic::Diagnostic;
use crate::script::sources::imports::{find_import, is_plugin, Found};
use rhai::{ASTNode, Engine, Expr, FnCallExpr, Position, Stmt, AST};
use std::collections::{BTreeMap, BTreeSet};

/// Functions the language provides as keywords rather than registered functions.
const KEYWORD_FUNCTIONS: &[&str] = &[
    "print",
    "debug",
    "type_of",
    "Fn",
    "call",
    "curry",
    "is_def_var",
    "is_def_fn",
    "is_shared",
    "eval",
];

/// Every problem found in a compiled script. `plugins` are the WASM plugins it imports, by
/// alias, whose functions are known without running it.
pub fn unknown_calls(
    engine: &Engine,
    docs: &[FnDoc],
    plugins: &BTreeMap<String, ImportedPlugin>,
    ast: &AST,
    file: &str,
    sources: &BTreeMap<String, String>,
) -> Vec<Diagnostic> {
    let known = Known::of(engine, docs, ast);
    let (aliases, calls) = calls_in(ast);
    calls
        .iter()
        .filter(|call| {
            !call.is_operator
                && call
                    .name
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_alphabetic() || c == '_')
        })
        .filter_map(|call| {
            let message = known.problem(call, &aliases, plugins)?;
            Some(Diagnostic::at(message, file, call.pos, sources))
        })
        .collect()
}

/// The aliases a script imports modules as, and every function call in it.
fn calls_in(ast: &AST) -> (BTreeSet<String>, Vec<Call>) {
    let mut aliases = BTreeSet::new();
    let mut calls: Vec<Call> = Vec::new();
    ast.walk(&mut |path: &[ASTNode]| {
        match path.last() {
            Some(ASTNode::Stmt(Stmt::Import(x, _))) => {
                aliases.insert(x.1.name.to_string());
            }
            Some(ASTNode::Stmt(Stmt::FnCall(call, pos)))
            | Some(ASTNode::Expr(Expr::FnCall(call, pos))) => {
                calls.push(Call::of(call, *pos));
            }
            _ => {}
        }
        true
    });
    (aliases, calls)
}

/// The functions a script can call: those of each static module (name, arity), and those
/// called without a module (registered, keywords, and the script's own).
struct Known<'a> {
    modules: BTreeMap<String, BTreeSet<(&'a str, usize)>>,
    global: BTreeSet<String>,
}

impl<'a> Known<'a> {
    fn of(engine: &Engine, docs: &'a [FnDoc], ast: &AST) -> Self {
        let mut modules: BTreeMap<String, BTreeSet<(&str, usize)>> = BTreeMap::new();
        for d in docs.iter().filter(|d| !d.module.is_empty()) {
            modules
                .entry(d.module.clone())
                .or_default()
                .insert((d.name, d.params.len()));
        }
        let mut global: BTreeSet<String> = engine
            .gen_fn_signatures(true)
            .iter()
            .filter(|s| !s.contains("::"))
            .filter_map(|s| s.split('(').next())
            .map(str::to_string)
            .collect();
        global.extend(KEYWORD_FUNCTIONS.iter().map(|s| s.to_string()));
        global.extend(ast.iter_functions().map(|f| f.name.to_string()));
        Known { modules, global }
    }

    /// What is wrong with `call`, if anything.
    fn problem(
        &self,
        call: &Call,
        aliases: &BTreeSet<String>,
        plugins: &BTreeMap<String, ImportedPlugin>,
    ) -> Option<String> {
        let (name, arity) = (call.name.as_str(), call.arity);
        if call.namespace.is_empty() {
            return (!self.global.contains(name)).then(|| {
                let hint = suggest(name, self.global.iter().map(String::as_str));
                format!("no function `{name}`{hint}")
            });
        }
        let module = &call.namespace;
        if aliases.contains(&module[0]) {
            // An imported script module is checked when it runs; a plugin's functions are known.
            let (Some(plugin), [alias]) = (plugins.get(&module[0]), module.as_slice()) else {
                return None;
            };
            let fns = plugin.functions.iter().map(|(n, a)| (n.as_str(), *a));
            return missing(
                &format!("plugin `{}`", plugin.name),
                alias,
                name,
                arity,
                fns,
            );
        }
        let module = module.join("::");
        match self.modules.get(&module) {
            None => {
                let hint = suggest(&module, self.modules.keys().map(String::as_str));
                Some(format!("no module `{module}`{hint}"))
            }
            Some(fns) => {
                let owner = format!("module `{module}`");
                missing(&owner, &module, name, arity, fns.iter().copied())
            }
        }
    }
}

/// Why `qualified::name(…)` with `arity` arguments is not among `fns` (name, arity), if it is
/// not: no such function (with a suggestion), or another number of arguments.
fn missing<'a>(
    owner: &str,
    qualified: &str,
    name: &str,
    arity: usize,
    fns: impl Iterator<Item = (&'a str, usize)> + Clone,
) -> Option<String> {
    if fns.clone().any(|(n, a)| n == name && a == arity) {
        return None;
    }
    let arities: Vec<String> = fns
        .clone()
        .filter(|(n, _)| *n == name)
        .map(|(_, a)| a.to_string())
        .collect();
    Some(if arities.is_empty() {
        let hint = suggest(name, fns.map(|(n, _)| n));
        format!("no function `{name}` in {owner}{hint}")
    } else {
        format!(
            "`{qualified}::{name}` takes {} argument(s), not {arity}",
            arities.join(" or ")
        )
    })
}

/// A function call found in the AST.
struct Call {
    name: String,
    namespace: Vec<String>,
    arity: usize,
    is_operator: bool,
    pos: Position,
}

impl Call {
    fn of(call: &FnCallExpr, pos: Position) -> Self {
        Call {
            name: call.name.to_string(),
            namespace: call
                .namespace
                .path
                .iter()
                .map(|i| i.name.to_string())
                .collect(),
            arity: call.args.len(),
            is_operator: call.op_token.is_some(),
            pos,
        }
    }
}

/// ` (did you mean `x`?)` for the closest known name, if it is close.
fn suggest<'a>(name: &str, known: impl Iterator<Item = &'a str>) -> String {
    crate::suggest::closest(name, known)
        .map(|k| format!(" (did you mean `{k}`?)"))
        .unwrap_or_default()
}

/// What `brrt check` knows of a plugin a script imports: its functions and their arities.
#[derive(Debug, Clone)]
pub struct ImportedPlugin {
    pub name: String,
    pub functions: BTreeSet<(String, usize)>,
}

/// The plugins a script imports by a constant name, by alias, and a diagnostic for each that
/// is found but does not load. An import that is not found is left to the run, as for scripts.
pub fn imported_plugins(
    ctx: &ScriptContext,
    ast: &AST,
    file: &str,
    sources: &BTreeMap<String, String>,
) -> (BTreeMap<String, ImportedPlugin>, Vec<Diagnostic>) {
    let mut imports = Vec::new();
    ast.walk(&mut |path: &[ASTNode]| {
        if let Some(ASTNode::Stmt(Stmt::Import(x, pos))) = path.last() {
            if let Expr::StringConstant(name, _) = &x.0 {
                imports.push((name.to_string(), x.1.name.to_string(), *pos));
            }
        }
        true
    });
    let (mut plugins, mut problems) = (BTreeMap::new(), Vec::new());
    for (name, alias, pos) in imports {
        let Ok(Found::File(path)) = find_import(ctx, Some(file), &name) else {
            continue;
        };
        if !is_plugin(&path) {
            continue;
        }
        let shown = ctx.display_path(&path);
        match Plugin::open(&path, &shown, ctx.plugin_limits()) {
            Ok(plugin) => {
                let functions = plugin
                    .manifest()
                    .functions
                    .iter()
                    .map(|f| (f.name.clone(), f.params.len()))
                    .collect();
                plugins.insert(
                    alias,
                    ImportedPlugin {
                        name: plugin.name().to_string(),
                        functions,
                    },
                );
            }
            Err(e) => problems.push(Diagnostic::at(e.to_string(), file, pos, sources)),
        }
    }
    (plugins, problems)
}
