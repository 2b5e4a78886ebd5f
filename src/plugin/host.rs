//! The wasmi host: load a plugin, hold it to ABI v1, and call its functions within its limits.
//!
//! Each plugin gets an engine, a store and an instance of its own. A call that traps, runs out
//! of fuel or breaks the ABI drops the instance, and the next call starts a fresh one, so a
//! plugin never goes on from a half-finished state.

use crate::plugin::abi;
use crate::plugin::error::Error;
use crate::plugin::limits::{mib, Limiter, Limits};
use crate::plugin::manifest::Manifest;
use serde_json::Value;
use std::path::Path;
use wasmi::{
    Caller, Config, EnforcedLimits, Engine, Extern, Linker, Memory, Module, Store, TrapCode,
    TypedFunc,
};

/// The longest log message kept from a plugin; the rest is cut off.
const MAX_LOG_BYTES: usize = 64 * 1024;

/// How much of a bad result an error quotes.
const PREVIEW_CHARS: usize = 80;

/// What brrt's host function sees of the plugin.
struct HostState {
    /// The plugin's name for log lines: its file until the manifest is read.
    name: String,
    limiter: Limiter,
}

/// One instance of the plugin and its ABI exports.
struct Instance {
    store: Store<HostState>,
    memory: Memory,
    alloc: TypedFunc<i32, i32>,
    manifest: TypedFunc<(), i64>,
    call: TypedFunc<(i32, i32, i32, i32), i64>,
}

