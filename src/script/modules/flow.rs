//! `flow::` — one flow running another by name (`migrate` runs `dev-up`), so that it runs the
//! project's copy when there is one, else the built-in, as `brrt run NAME` would.

use crate::script::api_doc::ModuleBuilder;
use crate::script::context::ScriptContext;
use crate::script::convert::{runtime_error, RhaiResult};
use crate::script::sources::flows::{self, Located};
use rhai::{Array, EvalAltResult, Map, NativeCallContext, Scope};
use std::sync::Arc;

/// The constants every flow sees: `ARGS`, `SET` and `DRY_RUN`.
pub(crate) fn scope(args: Array, set: Map, dry_run: bool) -> Scope<'static> {
    let mut scope = Scope::new();
    scope.push_constant("ARGS", args);
    scope.push_constant("SET", set);
    scope.push_constant("DRY_RUN", dry_run);
    scope
}

pub fn register(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
    let c = ctx.clone();
    m.func(
        "run",
        &["name: String", "set: Map"],
        "()",
        "Runs flow `name` within this run: the project's scripts/<name>.rhai, else the built-in. \
         It sees `set` as SET and no ARGS, and shares this run's --dry-run, config lock and report \
         of changes; its error is this call's.",
        move |call: NativeCallContext, name: &str, set: Map| -> RhaiResult<()> {
            let pos = call.call_position();
            let (shown, text) = match flows::locate(&c.project_dir, name) {
                Some(Located::Local(file)) => {
                    c.track(&file);
                    let text = std::fs::read_to_string(&file).map_err(|e| {
                        runtime_error(format!(
                            "flow::run: cannot read {}: {e}",
                            c.display_path(&file)
                        ))
                    })?;
                    (c.display_path(&file), text)
                }
                Some(Located::BuiltIn(file)) => (file.shown(), file.text.to_string()),
                None => {
                    return Err(runtime_error(format!(
                        "flow::run: {}",
                        flows::not_found(&c.project_dir, name)
                    )))
                }
            };
            c.remember_source(&shown, &text);
            let in_flow = |err: Box<EvalAltResult>| {
                Box::new(EvalAltResult::ErrorInModule(shown.clone(), err, pos))
            };
            let engine = call.engine();
            let mut ast = engine
                .compile(&text)
                .map_err(|e| in_flow(Box::new(e.into())))?;
            ast.set_source(shown.as_str());
            let mut scope = scope(Array::new(), set, c.mode.dry_run);
            engine.run_ast_with_scope(&mut scope, &ast).map_err(in_flow)
        },
    );
}
