//! `docker::exec` returns what the command really printed and its real exit code.

use crate::support::{set, Project, Testbed};

#[test]
fn exec_returns_stdout_stderr_and_exit_code() {
    let Some(tb) = Testbed::require("exec") else {
        return;
    };
    let name = tb.container("node");
    let project = Project::new().file(
        "exec.rhai",
        r#"
        docker::ensure(#{
            name: SET.name,
            image: "brrt-testbed/node:latest",
            entrypoint: ["/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"],
        });
        let r = docker::exec(SET.name, ["sh", "-c", "echo hi; echo oops >&2; exit 3"]);
        print("stdout=" + to_debug(r.stdout));
        print("stderr=" + to_debug(r.stderr));
        print("code=" + r.code);
        let line = docker::exec(SET.name, "echo $((6 * 7))");
        print("line=" + to_debug(line.stdout));
        print("line_code=" + line.code);
        "#,
    );

    let out = project
        .brrt()
        .args(["run", "exec.rhai"])
        .args(set("name", &name))
        .run();
    out.success();
    assert_eq!(out.printed("stdout"), r#""hi\n""#);
    assert_eq!(out.printed("stderr"), r#""oops\n""#);
    assert_eq!(out.printed("code"), "3");
    assert_eq!(out.printed("line"), r#""42\n""#);
    assert_eq!(out.printed("line_code"), "0");
}

#[test]
fn exec_in_a_missing_container_is_an_error_naming_it() {
    let Some(tb) = Testbed::require("exec_missing") else {
        return;
    };
    let name = tb.container("absent");
    Project::new()
        .file("exec.rhai", "docker::exec(SET.name, [\"true\"]);\n")
        .brrt()
        .args(["run", "exec.rhai"])
        .args(set("name", &name))
        .run()
        .failure(1)
        .stderr_contains("error: ")
        .stderr_contains(&name);
}
