//! Migration from a single pull-through registry brrt did not create (the `kind-registry` in
//! proxy mode that teams set up by hand) to brrt's topology, keeping what it cached.
//!
//! Each step is safe on its own, whatever calls it: none touches a registry brrt created, or
//! one that is not in proxy mode (it may hold pushed images that exist nowhere else), and none
//! copies into a volume brrt did not create. The data is copied, never moved: through the
//! engine's archive API, from the old container's `/var/lib/registry` (a named or anonymous
//! volume, a bind mount or its own filesystem) into a container that is created on the cache's
//! volume and never started, so no shell is needed in any image. A copy that fails, or that the
//! user interrupts, leaves the old registry as it was, running again if it ran.
//!
//! The old container goes only after the cache's volume is checked against the old registry's
//! own tags, manifests and blobs, served by a throwaway registry that reads the volume offline
//! (read-only, no upstream): a blob the copy missed cannot be fetched from the upstream and
//! pass. Every figure is counted from the old registry's storage, never estimated.
//!
//! The copy ([`copy_storage`]) and the check ([`verify_storage`]) are also how a config's own
//! caches from before caches were shared are carried into the shared ones (`carry_over`).
//!
//! - [`legacy`]: the old registry as found, and the refusal of any other
//! - [`stored`]: what a registry's storage holds, read from its link files
//! - [`copy`]: its storage into a cache's volume, undone when it fails
//! - [`verify`]: the cache's volume, served offline, against what the old one held
//! - [`aside`]: the old registry's name: aside, back, or removed once verified
//! - [`credentials`]: its upstream credentials, handed to brrt's cache

mod aside;
mod copy;
mod credentials;
mod legacy;
mod stored;
mod verify;

pub use aside::{put_back, remove_aside, set_aside, AsideOutcome, RemovedLegacy};
pub(super) use copy::{check_cache_volume, check_role, copy_storage, create_idle, StorageSource};
pub use copy::{copy_into_cache, CopyOutcome, ReplacedTag};
pub use credentials::{carry_credentials, CarriedCredentials};
pub use legacy::{aside_name, inspect, DataSource, LegacyRegistry};
pub use stored::StoredTag;
pub(super) use verify::verify_storage;
pub use verify::{verify, Served};

/// The old registry's name while brrt's push registry takes its own: `kind-registry-pre-brrt`.
pub const ASIDE_SUFFIX: &str = "-pre-brrt";
/// Role label of the container that is created on the cache's volume to receive the copy.
const COPY_ROLE: &str = "migrate-copy";
/// Role label of the throwaway registry that serves the cache's volume, read-only, to check it.
const VERIFY_ROLE: &str = "migrate-verify";
