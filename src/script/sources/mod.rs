//! The first stage of the script layer: where a script's sources come from. A flow by name is
//! the project's `scripts/NAME.rhai` or brrt's built-in ([`flows`]); `import "name"` finds a
//! script, a WASM plugin or a built-in module ([`imports`]). The later stages (building the
//! engine, running or checking) ask here and are never asked back.
//!
//! `flows` was in `ops` once; it changes nothing in the world and serves `brrt run`, `brrt flows`
//! and `flow::run`, so it lives with the other sources. The embedded files themselves are the
//! crate's [`crate::builtin`], which `brrt init` reads too.

pub mod flows;
pub mod imports;
