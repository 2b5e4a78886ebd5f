//! What a plugin may use: fuel per call and memory, so that a bad plugin cannot hang or
//! exhaust the host.

use wasmi::ResourceLimiter;
use wasmi_core::LimiterError;

/// Fuel each call gets by default. wasmi spends about one unit per instruction: a release
/// build of brrt runs this much in about a second, far more than a policy check or a parser
/// needs, and an endless loop ends there.
pub const DEFAULT_FUEL: u64 = 1_000_000_000;

/// Memory cap of one plugin by default, in MiB.
pub const DEFAULT_MEMORY_MIB: u32 = 64;

/// Elements a plugin's tables may hold. Tables hold function references; a compiled plugin
/// needs a few hundred.
const TABLE_ELEMENTS: usize = 1_000_000;

const MIB: usize = 1024 * 1024;

/// The budget of one plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Fuel for each call (and for loading: the start function and the manifest).
    pub fuel: u64,
    /// Memory cap in MiB.
    pub memory_mib: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            fuel: DEFAULT_FUEL,
            memory_mib: DEFAULT_MEMORY_MIB,
        }
    }
}

impl Limits {
    pub(crate) fn memory_bytes(&self) -> usize {
        usize::try_from(self.memory_mib)
            .unwrap_or(usize::MAX)
            .saturating_mul(MIB)
    }
}

/// Enforces [`Limits`] on one instance and remembers a refused request, so that the error can
/// say what was asked for.
#[derive(Debug)]
pub(crate) struct Limiter {
    memory_cap: usize,
    /// Bytes of memory last asked for over the cap.
    pub(crate) refused_memory: Option<usize>,
}

impl Limiter {
    pub(crate) fn new(limits: &Limits) -> Self {
        Limiter {
            memory_cap: limits.memory_bytes(),
            refused_memory: None,
        }
    }
}

impl ResourceLimiter for Limiter {
    /// Over the cap, the plugin traps instead of seeing `memory.grow` return -1: a plugin
    /// rarely recovers from that (a Rust plugin aborts), and a trap can say what happened.
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Result<bool, LimiterError> {
        if desired > self.memory_cap {
            self.refused_memory = Some(desired);
            return Err(LimiterError::ResourceLimiterDeniedAllocation);
        }
        Ok(maximum.is_none_or(|max| desired <= max))
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Result<bool, LimiterError> {
        Ok(desired <= TABLE_ELEMENTS && maximum.is_none_or(|max| desired <= max))
    }

    fn instances(&self) -> usize {
        1
    }

    fn tables(&self) -> usize {
        100
    }

    fn memories(&self) -> usize {
        1
    }
}

/// Bytes in whole MiB, rounded up, for messages.
pub(crate) fn mib(bytes: usize) -> u64 {
    u64::try_from(bytes.div_ceil(MIB)).unwrap_or(u64::MAX)
}
