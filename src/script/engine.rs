//! The Rhai engine brrt runs scripts in: its static modules, limits, cancellation and output.
//! Imports go through [`crate::script::resolver`].

use crate::script::api_doc::{FnDoc, ModuleBuilder};
use crate::script::context::ScriptContext;
use crate::script::convert::{runtime_error, script_error, RhaiResult};
use crate::script::modules;
use crate::script::resolver::ImportResolver;
use rhai::Engine;
use std::sync::Arc;

/// What one run of a script may use before it is stopped: a runaway loop or a value that keeps
/// growing ends with an error naming the limit, at a small footprint, instead of eating the
/// machine. The defaults are far beyond what a real flow needs; `brrt run` can raise each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Operations (a runaway loop, not a real flow).
    pub operations: u64,
    /// Bytes in one string.
    pub string_size: usize,
    /// Items in one array.
    pub array_size: usize,
    /// Entries in one map.
    pub map_size: usize,
    /// Nested function calls.
    pub call_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            operations: 50_000_000,
            string_size: 16 << 20,
            array_size: 1_000_000,
            map_size: 100_000,
            call_depth: 64,
        }
    }
}

/// Registers one static module's functions.
type Register = fn(&mut ModuleBuilder<'_>, &Arc<ScriptContext>);

/// An engine and the docs of everything registered in it.
pub struct ScriptEngine {
    pub engine: Engine,
    pub docs: Vec<FnDoc>,
}

/// Builds the engine for one run. Modules are re-read on every import: nothing is cached
/// between runs, so `--watch` always sees the files as they are now.
pub fn build(ctx: &Arc<ScriptContext>, limits: &Limits) -> ScriptEngine {
    let mut engine = Engine::new();
    let mut docs = Vec::new();
    register_static_modules(&mut engine, &mut docs, ctx);
    register_globals(&mut engine, &mut docs, ctx);
    set_limits(&mut engine, limits);
    let cancel = ctx.cancel.clone();
    engine.on_progress(move |_| cancel.is_cancelled().then(|| "interrupted".into()));
    route_output(&mut engine);
    engine.set_module_resolver(ImportResolver::new(ctx.clone()));
    ScriptEngine { engine, docs }
}

/// `docker::`, `registry::` and the other modules, each under its name.
fn register_static_modules(engine: &mut Engine, docs: &mut Vec<FnDoc>, ctx: &Arc<ScriptContext>) {
    let static_modules: [(&str, Register); 10] = [
        ("docker", modules::docker::register),
        ("flow", modules::flow::register),
        ("registry", modules::registry::register),
        ("kind", modules::kind::register),
        ("containerd", modules::containerd::register),
        ("k8s", modules::k8s::register),
        ("config", modules::config::register),
        ("env", |m, _| modules::env::register(m)),
        ("fs", modules::fs::register),
        ("log", modules::log::register),
    ];
    for (name, register) in static_modules {
        let mut builder = ModuleBuilder::new(name, docs);
        register(&mut builder, ctx);
        engine.register_static_module(name, builder.build().into());
    }
}

/// The functions called without a module: text helpers, `watch` and `sleep`.
fn register_globals(engine: &mut Engine, docs: &mut Vec<FnDoc>, ctx: &Arc<ScriptContext>) {
    let mut globals = ModuleBuilder::new("", docs);
    modules::text::register(&mut globals);
    let c = ctx.clone();
    globals.func(
        "watch",
        &["path: String"],
        "()",
        "Adds a file to what `brrt run --watch` watches (scripts, imports and loaded configs are \
         watched already).",
        move |path: &str| {
            c.track(&c.resolve(path));
        },
    );
    let c = ctx.clone();
    globals.func(
        "sleep",
        &["seconds: float"],
        "()",
        "Waits `seconds` (a poll loop's pause); Ctrl-C and --watch restarts still stop the script \
         at once.",
        move |seconds: f64| sleep(&c, seconds),
    );
    let c = ctx.clone();
    globals.func(
        "sleep",
        &["seconds: int"],
        "()",
        "Waits whole `seconds`.",
        move |seconds: i64| sleep(&c, seconds as f64),
    );
    engine.register_global_module(globals.build().into());
}

fn set_limits(engine: &mut Engine, limits: &Limits) {
    engine.set_max_operations(limits.operations);
    engine.set_max_string_size(limits.string_size);
    engine.set_max_array_size(limits.array_size);
    engine.set_max_map_size(limits.map_size);
    engine.set_max_call_levels(limits.call_depth);
    // Debug builds default to half these depths, which real flows (a map literal inside a
    // function inside a loop) exceed; these still stop runaway nesting long before the stack.
    engine.set_max_expr_depths(128, 64);
}

/// Data goes to stdout, so `brrt run … | jq` and `… > file` work; logs stay on stderr. A
/// closed pipe (`| head`) must not stop a run halfway, so write errors are ignored.
fn route_output(engine: &mut Engine) {
    engine.on_print(|text| {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}").and_then(|()| out.flush());
    });
    engine.on_debug(|text, source, pos| match (source, pos.line()) {
        (Some(src), Some(line)) => tracing::debug!(target: "script", "{src}:{line}: {text}"),
        _ => tracing::debug!(target: "script", "{text}"),
    });
}

/// `sleep(seconds)`: a pause that a cancel cuts short.
fn sleep(ctx: &ScriptContext, seconds: f64) -> RhaiResult<()> {
    let pause = std::time::Duration::try_from_secs_f64(seconds.max(0.0))
        .map_err(|_| runtime_error(format!("sleep: {seconds} is not a number of seconds")))?;
    ctx.block_on(async move {
        tokio::time::sleep(pause).await;
        Ok(())
    })
    .map_err(|e| script_error(ctx, e))
}
