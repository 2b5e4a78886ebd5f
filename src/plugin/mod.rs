//! WASM plugins: sandboxed team logic that a script imports like a module.
//!
//! A plugin is a `.wasm` file run by the `wasmi` interpreter. It gets no WASI and no host
//! function but `brrt.log`, a fuel budget per call and a memory cap, and it exchanges JSON with
//! the host through its own memory (ABI v1, see `plugins/README.md`). So it can compute, and
//! cannot touch Docker, files or the network.
//!
//! Plain Rust and `serde_json` values only: turning a plugin into a Rhai module is the script
//! layer's job (`script::plugin_module`).

mod abi;
mod error;
mod host;
mod limits;
mod manifest;

pub use abi::API_VERSION;
pub use error::Error;
pub use host::Plugin;
pub use limits::{Limits, DEFAULT_FUEL, DEFAULT_MEMORY_MIB};
pub use manifest::{Function, Manifest, ParamKind};

pub type Result<T, E = Error> = std::result::Result<T, E>;
