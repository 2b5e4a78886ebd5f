//! `config::load` reads TOML, YAML and JSON into the same maps, and a syntax error names the
//! file, line and column.

use crate::support::{fixture, Brrt, Output};

fn in_config_fixtures(args: &[&str]) -> Output {
    Brrt::new().current_dir(fixture("config")).args(args).run()
}

fn load_one(file: &str) -> Output {
    in_config_fixtures(&["run", "load_one.rhai", "--set", &format!("file={file}")])
}

#[test]
fn toml_yaml_and_json_give_the_same_map() {
    let out = in_config_fixtures(&["run", "load.rhai"]);
    out.success();
    let expected = serde_json::json!({
        "cluster": { "name": "dev", "nodes": 2 },
        "cache": { "enabled": true, "mirrors": ["docker.io", "ghcr.io"], "ratio": 0.5 },
    });
    for format in ["toml", "yaml", "json"] {
        let printed = out.printed(format);
        let value: serde_json::Value = serde_json::from_str(&printed)
            .unwrap_or_else(|e| panic!("{format}: not JSON ({e}): {printed}"));
        assert_eq!(value, expected, "{format}");
    }
    assert_eq!(out.printed("exists"), "true false");
}

#[test]
fn toml_syntax_error_names_file_line_and_column() {
    load_one("bad.toml")
        .failure(1)
        .stderr_contains("error: bad.toml:2:11: invalid TOML")
        .stderr_contains("2 | enabled = tru");
}

#[test]
fn yaml_syntax_error_names_file_and_line() {
    load_one("bad.yaml")
        .failure(1)
        .stderr_contains("error: bad.yaml:")
        .stderr_contains("invalid YAML");
}

#[test]
fn json_syntax_error_names_file_line_and_column() {
    load_one("bad.json")
        .failure(1)
        .stderr_contains("error: bad.json:2:")
        .stderr_contains("invalid JSON")
        .stderr_contains(r#"2 |   "cache": { "enabled": true, }"#);
}

#[test]
fn unknown_extension_names_the_formats() {
    load_one("brrt.ini")
        .failure(1)
        .stderr_contains("error: brrt.ini: unknown config format")
        .stderr_contains(".toml");
}

#[test]
fn missing_file_is_an_error_naming_it() {
    load_one("none.toml")
        .failure(1)
        .stderr_contains("error: none.toml: cannot read");
}
