//! What a cache's container carries for the rest of brrt to read: the labels that say how it
//! serves and with which settings, and where its debug server (the proxy counters) listens.
//! `cache` writes them; `stats`, `sharing` and `cache warm` read them, so they sit below all.

/// Label saying how a cache serves: `proxy`, `offline` (asked for) or `offline-auto` (its
/// upstream was unreachable when it started).
pub const MODE_LABEL: &str = "dev.brrt.cache.mode";

/// How a cache serves, as reported to flows.
pub const MODE_PROXY: &str = "proxy";
pub const MODE_OFFLINE: &str = "offline";
pub const MODE_UNREACHABLE: &str = "offline (upstream unreachable)";

/// Label naming the set of caches a cache belongs to (`cache.name`, `brrt-cache`), which
/// names it: `brrt-cache-docker-io`.
pub const SET_LABEL: &str = "dev.brrt.cache.set";
/// Labels holding a cache's settings that are not in its image: the remote it proxies, its
/// TTL, and whether it logs in to its upstream (never with what). Another config that shares
/// the cache reads them to tell whether it wants the cache otherwise.
pub const REMOTE_LABEL: &str = "dev.brrt.cache.remote";
pub const TTL_LABEL: &str = "dev.brrt.cache.ttl";
pub const LOGIN_LABEL: &str = "dev.brrt.cache.login";

/// Where a cache's debug server listens in the container, and the port it is published from.
pub const DEBUG_ADDR: &str = ":5001";
pub const DEBUG_PORT: &str = "5001/tcp";
