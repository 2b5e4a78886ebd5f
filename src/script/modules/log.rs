//! `log::` — messages through the same logger as brrt itself (`-v`, `-q`, `BRRT_LOG`).

use crate::script::api_doc::ModuleBuilder;
use crate::script::context::ScriptContext;
use std::sync::Arc;

pub fn register(m: &mut ModuleBuilder<'_>, ctx: &Arc<ScriptContext>) {
    m.func(
        "info",
        &["message: String"],
        "()",
        "Logs at info level (shown by default).",
        |msg: &str| {
            tracing::info!(target: "script", "{msg}");
        },
    );
    let c = ctx.clone();
    m.func(
        "warn",
        &["message: String"],
        "()",
        "Logs a warning. Under --watch, a warning the previous runs gave word for word is not \
         repeated while it stands: it is said again once a run goes without it (or with other \
         words).",
        move |msg: &str| c.warn(msg),
    );
    m.func(
        "error",
        &["message: String"],
        "()",
        "Logs an error (the script goes on; use `throw` to stop it).",
        |msg: &str| {
            tracing::error!(target: "script", "{msg}");
        },
    );
    m.func(
        "debug",
        &["message: String"],
        "()",
        "Logs at debug level (shown with -v).",
        |msg: &str| {
            tracing::debug!(target: "script", "{msg}");
        },
    );
}
