//! The Rhai engine brrt runs scripts in: static modules, import resolution, limits, cancellation.

use crate::ops::builtin::{self, BuiltinFile};
use crate::script::api_doc::{FnDoc, ModuleBuilder};
use crate::script::context::ScriptContext;
use crate::script::convert::{runtime_error, script_error, RhaiResult};
use crate::script::modules;
use crate::script::plugin_module;
use rhai::module_resolvers::ModuleResolver;
use rhai::{Engine, EvalAltResult, Module, Position, Scope, Shared};
use std::path::{Path, PathBuf};
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

/// The `brrt run` flag that raises each limit, for error messages.
pub fn limit_flag(what: &str) -> Option<&'static str> {
    Some(match what {
        "string" => "--max-string-size",
        "array" => "--max-array-size",
        "map" => "--max-map-size",
        _ => return None,
    })
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
        let mut builder = ModuleBuilder::new(name, &mut docs);
        register(&mut builder, ctx);
        engine.register_static_module(name, builder.build().into());
    }

    let mut globals = ModuleBuilder::new("", &mut docs);
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

    engine.set_max_operations(limits.operations);
    engine.set_max_string_size(limits.string_size);
    engine.set_max_array_size(limits.array_size);
    engine.set_max_map_size(limits.map_size);
    engine.set_max_call_levels(limits.call_depth);
    // Debug builds default to half these depths, which real flows (a map literal inside a
    // function inside a loop) exceed; these still stop runaway nesting long before the stack.
    engine.set_max_expr_depths(128, 64);
    let cancel = ctx.cancel.clone();
    engine.on_progress(move |_| cancel.is_cancelled().then(|| "interrupted".into()));
    // Data goes to stdout, so `brrt run … | jq` and `… > file` work; logs stay on stderr. A
    // closed pipe (`| head`) must not stop a run halfway, so write errors are ignored.
    engine.on_print(|text| {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}").and_then(|()| out.flush());
    });
    engine.on_debug(|text, source, pos| match (source, pos.line()) {
        (Some(src), Some(line)) => tracing::debug!(target: "script", "{src}:{line}: {text}"),
        _ => tracing::debug!(target: "script", "{text}"),
    });
    engine.set_module_resolver(ImportResolver {
        ctx: ctx.clone(),
        importing: std::sync::Mutex::default(),
    });
    ScriptEngine { engine, docs }
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

/// Resolves `import "name"` from the importing script's folder, then `scripts/`, then
/// `plugins/`, then brrt's built-in modules.
struct ImportResolver {
    ctx: Arc<ScriptContext>,
    /// The modules being imported right now, outermost first: an import of one of them again
    /// is a cycle, which would otherwise recurse until the stack overflows.
    importing: std::sync::Mutex<Vec<PathBuf>>,
}

