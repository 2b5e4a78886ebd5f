//! Operations: plain async Rust that changes the world, with no Rhai in it.
//!
//! Each area is one module. Every change is an *ensure*: compare, change only the difference, and
//! report what was done as an [`Action`].

pub mod brrt_config;
pub mod builtin;
mod change;
pub mod config_file;
pub mod digest;
pub mod docker;
pub(crate) mod error;

pub use change::{Action, Mode};
pub use error::{write_source_line, ConfigError, Error, Result};
pub mod containerd;
pub mod flows;
pub mod init;
pub mod k8s;
pub mod kind;
pub mod registry;
pub mod run_lock;
pub mod upstream;
