//! A WASM plugin as a Rhai module: after `import "policy" as p;` each function of the plugin's
//! manifest is `p::function(args…)`. Also what `brrt api` lists of the plugins under `plugins/`.
//!
//! The plugin itself (`crate::plugin`) knows nothing of Rhai; this adapter converts the
//! arguments and the result, and turns a plugin's failure into a script error that a script
//! can `catch`.

use crate::plugin::{Function, ParamKind, Plugin};
use crate::script::context::ScriptContext;
use crate::script::plugin_value::{fits, from_json, kind_of, to_json};
use crate::script::sources::imports::is_plugin;
use rhai::{
    Dynamic, EvalAltResult, FuncRegistration, Module, NativeCallContext, Position, RhaiFunc, Shared,
};
use serde::Serialize;
use std::any::TypeId;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

/// The module `import` gives for the plugin at `path`.
pub fn import(
    ctx: &ScriptContext,
    path: &Path,
    pos: Position,
) -> Result<Shared<Module>, Box<EvalAltResult>> {
    let shown = ctx.display_path(path);
    let plugin = Plugin::open(path, &shown, ctx.plugin_limits())
        .map_err(|e| EvalAltResult::ErrorRuntime(e.to_string().into(), pos))?;
    Ok(module_of(plugin).into())
}

fn module_of(plugin: Plugin) -> Module {
    let functions = plugin.manifest().functions.clone();
    let plugin = Arc::new(Mutex::new(plugin));
    let mut module = Module::new();
    for function in functions {
        let name = function.name.clone();
        let mut info: Vec<String> = function.params.iter().map(|k| type_name(*k)).collect();
        info.push("Dynamic".to_string());
        let arg_types = vec![TypeId::of::<Dynamic>(); function.params.len()];
        let comments = [format!("/// {}", function.doc)];
        let plugin = plugin.clone();
        let func: Shared<_> = Shared::new(
            move |ctx: Option<NativeCallContext>, args: &mut [&mut Dynamic]| {
                let pos = ctx
                    .as_ref()
                    .map_or(Position::NONE, NativeCallContext::call_position);
                call(&plugin, &function, args)
                    .map_err(|message| Box::new(EvalAltResult::ErrorRuntime(message.into(), pos)))
            },
        );
        FuncRegistration::new(name)
            .with_params_info(info)
            .with_comments(comments)
            .set_into_module_raw(
                &mut module,
                arg_types,
                RhaiFunc::Pure {
                    func,
                    has_context: true,
                    is_pure: true,
                    // A plugin is not folded into a constant when a script is compiled.
                    is_volatile: true,
                },
            );
    }
    module.build_index();
    module
}

/// Converts the arguments, calls the plugin, and converts its result.
fn call(
    plugin: &Mutex<Plugin>,
    function: &Function,
    args: &mut [&mut Dynamic],
) -> Result<Dynamic, String> {
    let mut plugin = plugin.lock().unwrap_or_else(PoisonError::into_inner);
    let label = || format!("plugin `{}` function `{}`", plugin.name(), function.name);
    let mut json = Vec::with_capacity(args.len());
    for (n, (arg, kind)) in args.iter().zip(&function.params).enumerate() {
        let n = n + 1;
        if !fits(*kind, arg) {
            return Err(format!(
                "{}: argument {n} must be {}, not {}",
                label(),
                article(*kind),
                kind_of(arg)
            ));
        }
        json.push(
            to_json(arg)
                .map_err(|why| format!("{}: argument {n} cannot be passed: {why}", label()))?,
        );
    }
    plugin
        .call(&function.name, &json)
        .map(from_json)
        .map_err(|e| e.to_string())
}

fn article(kind: ParamKind) -> String {
    match kind {
        ParamKind::Int | ParamKind::Array | ParamKind::Any => format!("an {kind}"),
        _ => format!("a {kind}"),
    }
}

/// A parameter kind as `brrt api` shows types: the Rhai names the built-in modules use.
fn type_name(kind: ParamKind) -> String {
    match kind {
        ParamKind::String => "String",
        ParamKind::Int => "int",
        ParamKind::Float => "float",
        ParamKind::Bool => "bool",
        ParamKind::Array => "Array",
        ParamKind::Map => "Map",
        ParamKind::Any => "Dynamic",
    }
    .to_string()
}

/// One function of a plugin under `plugins/`, as `brrt api` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct PluginFnDoc {
    /// The name scripts import it by (the file's name): `policy`.
    pub module: String,
    pub name: String,
    pub params: Vec<String>,
    pub returns: String,
    pub doc: String,
    /// The plugin's file, `plugins/policy.wasm`.
    pub plugin: String,
}

impl PluginFnDoc {
    pub fn signature(&self) -> String {
        format!(
            "{}::{}({}) -> {}",
            self.module,
            self.name,
            self.params.join(", "),
            self.returns
        )
    }
}

/// The functions of every plugin directly under `plugins/`, and a message for each plugin
/// that does not load.
pub fn docs(ctx: &ScriptContext) -> (Vec<PluginFnDoc>, Vec<String>) {
    let dir = ctx.project_dir.join("plugins");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| is_plugin(p) && p.is_file())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let (mut docs, mut problems) = (Vec::new(), Vec::new());
    for path in files {
        let shown = ctx.display_path(&path);
        let module = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        match Plugin::open(&path, &shown, ctx.plugin_limits()) {
            Ok(plugin) => docs.extend(plugin.manifest().functions.iter().map(|f| PluginFnDoc {
                module: module.clone(),
                name: f.name.clone(),
                params: f.params.iter().map(|k| type_name(*k)).collect(),
                returns: "Dynamic".to_string(),
                doc: f.doc.clone(),
                plugin: shown.clone(),
            })),
            Err(e) => problems.push(e.to_string()),
        }
    }
    (docs, problems)
}
