//! The command line itself: version, completions, `api`, `config`, and usage errors.

use crate::support::{Brrt, Project};
use std::collections::BTreeSet;

#[test]
fn version_names_the_binary_and_version() {
    Brrt::new()
        .arg("--version")
        .run()
        .success()
        .stdout_is(&format!("brrt {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn completions_for_every_shell() {
    for (shell, marker) in [
        ("bash", "complete -F _brrt"),
        ("zsh", "#compdef brrt"),
        ("fish", "complete -c brrt"),
    ] {
        let out = Brrt::new().args(["completions", shell]).run();
        out.success().stdout_contains(marker);
        // Every subcommand is offered.
        for sub in ["run", "check", "api", "completions"] {
            out.stdout_contains(sub);
        }
    }
}

#[test]
fn completions_for_an_unknown_shell_is_a_usage_error() {
    Brrt::new()
        .args(["completions", "tcsh"])
        .run()
        .failure(2)
        .stderr_contains("tcsh");
}

#[test]
fn api_lists_ensure_with_its_doc() {
    let out = Brrt::new().arg("api").run();
    out.success();
    let lines: Vec<&str> = out.stdout.lines().collect();
    let at = lines
        .iter()
        .position(|l| *l == "docker::ensure(spec: Map) -> Map")
        .unwrap_or_else(|| panic!("no docker::ensure in:\n{}", out.stdout));
    let doc = lines.get(at + 1).copied().unwrap_or_default();
    assert!(
        doc.starts_with("    Creates, starts or re-creates a container"),
        "doc line is {doc:?}"
    );
}

/// The signatures `brrt api` prints: every line that is not indented and not empty.
fn text_signatures() -> BTreeSet<String> {
    let out = Brrt::new().arg("api").run();
    out.success();
    out.stdout
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with(' '))
        .map(str::to_string)
        .collect()
}

#[test]
fn api_json_has_every_function_of_the_text_listing() {
    let out = Brrt::new().args(["api", "--json"]).run();
    out.success();
    let json: serde_json::Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("`brrt api --json` is not JSON ({e}):\n{}", out.stdout));
    let entries = json.as_array().expect("a JSON array");

    let mut from_json = BTreeSet::new();
    for e in entries {
        let text = |k: &str| {
            e[k].as_str()
                .unwrap_or_else(|| panic!("entry without string `{k}`: {e}"))
                .to_string()
        };
        let params: Vec<&str> = e["params"]
            .as_array()
            .unwrap_or_else(|| panic!("entry without `params`: {e}"))
            .iter()
            .map(|p| p.as_str().expect("params are strings"))
            .collect();
        assert!(!text("doc").is_empty(), "{} has no doc", text("name"));
        let module = text("module");
        let name = if module.is_empty() {
            text("name")
        } else {
            format!("{module}::{}", text("name"))
        };
        let signature = format!("{name}({}) -> {}", params.join(", "), text("returns"));
        assert!(
            from_json.insert(signature.clone()),
            "{signature} listed twice"
        );
    }

    let from_text = text_signatures();
    assert_eq!(from_json, from_text);
    assert_eq!(entries.len(), from_text.len());
    assert!(from_json
        .contains("docker::network::connect(network: String, container: String) -> String"));
}

#[test]
fn missing_script_is_an_error_naming_it() {
    Project::new()
        .brrt()
        .args(["run", "nope.rhai"])
        .run()
        .failure(1)
        .stderr_contains("error: cannot read script")
        .stderr_contains("nope.rhai");
}

/// Issue 11: flows join and tabulate with host functions instead of `reduce` and hand padding.
#[test]
fn scripts_join_and_tabulate_with_host_functions() {
    let project = Project::new().file(
        "t.rhai",
        "print(join([\"a\", 1, true], \", \"));\n\
         print(table([[\"what\", \"action\"], [\"push registry\", \"created\"], [\"cache\", \"unchanged\"]]));\n\
         print(human_size(1536));\n",
    );
    project
        .brrt()
        .args(["run", "t.rhai"])
        .run()
        .success()
        .stdout_is(
            "a, 1, true\n\
             what           action\n\
             push registry  created\n\
             cache          unchanged\n\
             1.5 KiB\n",
        );
    let api = Brrt::new().arg("api").run();
    api.success()
        .stdout_contains("join(items: Array, separator: String) -> String")
        .stdout_contains("table(rows: Array) -> String");
}

#[test]
fn config_prints_a_value_of_brrt_toml_checked_and_with_defaults() {
    let project = Project::new().file(
        "brrt.toml",
        "[cluster]\nname = \"team\"   # the kind cluster\n\n[registry]\nport = 5123\n",
    );
    let config = |args: &[&str]| project.brrt().arg("config").args(args).run();
    config(&["registry.port"]).success().stdout_is("5123\n");
    // Defaults are filled in as brrt fills them for a flow.
    config(&["cluster.context"])
        .success()
        .stdout_is("kind-team\n");
    config(&["registry.name"])
        .success()
        .stdout_is("kind-registry\n");
    // A table as JSON; an unset value as nothing.
    let table = config(&["registry"]);
    table.success();
    let registry: serde_json::Value = serde_json::from_str(&table.stdout).unwrap();
    assert_eq!(registry["port"], 5123);
    config(&["cache.ttl"]).success().stdout_is("");
    // Another file.
    project.write("ci.toml", "[registry]\nport = 5999\n");
    config(&["registry.port", "--config", "ci.toml"])
        .success()
        .stdout_is("5999\n");

    // Bad input: one line that says what to do, nothing on stdout.
    config(&["registry.prot"])
        .failure(1)
        .stdout_is("")
        .stderr_contains("error: brrt.toml: no key `prot` in [registry]; did you mean `port`?");
    config(&["registry.port", "--config", "nope.toml"])
        .failure(1)
        .stderr_contains(
            "error: no config at nope.toml: `brrt init` writes one, or pass --config PATH",
        );
    project.write("bad.toml", "[registry]\nport = 70000\n");
    config(&["registry.port", "--config", "bad.toml"])
        .failure(1)
        .stdout_is("")
        .stderr_contains("bad.toml:2:8")
        .stderr_contains("registry.port: 70000 is not a port number; use one from 1 to 65535");
}
