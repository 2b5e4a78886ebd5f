//! `config::` — TOML, YAML and JSON files as Rhai maps, and brrt.toml checked against its
//! schema. Every file read is watched under `--watch`.

use crate::ops::{brrt_config, config_file};
use crate::script::api_doc::ModuleBuilder;
use crate::script::context::ScriptContext;
use crate::script::convert::{runtime_error, script_error, to_dynamic, RhaiResult};
use rhai::Dynamic;
use rhai::Map;
use std::sync::Arc;

pub fn register(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
    load(m, ctx);
    exists(m, ctx);
}

/// Reading config files, and a brrt config checked against its schema.
fn load(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
    let c = ctx.clone();
    m.func(
        "load",
        &["path: String"],
        "Map",
        "Reads a .toml, .yaml/.yml or .json file into a map; a syntax error names the file, line \
         and column. It may be anywhere on disk.",
        move |path: &str| -> RhaiResult<Dynamic> {
            let full = c.resolve(path);
            c.track(&full);
            let value = config_file::load(&full, c.patience()).map_err(|mut e| {
                e.path = c.display_path(&full);
                runtime_error(e)
            })?;
            to_dynamic(&value)
        },
    );
    let c = ctx.clone();
    m.func(
        "brrt",
        &["path: String"],
        "Map",
        "Reads a brrt config (brrt.toml) and checks it whole against brrt's schema: an unknown \
         key, a wrong type, a bad name or upstream, or an empty file is an error naming file, line \
         and column. Returns #{path, file (absolute), cluster, registry, cache, team} with \
         defaults filled in \
         (cache.team_caches is [cache.shared]: `shared` is a word Rhai reserves); [team] passes \
         through unchecked. Takes the run locks for the containers it names (its push registry, \
         the set of caches it shares, its cluster's nodes) on this engine, so two runs never \
         change them at once, whatever config each reads.",
        move |path: &str| -> RhaiResult<Dynamic> { brrt_config(&c, path, true) },
    );
    let c = ctx.clone();
    m.func(
        "brrt",
        &["path: String", "options: Map"],
        "Map",
        "config::brrt(path), where options.lock = false skips the run lock: for flows that only \
         look (cache ls, stats, logs), so they neither wait for a dev-up nor hold one up.",
        move |path: &str, options: Map| -> RhaiResult<Dynamic> {
            let take_lock = match options.get("lock") {
                None => true,
                Some(v) => v.as_bool().map_err(|_| {
                    runtime_error("config::brrt: options.lock must be true or false")
                })?,
            };
            brrt_config(&c, path, take_lock)
        },
    );
}

/// Whether a config file exists.
fn exists(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
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

/// `config::brrt`: the checked config, after taking the run lock when `take_lock`.
fn brrt_config(c: &ScriptContext, path: &str, take_lock: bool) -> RhaiResult<Dynamic> {
    let full = c.resolve(path);
    c.track(&full);
    let shown = c.display_path(&full);
    if !full.is_file() {
        return Err(runtime_error(format!(
            "no config at {shown}: `brrt init` writes one (see the README), or pass --set config=PATH"
        )));
    }
    let text = config_file::read_settled(&full, c.patience())
        .map_err(|e| runtime_error(format!("{shown}: cannot read: {e}")))?;
    let mut config = brrt_config::parse(&shown, &text).map_err(runtime_error)?;
    config.file = std::fs::canonicalize(&full)
        .unwrap_or(full.clone())
        .display()
        .to_string();
    if take_lock {
        c.lock_config(
            &full,
            &config.registry.name,
            &config.cache.name,
            &config.cluster.name,
        )
        .map_err(|e| script_error(c, e))?;
    }
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    to_dynamic(&config)
}
