//! `brrt check`: compile without running, and point at each problem with `file:line:col`, the
//! source line and a caret under the column.

use crate::support::{Output, Project};

/// Asserts a diagnostic at `file:line:col` that quotes `source` and puts a caret under `col`.
#[track_caller]
fn assert_points_at(out: &Output, file: &str, line: usize, col: usize, source: &str) {
    let lines: Vec<&str> = out.stderr.lines().collect();
    let arrow = format!("--> {file}:{line}:{col}");
    let at = lines
        .iter()
        .position(|l| l.trim_start() == arrow)
        .unwrap_or_else(|| panic!("no `{arrow}` in:\n{}", out.stderr));
    let quoted = format!("{line} | {source}");
    assert_eq!(
        lines.get(at + 2).copied(),
        Some(quoted.as_str()),
        "{}",
        out.stderr
    );
    let caret = lines.get(at + 3).copied().unwrap_or_default();
    // The caret sits under column `col` of the quoted source.
    let source_start = quoted.len() - source.len();
    assert_eq!(
        caret.find('^'),
        Some(source_start + col - 1),
        "caret line {caret:?} does not point at column {col}:\n{}",
        out.stderr
    );
}

#[test]
fn syntax_error_points_at_the_place() {
    let out = Project::new()
        .file("bad.rhai", "let a = 1;\nlet b = \"never closed;\n")
        .brrt()
        .args(["check", "bad.rhai"])
        .run();
    out.failure(1).stderr_contains("error: ");
    assert_points_at(&out, "bad.rhai", 2, 9, "let b = \"never closed;");
}

#[test]
fn misspelt_module_function_points_at_the_call_and_suggests() {
    let out = Project::new()
        .file(
            "typo.rhai",
            "let spec = #{ name: \"x\", image: \"registry:2\" };\n    docker::ensur(spec);\n",
        )
        .brrt()
        .args(["check", "typo.rhai"])
        .run();
    out.failure(1)
        .stderr_contains("error: no function `ensur` in module `docker`")
        .stderr_contains("did you mean `ensure`?");
    assert_points_at(&out, "typo.rhai", 2, 13, "    docker::ensur(spec);");
}

#[test]
fn unknown_module_and_wrong_arity_are_found_without_running() {
    let out = Project::new()
        .file(
            "flow.rhai",
            "dokcer::ping();\ndocker::network::connect(\"only-one\");\n",
        )
        .brrt()
        .args(["check", "flow.rhai"])
        .run();
    out.failure(1)
        .stderr_contains("no module `dokcer` (did you mean `docker`?)")
        .stderr_contains("`docker::network::connect` takes 2 argument(s), not 1")
        .stderr_contains("flow.rhai:1:")
        .stderr_contains("flow.rhai:2:");
}

#[test]
fn good_script_passes() {
    Project::new()
        .file("lib.rhai", "fn greet(who) { `hello ${who}` }\n")
        .file(
            "good.rhai",
            r#"
            import "lib" as l;
            fn up(name) {
                docker::ensure(#{ name: name, image: "brrt-testbed/registry:2" })
            }
            if SET.contains("go") { up("x"); }
            print(l::greet("you"));
            log::info(env::get("HOME", "?"));
            "#,
        )
        .brrt()
        .args(["check", "good.rhai"])
        .run()
        .success()
        .stderr_lacks("error");
}

#[test]
fn every_file_is_checked() {
    let out = Project::new()
        .file("good.rhai", "print(1);\n")
        .file("bad.rhai", "fn f( {\n")
        .brrt()
        .args(["check", "good.rhai", "bad.rhai"])
        .run();
    out.failure(1)
        .stderr_contains("bad.rhai:1:")
        .stderr_lacks("--> good.rhai");
}

#[test]
fn check_never_runs_the_script() {
    let project = Project::new().file("write.rhai", "fs::write(\"made.txt\", \"x\");\n");
    project.brrt().args(["check", "write.rhai"]).run().success();
    assert!(!project.path().join("made.txt").exists());
}
