//! What a script sees of its command line: `ARGS` after `--`, and typed `--set` values in `SET`.

use crate::support::Project;

#[test]
fn args_and_typed_set_values() {
    let out = Project::new()
        .file(
            "s.rhai",
            r#"
            print("args=" + to_debug(ARGS));
            print("purge=" + to_debug(SET.purge) + " " + type_of(SET.purge));
            print("n=" + to_debug(SET.n) + " " + type_of(SET.n));
            print("name=" + to_debug(SET.name) + " " + type_of(SET.name));
            print("eq=" + SET.eq);
            if ARGS != ["a", "b"] { throw "ARGS differ"; }
            if SET.purge != true { throw "purge is not true"; }
            if SET.n + 1 != 4 { throw "n is not the number 3"; }
            "#,
        )
        .brrt()
        .args(["run", "s.rhai", "--set", "purge=true", "--set", "n=3"])
        .args(["--set", "name=dev", "--set", "eq=a=b", "--", "a", "b"])
        .run();
    out.success();
    assert_eq!(out.printed("args"), r#"["a", "b"]"#);
    assert_eq!(out.printed("purge"), "true bool");
    assert_eq!(out.printed("n"), "3 i64");
    assert_eq!(out.printed("name"), r#""dev" string"#);
    assert_eq!(out.printed("eq"), "a=b");
}

#[test]
fn without_args_or_set_both_are_empty() {
    let out = Project::new()
        .file(
            "s.rhai",
            r#"print("args=" + ARGS.len()); print("set=" + SET.len());"#,
        )
        .brrt()
        .args(["run", "s.rhai"])
        .run();
    out.success();
    assert_eq!(out.printed("args"), "0");
    assert_eq!(out.printed("set"), "0");
}

#[test]
fn args_and_set_are_constants() {
    for (script, line) in [
        ("let a = 1;\nSET = #{};\n", "s.rhai:2:"),
        ("let a = 1;\nARGS.push(\"c\");\n", "s.rhai:2:"),
    ] {
        Project::new()
            .file("s.rhai", script)
            .brrt()
            .args(["run", "s.rhai", "--", "a"])
            .run()
            .failure(1)
            .stderr_contains("error: ")
            .stderr_contains(line);
    }
}
