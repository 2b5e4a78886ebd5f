//! `env::` — environment variables.

use crate::script::api_doc::ModuleBuilder;
use rhai::Dynamic;

pub fn register(m: &mut ModuleBuilder<'_>) {
    m.func(
        "get",
        &["name: String"],
        "String",
        "The variable's value, or () when unset.",
        |name: &str| -> Dynamic {
            std::env::var(name)
                .map(Dynamic::from)
                .unwrap_or(Dynamic::UNIT)
        },
    );
    m.func(
        "get",
        &["name: String", "default: String"],
        "String",
        "The variable's value, or `default` when unset or empty.",
        |name: &str, default: &str| -> String {
            std::env::var(name)
                .ok()
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| default.to_string())
        },
    );
    m.func(
        "is_set",
        &["name: String"],
        "bool",
        "Whether the variable is set and not empty.",
        |name: &str| -> bool { std::env::var(name).is_ok_and(|v| !v.is_empty()) },
    );
}
