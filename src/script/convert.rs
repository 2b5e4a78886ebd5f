//! Moving values and errors across the Rust/Rhai boundary.

use crate::ops;
use crate::script::context::ScriptContext;
use rhai::{Dynamic, EvalAltResult, Position};
use serde::de::DeserializeOwned;
use serde::Serialize;

pub type RhaiResult<T> = Result<T, Box<EvalAltResult>>;

/// An ops error as a script error. Rhai fills in the call position.
pub fn script_error(ctx: &ScriptContext, err: ops::Error) -> Box<EvalAltResult> {
    match err {
        ops::Error::Interrupted => {
            EvalAltResult::ErrorTerminated("interrupted".into(), Position::NONE).into()
        }
        other => {
            if matches!(other, ops::Error::DockerUnavailable { .. }) {
                // The context remembers it, so the CLI prints one line instead of a diagnostic,
                // and `--watch` waits for the engine instead of the next save.
                ctx.note_docker_unavailable(other.to_string());
            }
            runtime_error(other)
        }
    }
}

pub fn runtime_error(msg: impl ToString) -> Box<EvalAltResult> {
    EvalAltResult::ErrorRuntime(msg.to_string().into(), Position::NONE).into()
}

pub fn to_dynamic<T: Serialize>(value: &T) -> RhaiResult<Dynamic> {
    rhai::serde::to_dynamic(value)
}

/// Reads a script value into a typed spec, naming the function in the error.
pub fn from_dynamic<T: DeserializeOwned>(function: &str, value: &Dynamic) -> RhaiResult<T> {
    rhai::serde::from_dynamic(value).map_err(|e| {
        let msg = match *e {
            EvalAltResult::ErrorRuntime(ref d, _) => d.to_string(),
            ref other => other.to_string(),
        };
        runtime_error(format!("{function}: bad argument: {msg}"))
    })
}

/// A Rhai array of strings, or an error naming the function.
pub fn string_list(function: &str, value: &rhai::Array) -> RhaiResult<Vec<String>> {
    value
        .iter()
        .map(|v| {
            v.clone().into_string().map_err(|t| {
                runtime_error(format!(
                    "{function}: expected an array of strings, found a {t}"
                ))
            })
        })
        .collect()
}

/// Runs an engine operation from a native function: connects on first use, waits for the
/// result (or a cancel), and turns an ops error into a script error.
pub fn with_docker<T, F, Fut>(ctx: &ScriptContext, f: F) -> RhaiResult<T>
where
    F: FnOnce(ops::docker::Engine) -> Fut,
    Fut: std::future::Future<Output = ops::Result<T>>,
{
    let d = ctx.docker().map_err(|e| script_error(ctx, e))?;
    ctx.block_on(f(d)).map_err(|e| script_error(ctx, e))
}
