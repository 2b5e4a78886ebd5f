//! The Rhai side: finding a script's sources, building the engine, and running or checking
//! the script. Rhai types stop here: native functions convert to and from plain ops types.
//!
//! The files go one way, like a compiler's stages; none calls back into an earlier one:
//! - [`sources`]: where a flow or an import comes from (the project's files, brrt's built-ins).
//! - [`engine`] with `modules` (one per ops area), [`resolver`] (loading imports) and
//!   [`plugin_module`] (a WASM plugin as a module): the engine for one run, with its limits.
//! - [`runner`] and `check`: running a script, or compiling it and listing its problems.
//!
//! Below every stage, knowing none of them: [`diagnostic`] (errors for humans), [`context`]
//! (what one run shares), [`api_doc`] (registration with docs), `convert` and `plugin_value`.

pub mod api_doc;
mod check;
pub mod context;
mod convert;
pub mod diagnostic;
pub mod engine;
mod modules;
pub mod plugin_module;
mod plugin_value;
pub mod resolver;
pub mod runner;
pub mod sources;

pub use context::{Cancel, Change, RunSettings, ScriptContext};
pub use runner::{Failure, RunRequest};
