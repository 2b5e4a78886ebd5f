//! Loading what `import "name"` names into the engine: a script compiled and evaluated as a
//! module, or a WASM plugin made one; and an import cycle stopped with the chain that makes it.
//! Where the module is found is `sources::imports`' job.

use crate::script::context::ScriptContext;
use crate::script::plugin_module;
use crate::script::sources::imports::{self, Found};
use rhai::module_resolvers::ModuleResolver;
use rhai::{Engine, EvalAltResult, Module, Position, Scope, Shared};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Resolves `import "name"` from the importing script's folder, then `scripts/`, then
/// `plugins/`, then brrt's built-in modules.
pub(crate) struct ImportResolver {
    ctx: Arc<ScriptContext>,
    /// The modules being imported right now, outermost first: an import of one of them again
    /// is a cycle, which would otherwise recurse until the stack overflows.
    importing: std::sync::Mutex<Vec<PathBuf>>,
}

impl ImportResolver {
    pub(crate) fn new(ctx: Arc<ScriptContext>) -> Self {
        ImportResolver {
            ctx,
            importing: std::sync::Mutex::default(),
        }
    }

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
        let found = imports::find_import(&self.ctx, source, path)
            .map_err(|message| EvalAltResult::ErrorRuntime(message.into(), pos))?;
        let (shown, key, text) = match found {
            Found::File(found) => {
                self.ctx.track(&found);
                if imports::is_plugin(&found) {
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
