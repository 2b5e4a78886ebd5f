//! Operations: plain async Rust that changes the world, with no Rhai in it.
//!
//! Each area is one module. Every change is an *ensure*: compare, change only the difference, and
//! report what was done as an [`Action`].

pub mod brrt_config;
mod change;
pub mod config_file;
pub mod digest;
pub mod docker;
pub(crate) mod error;

pub use change::{Action, Mode};
pub use error::{write_source_line, ConfigError, Error, Result};
pub mod containerd;
pub mod http_client;
pub mod image_refs;
pub mod k8s;
pub mod kind;
pub mod loopback;
pub mod private_dir;
pub mod registry;
pub mod run_lock;
pub mod timestamp;
pub mod upstream;
pub mod warm;

/// Bytes as people read them: `137 B`, `20.0 MiB`.
pub fn human_bytes(bytes: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut size = bytes as f64;
    let mut i = 0;
    while size >= 1024.0 && i < units.len() - 1 {
        size /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{bytes} B")
    } else {
        format!("{size:.1} {}", units[i])
    }
}
