//! `log::` — messages through the same logger as brrt itself (`-v`, `-q`, `BRRT_LOG`).

use crate::script::api_doc::ModuleBuilder;

pub fn register(m: &mut ModuleBuilder<'_>) {
    m.func(
        "info",
        &["message: String"],
        "()",
        "Logs at info level (shown by default).",
        |msg: &str| {
            tracing::info!(target: "script", "{msg}");
        },
    );
    m.func(
        "warn",
        &["message: String"],
        "()",
        "Logs a warning.",
        |msg: &str| {
            tracing::warn!(target: "script", "{msg}");
        },
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
