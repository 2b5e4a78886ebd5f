//! brrt: one small binary that runs editable Rhai flows over safe, idempotent operations.
//!
//! Layers: [`cli`] turns arguments into a request, [`script`] runs it in Rhai, [`ops`] does the
//! work; [`watch`] re-runs a flow when its files change. [`plugin`] runs WASM plugins beside
//! `ops`, for `script` to import. [`builtin`] holds the files shipped inside the binary, for
//! every layer that reads them. [`init`] is `brrt init`, a command of its own beside the
//! flows: it uses `ops`, and nothing in `ops` uses it.

pub mod builtin;
pub mod cli;
pub mod init;
pub(crate) mod logging;
pub mod ops;
pub mod plugin;
pub(crate) mod progress;
mod run;
pub mod script;
mod suggest;
pub mod watch;

pub use run::run;