/// A loaded plugin, ready to be called.
pub struct Plugin {
    file: String,
    limits: Limits,
    module: Module,
    linker: Linker<HostState>,
    manifest: Manifest,
    /// `None` after a failed call: the next call starts a fresh instance.
    instance: Option<Instance>,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("file", &self.file)
            .field("manifest", &self.manifest)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Plugin {
    /// Reads and loads the plugin at `path`; `file` is how messages name it.
    pub fn open(path: &Path, file: &str, limits: Limits) -> Result<Plugin, Error> {
        let wasm = std::fs::read(path).map_err(|source| Error::Read {
            file: file.to_string(),
            source,
        })?;
        Plugin::load(file, &wasm, limits)
    }

    /// Loads a plugin from its bytes: checks its imports and exports against ABI v1,
    /// instantiates it and reads its manifest.
    pub fn load(file: &str, wasm: &[u8], limits: Limits) -> Result<Plugin, Error> {
        let mut config = Config::default();
        config
            .consume_fuel(true)
            .wasm_multi_memory(false)
            .enforced_limits(EnforcedLimits::strict());
        let engine = Engine::new(&config);
        let module = Module::new(&engine, wasm).map_err(|e| Error::Invalid {
            file: file.to_string(),
            reason: e.to_string(),
        })?;
        abi::check_imports(file, &module)?;
        abi::check_exports(file, &module)?;
        let mut linker = Linker::new(&engine);
        linker
            .func_wrap(abi::HOST_MODULE, abi::LOG, log)
            .expect("brrt.log is the only definition in a new linker");

        let mut instance = start(&module, &linker, &limits, file)?;
        let fail = |e: wasmi::Error, store: &Store<HostState>| {
            failure(&e, store, file, abi::MANIFEST, &limits)
        };
        set_fuel(&mut instance.store, limits.fuel);
        let packed = instance
            .manifest
            .call(&mut instance.store, ())
            .map_err(|e| fail(e, &instance.store))?;
        let json = read_output(&instance, file, abi::MANIFEST, packed)?;
        let manifest = Manifest::parse(file, &json)?;
        instance.store.data_mut().name = manifest.name.clone();
        Ok(Plugin {
            file: file.to_string(),
            limits,
            module,
            linker,
            manifest,
            instance: Some(instance),
        })
    }

    /// The plugin's name, from its manifest.
    pub fn name(&self) -> &str {
        &self.manifest.name
    }

    /// The file it was loaded from, as messages show it.
    pub fn file(&self) -> &str {
        &self.file
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Calls `function` with `args` (sent as a JSON array) and returns the value of its
    /// `{"ok": …}`. The plugin's own `{"error": "…"}` is [`Error::Failed`].
    pub fn call(&mut self, function: &str, args: &[Value]) -> Result<Value, Error> {
        if self.manifest.function(function).is_none() {
            return Err(Error::UnknownFunction {
                plugin: self.manifest.name.clone(),
                function: function.to_string(),
            });
        }
        let args = Value::Array(args.to_vec()).to_string();
        let mut instance = match self.instance.take() {
            Some(instance) => instance,
            None => start(
                &self.module,
                &self.linker,
                &self.limits,
                &self.manifest.name,
            )?,
        };
        let output = exchange(
            &mut instance,
            &self.manifest.name,
            function,
            args.as_bytes(),
            &self.limits,
        )?;
        self.instance = Some(instance);
        outcome(&self.manifest.name, function, &output)
    }
}

/// A fresh store and instance, its start function run within the limits.
fn start(
    module: &Module,
    linker: &Linker<HostState>,
    limits: &Limits,
    name: &str,
) -> Result<Instance, Error> {
    let mut store = Store::new(
        module.engine(),
        HostState {
            name: name.to_string(),
            limiter: Limiter::new(limits),
        },
    );
    store.limiter(|state| &mut state.limiter);
    set_fuel(&mut store, limits.fuel);
    let instance = linker
        .instantiate_and_start(&mut store, module)
        .map_err(|e| failure(&e, &store, name, "start", limits))?;
    // The exports were checked against the module before, so these are found.
    let missing = |export: &'static str, expected: &'static str| Error::MissingExport {
        file: name.to_string(),
        export,
        expected,
    };
    let memory = instance
        .get_memory(&store, abi::MEMORY)
        .ok_or_else(|| missing(abi::MEMORY, "a memory"))?;
    let alloc = instance
        .get_typed_func(&store, abi::ALLOC)
        .map_err(|_| missing(abi::ALLOC, "(i32) -> i32"))?;
    let manifest = instance
        .get_typed_func(&store, abi::MANIFEST)
        .map_err(|_| missing(abi::MANIFEST, "() -> i64"))?;
    let call = instance
        .get_typed_func(&store, abi::CALL)
        .map_err(|_| missing(abi::CALL, "(i32, i32, i32, i32) -> i64"))?;
    Ok(Instance {
        store,
        memory,
        alloc,
        manifest,
        call,
    })
}

/// Fuel is switched on in every engine this module makes, so setting it cannot fail.
fn set_fuel(store: &mut Store<HostState>, fuel: u64) {
    let set = store.set_fuel(fuel);
    debug_assert!(set.is_ok(), "fuel metering is on");
}

/// One round trip: write the name and the arguments into the plugin, call it, and copy out
/// what it returned.
fn exchange(
    instance: &mut Instance,
    plugin: &str,
    function: &str,
    args: &[u8],
    limits: &Limits,
) -> Result<Vec<u8>, Error> {
    set_fuel(&mut instance.store, limits.fuel);
    let name = write_input(
        instance,
        plugin,
        function,
        "brrt_alloc's buffer for the function name",
        function.as_bytes(),
        limits,
    )?;
    let args = write_input(
        instance,
        plugin,
        function,
        "brrt_alloc's buffer for the arguments",
        args,
        limits,
    )?;
    let packed = instance
        .call
        .call(&mut instance.store, (name.0, name.1, args.0, args.1))
        .map_err(|e| failure(&e, &instance.store, plugin, function, limits))?;
    read_output(instance, plugin, function, packed)
}

/// Asks the plugin for a buffer with `brrt_alloc` and copies `bytes` into it.
fn write_input(
    instance: &mut Instance,
    plugin: &str,
    function: &str,
    what: &'static str,
    bytes: &[u8],
    limits: &Limits,
) -> Result<(i32, i32), Error> {
    let Ok(len) = i32::try_from(bytes.len()) else {
        return Err(Error::MemoryCap {
            plugin: plugin.to_string(),
            function: function.to_string(),
            asked: mib(bytes.len()),
            cap: u64::from(limits.memory_mib),
        });
    };
    let ptr = instance
        .alloc
        .call(&mut instance.store, len)
        .map_err(|e| failure(&e, &instance.store, plugin, function, limits))?;
    let data = instance.memory.data_mut(&mut instance.store);
    let size = data.len();
    let range = abi::region(size, ptr as u32, len as u32).ok_or(Error::BadPointer {
        plugin: plugin.to_string(),
        function: function.to_string(),
        what,
        ptr: ptr as u32,
        len: len as u32,
        size,
    })?;
    data[range].copy_from_slice(bytes);
    Ok((ptr, len))
}

/// Copies out the `(ptr << 32) | len` region the plugin returned.
fn read_output(
    instance: &Instance,
    plugin: &str,
    function: &str,
    packed: i64,
) -> Result<Vec<u8>, Error> {
    let (ptr, len) = abi::unpack(packed);
    let data = instance.memory.data(&instance.store);
    let range = abi::region(data.len(), ptr, len).ok_or(Error::BadPointer {
        plugin: plugin.to_string(),
        function: function.to_string(),
        what: "the result",
        ptr,
        len,
        size: data.len(),
    })?;
    Ok(data[range].to_vec())
}

/// Reads `{"ok": …}` or `{"error": "…"}`.
fn outcome(plugin: &str, function: &str, output: &[u8]) -> Result<Value, Error> {
    let value: Value = serde_json::from_slice(output).map_err(|e| Error::InvalidJson {
        plugin: plugin.to_string(),
        function: function.to_string(),
        reason: format!("{e}, in {}", preview(output)),
    })?;
    if let Value::Object(mut fields) = value {
        if fields.len() == 1 {
            if let Some(ok) = fields.remove("ok") {
                return Ok(ok);
            }
            if let Some(error) = fields.remove("error") {
                return Err(Error::Failed {
                    plugin: plugin.to_string(),
                    function: function.to_string(),
                    message: match error {
                        Value::String(text) => text,
                        other => other.to_string(),
                    },
                });
            }
        }
    }
    Err(Error::BadResult {
        plugin: plugin.to_string(),
        function: function.to_string(),
        found: preview(output),
    })
}

/// The start of a plugin's output, quoted, for an error.
fn preview(output: &[u8]) -> String {
    let text = String::from_utf8_lossy(output);
    let mut shown: String = text.chars().take(PREVIEW_CHARS).collect();
    if text.chars().nth(PREVIEW_CHARS).is_some() {
        shown.push('…');
    }
    format!("`{shown}`")
}

/// Names what stopped a plugin: its fuel, its memory cap, or a trap.
fn failure(
    err: &wasmi::Error,
    store: &Store<HostState>,
    plugin: &str,
    function: &str,
    limits: &Limits,
) -> Error {
    if let Some(asked) = store.data().limiter.refused_memory {
        return Error::MemoryCap {
            plugin: plugin.to_string(),
            function: function.to_string(),
            asked: mib(asked),
            cap: u64::from(limits.memory_mib),
        };
    }
    let (plugin, function) = (plugin.to_string(), function.to_string());
    match err.as_trap_code() {
        Some(TrapCode::OutOfFuel) => Error::OutOfFuel {
            plugin,
            function,
            fuel: limits.fuel,
        },
        Some(TrapCode::UnreachableCodeReached) => Error::Trap {
            plugin,
            function,
            reason: "it reached `unreachable` (a Rust plugin panicked or aborted)".to_string(),
        },
        Some(code) => Error::Trap {
            plugin,
            function,
            reason: code.trap_message().to_string(),
        },
        None => Error::Trap {
            plugin,
            function,
            reason: err.to_string(),
        },
    }
}

/// A plugin's text as one line of brrt's log: control characters (newlines, terminal escapes)
/// written as escapes, so a plugin can neither fake log lines nor drive the terminal.
fn escape_controls(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

/// `brrt.log(level, ptr, len)`: a line in brrt's log, prefixed with the plugin's name.
/// Levels: 0 error, 1 warn, 2 info, 3 debug, 4 (and above) trace.
fn log(caller: Caller<'_, HostState>, level: i32, ptr: i32, len: i32) -> Result<(), wasmi::Error> {
    let memory = caller
        .get_export(abi::MEMORY)
        .and_then(Extern::into_memory)
        .ok_or_else(|| wasmi::Error::new("brrt.log was called, but the plugin has no memory"))?;
    let data = memory.data(&caller);
    let Some(range) = abi::region(data.len(), ptr as u32, len as u32) else {
        return Err(wasmi::Error::new(format!(
            "brrt.log was given a bad pointer or length: {} bytes at {:#x} lie outside its memory \
             of {} bytes",
            len as u32,
            ptr as u32,
            data.len()
        )));
    };
    let bytes = &data[range];
    let text = escape_controls(&String::from_utf8_lossy(
        &bytes[..bytes.len().min(MAX_LOG_BYTES)],
    ));
    let name = &caller.data().name;
    match level {
        ..=0 => tracing::error!(target: "brrt::plugin", "{name}: {text}"),
        1 => tracing::warn!(target: "brrt::plugin", "{name}: {text}"),
        2 => tracing::info!(target: "brrt::plugin", "{name}: {text}"),
        3 => tracing::debug!(target: "brrt::plugin", "{name}: {text}"),
        _ => tracing::trace!(target: "brrt::plugin", "{name}: {text}"),
    }
    Ok(())
}
