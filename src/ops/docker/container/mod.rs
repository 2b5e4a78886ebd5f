//! Containers: a wanted spec, and the ensure that makes the engine match it.
//!
//! - [`spec`]: what a flow wants, checked and hashed
//! - [`ports`]: published ports, and who holds a wanted one
//! - [`inspect`]: reading one container, or all that carry some labels
//! - [`create`]: create and start, for [`ensure`] and [`switch`]
//! - [`ensure`]: create, start or re-create
//! - [`switch`]: re-create without losing a working container, and finish a switch a killed run
//!   left half done
//! - [`ready`]: when a started container counts as up
//! - [`image`]: present or pulled before anything changes
//! - [`remove`], [`logs`]

mod create;
mod ensure;
mod image;
mod inspect;
mod logs;
mod ports;
mod ready;
mod remove;
mod spec;
mod switch;

pub use create::start as start_container;
pub use ensure::{
    current_container, ensure_container, ensure_container_ready, is_current, ContainerOutcome,
};
pub use image::{ensure_image, image_exists};
pub(crate) use inspect::is_not_found;
pub use inspect::{containers_named, inspect_container, list_containers, ContainerState};
pub use logs::{follow, logs};
pub use ready::Ready;
pub use remove::{remove_container, remove_keeping_volumes, stop as stop_container};
pub use spec::ContainerSpec;
pub use switch::{
    aside_name, finish_switch, rename as rename_container, switch_guard, switches_settled,
    FinishedSwitch, ASIDE,
};

/// Label holding the hash of the spec a container was created from.
pub const SPEC_HASH_LABEL: &str = "dev.brrt.spec-hash";
/// Label marking containers (and volumes) that brrt created and may re-create or remove.
pub const MANAGED_LABEL: &str = "dev.brrt.managed";
