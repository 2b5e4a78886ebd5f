//! `config::` — TOML, YAML and JSON files as Rhai maps. Every file read is watched under `--watch`.

use crate::ops::config_file;
use crate::script::api_doc::ModuleBuilder;
use crate::script::context::ScriptContext;
use crate::script::convert::{runtime_error, to_dynamic, RhaiResult};
use rhai::Dynamic;
use std::sync::Arc;

pub fn register(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
    let c = ctx.clone();
    m.func(
        "load",
        &["path: String"],
        "Map",
        "Reads a .toml, .yaml/.yml or .json file into a map; a syntax error names the file, line and column.",
        move |path: &str| -> RhaiResult<Dynamic> {
            let full = c.resolve(path);
            c.track(&full);
            let value = config_file::load(&full).map_err(|mut e| {
                e.path = c.display_path(&full);
                runtime_error(e)
            })?;
            to_dynamic(&value)
        },
    );
    let c = ctx.clone();
    m.func(
        "exists",
        &["path: String"],
        "bool",
        "Whether a config file exists (it is watched either way, so creating it re-applies).",
        move |path: &str| -> bool {
            let full = c.resolve(path);
            c.track(&full);
            full.is_file()
        },
    );
}
