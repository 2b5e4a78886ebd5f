//! The static modules scripts call: one file per ops area.

pub mod config;
pub mod containerd;
pub mod docker;
pub mod env;
pub mod flow;
pub mod fs;
pub mod k8s;
pub mod kind;
pub mod log;
pub mod registry;
pub mod text;
