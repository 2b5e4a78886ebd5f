//! Containers: a wanted spec, and the ensure that makes the engine match it.
//!
//! - [`spec`]: what a flow wants, checked and hashed
//! - [`ports`]: published ports, and who holds a wanted one
//! - [`inspect`]: reading one container, or all that carry some labels
//! - [`ensure`]: create, start or re-create, never losing a working container
//! - [`image`]: present or pulled before anything changes
//! - [`remove`], [`logs`]

mod ensure;
mod image;
mod inspect;
mod logs;
mod ports;
mod remove;
mod spec;

pub use ensure::{
    aside_name, current_container, ensure_container, ensure_container_ready, finish_switch,
    is_current, rename as rename_container, start as start_container, switch_guard,
    switches_settled, ContainerOutcome, FinishedSwitch, Ready, ASIDE,
};
pub use image::{ensure_image, image_exists};
pub(crate) use inspect::is_not_found;
pub use inspect::{containers_named, inspect_container, list_containers, ContainerState};
pub use logs::{follow, logs};
pub use remove::{remove_container, remove_keeping_volumes, stop as stop_container};
pub use spec::ContainerSpec;

/// Label holding the hash of the spec a container was created from.
pub const SPEC_HASH_LABEL: &str = "dev.brrt.spec-hash";
/// Label marking containers (and volumes) that brrt created and may re-create or remove.
pub const MANAGED_LABEL: &str = "dev.brrt.managed";
