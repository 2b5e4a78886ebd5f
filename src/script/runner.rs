//! Running and checking one script file.

use crate::builtin;
use crate::plugin;
use crate::script::check::{imported_plugins, unknown_calls};
use crate::script::context::ScriptContext;
use crate::script::diagnostic::Diagnostic;
use crate::script::engine;
use crate::script::modules::flow;
use crate::script::sources::flows::{self, Located};
use rhai::{Array, Dynamic, EvalAltResult, Map};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What to run, as the CLI validated it.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// A flow's name (`dev-up`) or a script's path.
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

/// The flow `script` names, read: a name (`dev-up`) is the project's `scripts/dev-up.rhai`, else
/// the built-in flow; anything else is a path. Returns its name for diagnostics and its text.
fn read_script(ctx: &ScriptContext, script: &Path) -> Result<(String, String), Failure> {
    if !flows::is_name(script) {
        return read_file(ctx, &ctx.resolve(&script.to_string_lossy()));
    }
    let name = script.to_string_lossy();
    match flows::locate(&ctx.project_dir, &name) {
        Some(Located::Local(file)) => read_file(ctx, &file),
        Some(Located::BuiltIn(file)) => {
            // Embedded text cannot change; a local copy saved while `--watch` runs takes over.
            let local = flows::local_path(&ctx.project_dir, &name);
            if local.parent().is_some_and(Path::is_dir) {
                ctx.track(&local);
            }
            let shown = file.shown();
            ctx.remember_source(&shown, file.text);
            Ok((shown, file.text.to_string()))
        }
        None => Err(cannot_run(
            name.to_string(),
            flows::not_found(&ctx.project_dir, &name),
        )),
    }
}

/// The file a run of `script` reads, when it is a file (not a built-in flow), whether or not it
/// exists yet: what `--watch` watches before the first run.
pub fn script_file(project_dir: &Path, script: &Path) -> Option<PathBuf> {
    if !flows::is_name(script) {
        return Some(project_dir.join(script));
    }
    match flows::locate(project_dir, &script.to_string_lossy())? {
        Located::Local(file) => Some(file),
        Located::BuiltIn(_) => None,
    }
}

fn read_file(ctx: &ScriptContext, full: &Path) -> Result<(String, String), Failure> {
    ctx.track(full);
    let shown = ctx.display_path(full);
    let text = std::fs::read_to_string(full).map_err(|e| {
        let mut message = format!("cannot read script: {e}");
        // `brrt run scripts/dev-up.rhai` in a repository that uses the built-in flows.
        let stem = full.file_stem().map(|s| s.to_string_lossy().into_owned());
        if let Some(stem) = stem.filter(|s| !full.exists() && builtin::flow(s).is_some()) {
            message.push_str(&format!(
                "; `{stem}` is a built-in flow: run it by its name, `brrt run {stem}` (the \
                 project's scripts/{stem}.rhai when it has one, else brrt's own)"
            ));
        }
        cannot_run(shown.clone(), message)
    })?;
    ctx.remember_source(&shown, &text);
    Ok((shown, text))
}

fn cannot_run(file: String, message: String) -> Failure {
    Failure::Script(Box::new(Diagnostic {
        message,
        file,
        line: None,
        column: None,
        source_line: None,
        notes: Vec::new(),
    }))
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

    let args: Array = req.args.iter().map(|a| Dynamic::from(a.clone())).collect();
    let set: Map = req
        .set
        .iter()
        .map(|(k, v)| (k.as_str().into(), set_value(v)))
        .collect();
    let mut scope = flow::scope(args, set, ctx.mode.dry_run);

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
