//! ABI v1, the contract between brrt and a plugin (written down for authors in
//! `plugins/README.md`):
//!
//! * the plugin exports `memory`, `brrt_alloc(len: i32) -> i32`, `brrt_manifest() -> i64` and
//!   `brrt_call(name_ptr: i32, name_len: i32, args_ptr: i32, args_len: i32) -> i64`;
//! * an `i64` result is `(ptr << 32) | len` of UTF-8 JSON in the plugin's memory;
//! * the only import it may have is `brrt.log(level: i32, ptr: i32, len: i32)`.

use crate::plugin::error::Error;
use wasmi::{ExternType, FuncType, Module, ValType};

/// The plugin api version this brrt speaks (`"api"` in the manifest).
pub const API_VERSION: u32 = 1;

pub(crate) const MEMORY: &str = "memory";
pub(crate) const ALLOC: &str = "brrt_alloc";
pub(crate) const MANIFEST: &str = "brrt_manifest";
pub(crate) const CALL: &str = "brrt_call";
pub(crate) const HOST_MODULE: &str = "brrt";
pub(crate) const LOG: &str = "log";

const I32: ValType = ValType::I32;
const I64: ValType = ValType::I64;

/// The functions a plugin must export, with their signatures.
const EXPORTS: [(&str, &[ValType], &[ValType], &str); 3] = [
    (ALLOC, &[I32], &[I32], "(i32) -> i32"),
    (MANIFEST, &[], &[I64], "() -> i64"),
    (
        CALL,
        &[I32, I32, I32, I32],
        &[I64],
        "(i32, i32, i32, i32) -> i64",
    ),
];

const LOG_SIGNATURE: &str = "(i32, i32, i32) -> ()";

/// Refuses a module that imports anything but `brrt.log`, or imports it with another type.
pub(crate) fn check_imports(file: &str, module: &Module) -> Result<(), Error> {
    for import in module.imports() {
        if import.module() != HOST_MODULE || import.name() != LOG {
            return Err(Error::ForbiddenImport {
                file: file.to_string(),
                module: import.module().to_string(),
                name: import.name().to_string(),
            });
        }
        let found = match import.ty() {
            ExternType::Func(ty) if ty.params() == [I32, I32, I32] && ty.results().is_empty() => {
                continue
            }
            other => describe(other),
        };
        return Err(Error::ImportSignature {
            file: file.to_string(),
            found,
            expected: LOG_SIGNATURE,
        });
    }
    Ok(())
}

/// Refuses a module that lacks an export of ABI v1, or has one of the wrong type.
pub(crate) fn check_exports(file: &str, module: &Module) -> Result<(), Error> {
    match module.get_export(MEMORY) {
        Some(ExternType::Memory(_)) => {}
        None => {
            return Err(Error::MissingExport {
                file: file.to_string(),
                export: MEMORY,
                expected: "a memory",
            })
        }
        Some(other) => {
            return Err(Error::ExportSignature {
                file: file.to_string(),
                export: MEMORY,
                found: describe(&other),
                expected: "a memory",
            })
        }
    }
    for (name, params, results, expected) in EXPORTS {
        match module.get_export(name) {
            Some(ExternType::Func(ty)) if ty.params() == params && ty.results() == results => {}
            None => {
                return Err(Error::MissingExport {
                    file: file.to_string(),
                    export: name,
                    expected,
                })
            }
            Some(other) => {
                return Err(Error::ExportSignature {
                    file: file.to_string(),
                    export: name,
                    found: describe(&other),
                    expected,
                })
            }
        }
    }
    Ok(())
}

/// `(i32, i32) -> i64`, `a memory`, … for messages.
fn describe(ty: &ExternType) -> String {
    match ty {
        ExternType::Func(f) => signature(f),
        ExternType::Memory(_) => "a memory".to_string(),
        ExternType::Table(_) => "a table".to_string(),
        ExternType::Global(_) => "a global".to_string(),
    }
}

fn signature(f: &FuncType) -> String {
    let list = |types: &[ValType]| {
        types
            .iter()
            .map(|t| format!("{t:?}").to_lowercase())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let results = match f.results() {
        [] => "()".to_string(),
        [one] => list(&[*one]),
        many => format!("({})", list(many)),
    };
    format!("({}) -> {results}", list(f.params()))
}

/// Splits `(ptr << 32) | len`.
pub(crate) fn unpack(packed: i64) -> (u32, u32) {
    let bits = packed as u64;
    ((bits >> 32) as u32, bits as u32)
}

/// The byte range `ptr..ptr + len`, if it lies inside a memory of `size` bytes.
pub(crate) fn region(size: usize, ptr: u32, len: u32) -> Option<std::ops::Range<usize>> {
    let start = usize::try_from(ptr).ok()?;
    let end = start.checked_add(usize::try_from(len).ok()?)?;
    (end <= size).then_some(start..end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpacks_pointer_and_length() {
        assert_eq!(unpack((0x10 << 32) | 5), (0x10, 5));
        assert_eq!(unpack(-1), (u32::MAX, u32::MAX));
    }

    #[test]
    fn regions_stay_inside_memory() {
        assert_eq!(region(100, 10, 5), Some(10..15));
        assert_eq!(region(100, 95, 5), Some(95..100));
        assert_eq!(region(100, 96, 5), None);
        assert_eq!(region(100, u32::MAX, u32::MAX), None);
    }
}
