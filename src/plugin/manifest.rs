//! A plugin's manifest: its name, the api version it was built for, and its functions.
//!
//! ```json
//! {"name": "policy", "api": 1,
//!  "functions": [{"name": "check", "params": ["array", "map"], "doc": "…"}]}
//! ```

use crate::plugin::abi::API_VERSION;
use crate::plugin::error::Error;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// Parameters a function may take: more than a script could pass (Rhai matches at most 16
/// untyped arguments), and far more than a readable function has.
const MAX_PARAMS: usize = 16;

/// What a plugin says about itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub name: String,
    pub api: u32,
    pub functions: Vec<Function>,
}

/// One function a plugin exports to scripts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Function {
    pub name: String,
    pub params: Vec<ParamKind>,
    #[serde(default)]
    pub doc: String,
}

/// The JSON kind of a parameter. The host checks arguments against it before the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamKind {
    String,
    Int,
    /// A number: a float, or an integer (which JSON does not tell apart).
    Float,
    Bool,
    Array,
    Map,
    /// Any value, `()` (JSON `null`) included.
    Any,
}

impl ParamKind {
    pub fn name(self) -> &'static str {
        match self {
            ParamKind::String => "string",
            ParamKind::Int => "int",
            ParamKind::Float => "float",
            ParamKind::Bool => "bool",
            ParamKind::Array => "array",
            ParamKind::Map => "map",
            ParamKind::Any => "any",
        }
    }
}

impl fmt::Display for ParamKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Manifest {
    /// Reads and checks the manifest JSON of the plugin in `file`. The api version is checked
    /// first, so that a plugin of another version is named as such whatever else it says.
    pub(crate) fn parse(file: &str, json: &[u8]) -> Result<Manifest, Error> {
        let bad = |reason: String| Error::Manifest {
            file: file.to_string(),
            reason,
        };
        let value: serde_json::Value =
            serde_json::from_slice(json).map_err(|e| bad(format!("not JSON: {e}")))?;
        match value.get("api") {
            Some(v) if v.as_u64() == Some(u64::from(API_VERSION)) => {}
            Some(v) => {
                return Err(Error::ApiVersion {
                    file: file.to_string(),
                    found: v.to_string(),
                    supported: API_VERSION,
                })
            }
            None => return Err(bad("it has no `api` (the plugin api version)".into())),
        }
        let manifest: Manifest = serde_json::from_value(value).map_err(|e| bad(e.to_string()))?;
        manifest.validate().map_err(bad)?;
        Ok(manifest)
    }

    fn validate(&self) -> Result<(), String> {
        if self.name.trim().is_empty() {
            return Err("`name` is empty".into());
        }
        let mut seen = BTreeSet::new();
        for f in &self.functions {
            if !is_identifier(&f.name) {
                return Err(format!(
                    "function name `{}` is not a name a script can call (letters, digits and `_`, \
                     not starting with a digit)",
                    f.name
                ));
            }
            if !seen.insert(f.name.as_str()) {
                return Err(format!("function `{}` is listed twice", f.name));
            }
            if f.params.len() > MAX_PARAMS {
                return Err(format!(
                    "function `{}` takes {} parameters; at most {MAX_PARAMS} are allowed",
                    f.name,
                    f.params.len()
                ));
            }
        }
        Ok(())
    }

    pub fn function(&self, name: &str) -> Option<&Function> {
        self.functions.iter().find(|f| f.name == name)
    }
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Manifest, String> {
        Manifest::parse("p.wasm", json.as_bytes()).map_err(|e| e.to_string())
    }

    #[test]
    fn reads_a_manifest() {
        let m = parse(
            r#"{"name":"policy","api":1,"functions":[
                {"name":"check","params":["array","map"],"doc":"Checks."},
                {"name":"version","params":[]}]}"#,
        )
        .unwrap();
        assert_eq!(m.name, "policy");
        assert_eq!(
            m.function("check").unwrap().params,
            [ParamKind::Array, ParamKind::Map]
        );
        assert_eq!(m.function("version").unwrap().doc, "");
    }

    #[test]
    fn names_both_versions() {
        let e = parse(r#"{"name":"p","api":2,"functions":[]}"#).unwrap_err();
        assert!(e.contains("api version 2"), "{e}");
        assert!(e.contains("api version 1"), "{e}");
    }

    #[test]
    fn refuses_what_a_script_cannot_call() {
        let e =
            parse(r#"{"name":"p","api":1,"functions":[{"name":"2x","params":[]}]}"#).unwrap_err();
        assert!(e.contains("`2x`"), "{e}");
        let e = parse(r#"{"name":"p","api":1,"functions":[{"name":"f","params":["text"]}]}"#)
            .unwrap_err();
        assert!(e.contains("unknown variant `text`"), "{e}");
        let e = parse(
            r#"{"name":"p","api":1,"functions":[{"name":"f","params":[]},{"name":"f","params":[]}]}"#,
        )
        .unwrap_err();
        assert!(e.contains("listed twice"), "{e}");
    }
}
