//! brrt plugin ABI v1, the plugin's side: the four exports brrt calls and the one import it
//! provides. A new plugin can copy this file as it is and write its own `lib.rs`, which
//! provides `MANIFEST_FUNCTIONS` and `call`.
//!
//! * `brrt_alloc(len) -> ptr`: a buffer of exactly `len` bytes that brrt writes into. brrt
//!   allocates one for the function name and one for the arguments of each call, and hands
//!   both over with `brrt_call`, which frees them.
//! * `brrt_manifest() -> (ptr << 32) | len` and `brrt_call(..) -> (ptr << 32) | len`: the
//!   JSON answer. It stays valid until the plugin is called again; brrt copies it out first.
//! * `brrt.log(level, ptr, len)`: a line in brrt's log (0 error … 4 trace).

use serde_json::{json, Value};
use std::cell::RefCell;

/// The api version of this ABI; brrt refuses a plugin whose manifest says another.
const API_VERSION: u32 = 1;

thread_local! {
    /// The last answer, kept alive until the next call so that brrt can read it.
    static ANSWER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

#[cfg(target_arch = "wasm32")]
#[link(wasm_import_module = "brrt")]
extern "C" {
    #[link_name = "log"]
    fn brrt_log(level: i32, ptr: *const u8, len: usize);
}

/// Log levels of `brrt.log`.
#[allow(dead_code)]
#[derive(Clone, Copy)]
pub enum Level {
    Error = 0,
    Warn = 1,
    Info = 2,
    Debug = 3,
    Trace = 4,
}

/// Writes a line to brrt's log, where it shows prefixed with the plugin's name.
pub fn log(level: Level, message: &str) {
    #[cfg(target_arch = "wasm32")]
    // SAFETY: brrt reads `len` bytes at `ptr` from this module's memory, during the call.
    unsafe {
        brrt_log(level as i32, message.as_ptr(), message.len());
    }
    #[cfg(not(target_arch = "wasm32"))]
    let _ = (level, message);
}

/// Writes the answer where brrt can read it, reusing the last answer's buffer, and returns
/// `(ptr << 32) | len`.
fn answer(write: impl FnOnce(&mut Vec<u8>)) -> u64 {
    ANSWER.with(|slot| {
        let mut out = slot.borrow_mut();
        out.clear();
        write(&mut out);
        ((out.as_ptr() as u64) << 32) | out.len() as u64
    })
}

/// `{"ok": value}` or `{"error": "message"}`, written straight into the answer buffer.
fn outcome(result: Result<Value, String>) -> u64 {
    answer(|out| {
        // Serializing a JSON value or a string into a Vec cannot fail.
        let _ = match &result {
            Ok(value) => {
                out.extend_from_slice(b"{\"ok\":");
                serde_json::to_writer(&mut *out, value)
            }
            Err(message) => {
                out.extend_from_slice(b"{\"error\":");
                serde_json::to_writer(&mut *out, message)
            }
        };
        out.push(b'}');
    })
}

/// Takes back a buffer made by `brrt_alloc`.
///
/// # Safety
/// `ptr` and `len` must be exactly what `brrt_alloc` returned and was asked for, once.
unsafe fn take(ptr: *mut u8, len: usize) -> Box<[u8]> {
    Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, len))
}

#[no_mangle]
pub extern "C" fn brrt_alloc(len: usize) -> *mut u8 {
    Box::into_raw(vec![0u8; len].into_boxed_slice()).cast::<u8>()
}

/// A panic ends the call with a trap (`panic = "abort"`); log what it was first. Every new
/// instance runs this once, on its first call.
fn init() {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| std::panic::set_hook(Box::new(|info| log(Level::Error, &info.to_string()))));
}

#[no_mangle]
pub extern "C" fn brrt_manifest() -> u64 {
    init();
    let functions: Vec<Value> = crate::MANIFEST_FUNCTIONS
        .iter()
        .map(|(name, params, doc)| json!({"name": name, "params": params, "doc": doc}))
        .collect();
    let manifest = json!({
        "name": env!("CARGO_PKG_NAME"),
        "api": API_VERSION,
        "functions": functions,
    });
    answer(|out| {
        let _ = serde_json::to_writer(out, &manifest);
    })
}

/// # Safety
/// Called by brrt with two buffers from `brrt_alloc`, as ABI v1 says.
#[no_mangle]
pub unsafe extern "C" fn brrt_call(
    name_ptr: *mut u8,
    name_len: usize,
    args_ptr: *mut u8,
    args_len: usize,
) -> u64 {
    init();
    let name = take(name_ptr, name_len);
    let args = take(args_ptr, args_len);
    let result = match (
        std::str::from_utf8(&name),
        serde_json::from_slice::<Vec<Value>>(&args),
    ) {
        (Ok(name), Ok(args)) => crate::call(name, args),
        (Err(_), _) => Err("the function name is not UTF-8".to_string()),
        (_, Err(e)) => Err(format!("the arguments are not a JSON array: {e}")),
    };
    outcome(result)
}
