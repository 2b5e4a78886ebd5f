//! Without a reachable engine, a run ends with one line that says where brrt looked and what to
//! do, not a diagnostic per call. These tests need no engine.

use crate::support::Project;

fn run_with_docker_host(script: &str, host: &str) -> crate::support::Output {
    Project::new()
        .file("up.rhai", script)
        .brrt()
        .args(["run", "up.rhai"])
        .env("DOCKER_HOST", host)
        .run()
}

#[track_caller]
fn assert_one_error_line(out: &crate::support::Output, prefix: &str) -> String {
    out.failure(1);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "expected one line on stderr:\n{}",
        out.stderr
    );
    assert!(
        lines[0].starts_with(prefix),
        "expected the line to start with {prefix:?}:\n{}",
        lines[0]
    );
    lines[0].to_string()
}

#[test]
fn ping_without_engine_prints_one_line() {
    let out = run_with_docker_host("docker::ping();\n", "unix:///nonexistent.sock");
    let line = assert_one_error_line(
        &out,
        "error: cannot reach Docker at unix:///nonexistent.sock",
    );
    assert!(line.contains("is the engine running?"), "{line}");
    assert!(line.contains("DOCKER_HOST"), "{line}");
}

#[test]
fn ensure_inside_a_function_without_engine_prints_one_line() {
    let script = r#"
        fn up() {
            docker::ensure(#{ name: "brrt-t-unreachable", image: "brrt-testbed/registry:2" })
        }
        up();
    "#;
    let out = run_with_docker_host(script, "unix:///nonexistent.sock");
    assert_one_error_line(
        &out,
        "error: cannot reach Docker at unix:///nonexistent.sock",
    );
}

#[test]
fn refused_tcp_engine_prints_one_line() {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    let out = run_with_docker_host("docker::ping();\n", "tcp://127.0.0.1:1");
    let line = assert_one_error_line(&out, "error: cannot reach Docker at tcp://127.0.0.1:1");
    assert!(line.contains("connection refused"), "{line}");
}