/// A module `import` found.
#[derive(Debug, Clone)]
pub(crate) enum Found {
    /// A script or WASM plugin on disk.
    File(PathBuf),
    /// A module built into brrt (`scripts/lib/topology.rhai`).
    BuiltIn(&'static BuiltinFile),
}

/// Where `import "name"` finds its module: `name.rhai`, or the WASM plugin `name.wasm`, in the
/// importing script's folder, then `scripts/`, then `plugins/` (the first folder holding
/// either wins; a script before a plugin in the same folder); and last among brrt's built-in
/// modules, so that a built-in flow imports the project's copy of a module when it has one. A
/// built-in importer's folder is the project's folder of the same name (`scripts/` for
/// `<built-in>/scripts/dev-up.rhai`). A name with an extension is looked for as it is. A
/// script never finds itself, so `scripts/policy.rhai` can import the plugin `policy`.
pub(crate) fn find_import(
    ctx: &ScriptContext,
    source: Option<&str>,
    path: &str,
) -> Result<Found, String> {
    let has_extension = Path::new(path).extension().is_some();
    let files = if has_extension {
        vec![path.to_string()]
    } else {
        vec![format!("{path}.rhai"), format!("{path}.wasm")]
    };
    let built_in_importer = source.and_then(builtin::from_shown);
    let importer = match built_in_importer {
        Some(_) => None,
        None => source.map(|src| ctx.resolve(src)),
    };
    let mut dirs = Vec::new();
    match (
        built_in_importer,
        importer.as_deref().and_then(Path::parent),
    ) {
        (Some(b), _) => dirs.push(ctx.project_dir.join(b.dir())),
        (None, Some(dir)) => dirs.push(dir.to_path_buf()),
        (None, None) => {}
    }
    dirs.push(ctx.project_dir.join("scripts"));
    dirs.push(ctx.project_dir.join("plugins"));
    let is_importer = |p: &Path| {
        importer.as_deref().is_some_and(|i| {
            i == p || std::fs::canonicalize(i).ok() == std::fs::canonicalize(p).ok()
        })
    };
    let found = dirs
        .iter()
        .flat_map(|d| files.iter().map(move |f| d.join(f)))
        .find(|p| p.is_file() && !is_importer(p));
    if let Some(found) = found {
        return Ok(Found::File(found));
    }
    // Built-in modules: beside a built-in importer (or the built-in counterpart of a local
    // copy's folder), then in the built-in scripts/.
    let importer_dir = match (built_in_importer, importer.as_deref()) {
        (Some(b), _) => Some(b.dir().to_string()),
        (None, Some(i)) => i
            .parent()
            .and_then(|d| d.strip_prefix(&ctx.project_dir).ok())
            .filter(|d| d.starts_with(builtin::FLOWS_DIR))
            .map(|d| d.to_string_lossy().replace('\\', "/")),
        (None, None) => None,
    };
    let built_in = importer_dir
        .into_iter()
        .chain(std::iter::once(builtin::FLOWS_DIR.to_string()))
        .map(|dir| format!("{dir}/{}", files[0]))
        .filter_map(|p| builtin::file(&p))
        .find(|f| built_in_importer != Some(*f));
    if let Some(found) = built_in {
        return Ok(Found::BuiltIn(found));
    }
    let looked: Vec<String> = dirs
        .iter()
        .map(|d| ctx.display_path(&d.join(&files[0])))
        .collect();
    let mut message = format!(
        "module `{path}` not found; looked for {}",
        looked.join(", ")
    );
    if !has_extension {
        message.push_str(&format!(
            ", and for a plugin {path}.wasm in the same folders"
        ));
        let example = ctx.project_dir.join("plugins/examples").join(path);
        if example.join("Cargo.toml").is_file() {
            message.push_str(&format!(
                " ({} is that plugin's source: build it with `just plugin-build {path}`)",
                ctx.display_path(&example)
            ));
        }
    }
    message.push_str("; brrt has no built-in module of that name either");
    Err(message)
}

impl ImportResolver {
    /// Notes that `module` is being imported, until the guard drops; an import cycle is an error
    /// naming the chain.
    fn enter(&self, module: &Path, pos: Position) -> Result<ImportGuard<'_>, Box<EvalAltResult>> {
        let mut stack = self
            .importing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(at) = stack.iter().position(|m| m == module) {
            let chain: Vec<String> = stack[at..]
                .iter()
                .chain(std::iter::once(&module.to_path_buf()))
                .map(|m| self.ctx.display_path(m))
                .collect();
            return Err(EvalAltResult::ErrorRuntime(
                format!(
                    "import cycle: {}; a module cannot import one that imports it back (move what \
                     both need into a third module)",
                    chain.join(" → ")
                )
                .into(),
                pos,
            )
            .into());
        }
        stack.push(module.to_path_buf());
        Ok(ImportGuard(self))
    }
}

/// Pops the module [`ImportResolver::enter`] pushed.
struct ImportGuard<'a>(&'a ImportResolver);

impl Drop for ImportGuard<'_> {
    fn drop(&mut self) {
        self.0
            .importing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop();
    }
}

impl ModuleResolver for ImportResolver {
    fn resolve(
        &self,
        engine: &Engine,
        source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<Shared<Module>, Box<EvalAltResult>> {
        let found = find_import(&self.ctx, source, path)
            .map_err(|message| EvalAltResult::ErrorRuntime(message.into(), pos))?;
        let (shown, key, text) = match found {
            Found::File(found) => {
                self.ctx.track(&found);
                if plugin_module::is_plugin(&found) {
                    return plugin_module::import(&self.ctx, &found, pos);
                }
                let shown = self.ctx.display_path(&found);
                let real = std::fs::canonicalize(&found).unwrap_or_else(|_| found.clone());
                let text = std::fs::read_to_string(&found).map_err(|e| {
                    Box::new(EvalAltResult::ErrorRuntime(
                        format!("cannot read module {shown}: {e}").into(),
                        pos,
                    ))
                })?;
                (shown, real, text)
            }
            // Embedded, so never watched: it cannot change while brrt runs.
            Found::BuiltIn(file) => (file.shown(), PathBuf::from(file.shown()), file.text.into()),
        };
        let _importing = self.enter(&key, pos)?;
        self.ctx.remember_source(&shown, &text);
        let mut ast = engine.compile(&text).map_err(|e| {
            Box::new(EvalAltResult::ErrorInModule(
                shown.clone(),
                Box::new(e.into()),
                pos,
            ))
        })?;
        ast.set_source(shown.as_str());
        let module = Module::eval_ast_as_new(Scope::new(), &ast, engine)
            .map_err(|e| Box::new(EvalAltResult::ErrorInModule(shown.clone(), e, pos)))?;
        Ok(module.into())
    }
}
