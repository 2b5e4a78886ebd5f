//! The Rhai side: the engine, its static modules, diagnostics, and running or checking scripts.
//!
//! Rhai types stop here: native functions convert to and from plain ops types.

pub mod api_doc;
mod check;
pub mod context;
mod convert;
pub mod diagnostic;
pub mod engine;
mod modules;
pub mod plugin_module;
mod plugin_value;
pub mod runner;

pub use context::{Cancel, Change, RunSettings, ScriptContext};
pub use runner::{Failure, RunRequest};
