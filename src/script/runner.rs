//! Running and checking one script file.

use crate::plugin;
use crate::script::check::unknown_calls;
use crate::script::context::ScriptContext;
use crate::script::diagnostic::Diagnostic;
use crate::script::engine;
use crate::script::plugin_module::imported_plugins;
use rhai::{Array, Dynamic, EvalAltResult, Map, Scope};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What to run, as the CLI validated it.
#[derive(Debug, Clone)]
pub struct RunRequest {
    pub script: PathBuf,
    /// Trailing arguments, seen by the script as `ARGS`.
    pub args: Vec<String>,
    /// `--set KEY=VALUE` pairs, seen by the script as the map `SET`.
    pub set: Vec<(String, String)>,
    pub limits: engine::Limits,
    /// Fuel and memory of the WASM plugins the script imports.
    pub plugin_limits: plugin::Limits,
}

/// Why a run did not finish.
#[derive(Debug)]
pub enum Failure {
    /// A syntax or runtime error in a script, rendered with its place.
    Script(Box<Diagnostic>),
    /// Docker could not be reached: one line saying where and how to start it.
    DockerUnavailable(String),
    /// Stopped by Ctrl-C, SIGTERM or a watch restart.
    Interrupted,
}

/// A `--set` value as a script sees it: `true`/`false` are booleans, whole numbers are
/// integers, anything else is a string.
pub fn set_value(text: &str) -> Dynamic {
    match text {
        "true" => true.into(),
        "false" => false.into(),
        _ => text
            .parse::<i64>()
            .map(Dynamic::from)
            .unwrap_or_else(|_| text.into()),
    }
}

fn read_script(ctx: &ScriptContext, path: &Path) -> Result<(String, String), Failure> {
    let full = ctx.resolve(&path.to_string_lossy());
    ctx.track(&full);
    let shown = ctx.display_path(&full);
    let text = std::fs::read_to_string(&full).map_err(|e| {
        Failure::Script(Box::new(Diagnostic {
            message: format!("cannot read script: {e}"),
            file: shown.clone(),
            line: None,
            column: None,
            source_line: None,
            notes: Vec::new(),
        }))
    })?;
    ctx.remember_source(&shown, &text);
    Ok((shown, text))
}

/// Compiles and runs a script to the end.
pub fn run(ctx: &Arc<ScriptContext>, req: &RunRequest) -> Result<(), Failure> {
    let (shown, text) = read_script(ctx, &req.script)?;
    ctx.set_plugin_limits(req.plugin_limits);
    let built = engine::build(ctx, &req.limits);
    let mut ast = built.engine.compile(&text).map_err(|e| {
        Failure::Script(Box::new(Diagnostic::from_parse(&e, &shown, &ctx.sources())))
    })?;
    ast.set_source(shown.as_str());

    let mut scope = Scope::new();
    let args: Array = req.args.iter().map(|a| Dynamic::from(a.clone())).collect();
    let set: Map = req
        .set
        .iter()
        .map(|(k, v)| (k.as_str().into(), set_value(v)))
        .collect();
    scope.push_constant("ARGS", args);
    scope.push_constant("SET", set);
    scope.push_constant("DRY_RUN", ctx.mode.dry_run);

    built
        .engine
        .run_ast_with_scope(&mut scope, &ast)
        .map_err(|err| {
            if let Some(line) = ctx.docker_unavailable() {
                return Failure::DockerUnavailable(line);
            }
            if is_interrupted(&err) {
                return Failure::Interrupted;
            }
            Failure::Script(Box::new(Diagnostic::from_eval(
                &err,
                &shown,
                &ctx.sources(),
            )))
        })
}

fn is_interrupted(err: &EvalAltResult) -> bool {
    match err {
        EvalAltResult::ErrorTerminated(..) => true,
        EvalAltResult::ErrorInModule(_, inner, _)
        | EvalAltResult::ErrorInFunctionCall(_, _, inner, _) => is_interrupted(inner),
        _ => false,
    }
}

/// Compiles a script without running it and lists every problem found.
pub fn check(ctx: &Arc<ScriptContext>, script: &Path) -> Vec<Diagnostic> {
    let (shown, text) = match read_script(ctx, script) {
        Ok(x) => x,
        Err(Failure::Script(d)) => return vec![*d],
        Err(_) => return Vec::new(),
    };
    let built = engine::build(ctx, &engine::Limits::default());
    match built.engine.compile(&text) {
        Err(e) => vec![Diagnostic::from_parse(&e, &shown, &ctx.sources())],
        Ok(ast) => {
            let sources = ctx.sources();
            let (plugins, mut found) = imported_plugins(ctx, &ast, &shown, &sources);
            found.extend(unknown_calls(
                &built.engine,
                &built.docs,
                &plugins,
                &ast,
                &shown,
                &sources,
            ));
            found
        }
    }
}
