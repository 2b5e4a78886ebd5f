//! Why a plugin could not be loaded or called. Every failure of a plugin ends up here as a
//! message for the script's author; none of them is a panic of brrt.
//!
//! Load errors name the file (the manifest, and so the plugin's own name, is not known yet);
//! call errors name the plugin and the function.

/// A plugin that could not be loaded, or a call that failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read. Fix the path or its permissions.
    #[error("cannot read plugin {file}: {source}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },

    /// Not a WebAssembly module, or one that the interpreter refuses (validation, size limits).
    #[error("plugin {file} is not a WebAssembly module brrt can load: {reason}")]
    Invalid { file: String, reason: String },

    /// The module imports something other than `brrt.log` (WASI, say). The plugin must be
    /// built without it.
    #[error(
        "plugin {file} imports `{module}.{name}`, which brrt does not provide: plugins get no WASI \
         and may import only `brrt.log` (build for wasm32-unknown-unknown, see plugins/README.md)"
    )]
    ForbiddenImport {
        file: String,
        module: String,
        name: String,
    },

    /// `brrt.log` is imported with another signature than ABI v1's.
    #[error("plugin {file} imports `brrt.log` as {found}, but ABI v1 defines it as {expected}")]
    ImportSignature {
        file: String,
        found: String,
        expected: &'static str,
    },

    /// A required export is absent.
    #[error(
        "plugin {file} does not export `{export}` ({expected}), which ABI v1 requires; see \
         plugins/README.md"
    )]
    MissingExport {
        file: String,
        export: &'static str,
        expected: &'static str,
    },

    /// A required export has the wrong kind or signature.
    #[error("plugin {file} exports `{export}` as {found}, but ABI v1 requires {expected}")]
    ExportSignature {
        file: String,
        export: &'static str,
        found: String,
        expected: &'static str,
    },

    /// The plugin was built for another version of the ABI.
    #[error(
        "plugin {file} is built for plugin api version {found}, but this brrt speaks api version \
         {supported}"
    )]
    ApiVersion {
        file: String,
        found: String,
        supported: u32,
    },

    /// The manifest is not what ABI v1 describes.
    #[error("plugin {file} has a bad manifest: {reason}")]
    Manifest { file: String, reason: String },

    /// The call used up its fuel: an endless or far too long loop.
    #[error(
        "plugin `{plugin}` ran out of fuel in function `{function}` (each call gets {fuel} units; \
         raise it with --plugin-fuel or BRRT_PLUGIN_FUEL)"
    )]
    OutOfFuel {
        plugin: String,
        function: String,
        fuel: u64,
    },

    /// The plugin asked for more memory than its cap.
    #[error(
        "plugin `{plugin}` asked for {asked} MiB of memory in function `{function}`, over its cap \
         of {cap} MiB (raise it with --plugin-memory or BRRT_PLUGIN_MEMORY)"
    )]
    MemoryCap {
        plugin: String,
        function: String,
        asked: u64,
        cap: u64,
    },

    /// The plugin trapped: `unreachable` (a Rust panic), an out-of-bounds access, a division by
    /// zero, a stack overflow, …
    #[error("plugin `{plugin}` trapped in function `{function}`: {reason}")]
    Trap {
        plugin: String,
        function: String,
        reason: String,
    },

    /// A pointer and length that the plugin handed over do not lie inside its memory.
    #[error(
        "plugin `{plugin}` gave a bad pointer or length in function `{function}`: {what} at \
         {ptr:#x} with {len} bytes lies outside its memory of {size} bytes"
    )]
    BadPointer {
        plugin: String,
        function: String,
        what: &'static str,
        ptr: u32,
        len: u32,
        size: usize,
    },

    /// The output is not JSON.
    #[error("plugin `{plugin}` returned invalid JSON from function `{function}`: {reason}")]
    InvalidJson {
        plugin: String,
        function: String,
        reason: String,
    },

    /// The output is JSON, but neither `{"ok": …}` nor `{"error": "…"}`.
    #[error(
        "plugin `{plugin}` returned {found} from function `{function}`, but ABI v1 wants \
         {{\"ok\": <value>}} or {{\"error\": \"<message>\"}}"
    )]
    BadResult {
        plugin: String,
        function: String,
        found: String,
    },

    /// The plugin reported an error of its own (`{"error": "…"}`).
    #[error("plugin `{plugin}` function `{function}` failed: {message}")]
    Failed {
        plugin: String,
        function: String,
        message: String,
    },

    /// The function is not in the plugin's manifest.
    #[error("plugin `{plugin}` has no function `{function}`")]
    UnknownFunction { plugin: String, function: String },
}
