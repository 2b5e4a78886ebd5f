//! Malformed scripts, configs and arguments: each ends with an `error:` diagnostic and a
//! non-zero exit, never a panic.

use crate::support::{Output, Project};

/// Scripts that cannot run to the end, with the extra `brrt run` arguments they need.
fn bad_scripts() -> Vec<(&'static str, Vec<u8>, &'static [&'static str])> {
    let deep = |open: &str, n: usize| open.repeat(n).into_bytes();
    vec![
        ("unterminated string", b"let x = \"abc;\n".to_vec(), &[]),
        (
            "unterminated backtick",
            b"let x = `abc ${1};\n".to_vec(),
            &[],
        ),
        (
            "unterminated block",
            b"if true {\n  print(1);\n".to_vec(),
            &[],
        ),
        ("fn without body", b"fn up()\n".to_vec(), &[]),
        ("fn without name", b"fn () { 1 }\n".to_vec(), &[]),
        ("10000 parentheses", deep("(", 10_000), &[]),
        ("10000 brackets", deep("[", 10_000), &[]),
        ("10000 blocks", deep("{", 10_000), &[]),
        ("10000 map literals", deep("#{a:", 10_000), &[]),
        (
            "10000 nots",
            [b"let x = ".to_vec(), deep("!", 10_000), b"true;".to_vec()].concat(),
            &[],
        ),
        (
            "100000 additions",
            format!("let x = 1{};", " + 1".repeat(100_000)).into_bytes(),
            &[],
        ),
        (
            "huge hex literal",
            b"let x = 0xFFFFFFFFFFFFFFFFFFFFFFFF;\n".to_vec(),
            &[],
        ),
        (
            "integer overflow",
            b"let x = 9223372036854775807 + 1;\n".to_vec(),
            &[],
        ),
        ("non-UTF-8 bytes", b"let x = \"\xff\xfe\";\n".to_vec(), &[]),
        ("a lone NUL", b"\0".to_vec(), &[]),
        ("throw", b"throw \"deliberate\";\n".to_vec(), &[]),
        (
            "endless recursion",
            b"fn f(n) { f(n + 1) }\nf(0);\n".to_vec(),
            &[],
        ),
        (
            "endless loop",
            b"loop { }\n".to_vec(),
            &["--max-operations", "1000"],
        ),
        ("unknown function", b"no_such_function(1);\n".to_vec(), &[]),
        ("unknown module", b"nosuch::thing();\n".to_vec(), &[]),
        ("wrong argument type", b"fs::read(42);\n".to_vec(), &[]),
        (
            "unknown spec field",
            b"docker::ensure(#{ name: \"x\", image: \"y\", colour: 1 });\n".to_vec(),
            &[],
        ),
        (
            "import of nothing",
            b"import \"nowhere\" as n;\n".to_vec(),
            &[],
        ),
    ]
}

#[track_caller]
fn assert_clean_failure(what: &str, out: &Output) {
    assert!(
        out.code.is_some_and(|c| c != 0),
        "{what}: expected a non-zero exit, got {:?}\n{}",
        out.code,
        out.stderr
    );
    assert!(
        out.stderr.contains("error: "),
        "{what}: no `error:` line:\n{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("panicked"),
        "{what}: brrt panicked:\n{}",
        out.stderr
    );
}

#[test]
fn malformed_scripts_fail_cleanly() {
    // DOCKER_HOST points nowhere: a script that reached Docker would fail differently, and no
    // test here may touch a real engine.
    for (what, script, extra) in bad_scripts() {
        let project = Project::new().file("bad.rhai", &script);
        let out = project
            .brrt()
            .env("DOCKER_HOST", "unix:///nonexistent.sock")
            .args(["run", "bad.rhai"])
            .args(extra)
            .run();
        assert_clean_failure(what, &out);
        assert!(
            !out.stderr.contains("cannot reach Docker"),
            "{what}: got as far as Docker:\n{}",
            out.stderr
        );

        // `check` compiles the same script: it may pass (a throw compiles) but never panics.
        let out = project.brrt().args(["check", "bad.rhai"]).run();
        out.no_panic();
        assert!(out.code.is_some(), "{what}: `brrt check` was killed");
    }
}

#[test]
fn the_endless_loop_is_stopped_by_max_operations() {
    Project::new()
        .file("spin.rhai", "let n = 0;\nloop { n += 1; }\n")
        .brrt()
        .args(["run", "--max-operations", "1000", "spin.rhai"])
        .run()
        .failure(1)
        .stderr_contains("error: the script ran more operations than allowed")
        .stderr_contains("--max-operations N allows more")
        .stderr_contains("spin.rhai:2:");
}

#[test]
fn a_thrown_error_points_at_the_throw() {
    Project::new()
        .file("t.rhai", "let a = 1;\n  throw \"deliberate\";\n")
        .brrt()
        .args(["run", "t.rhai"])
        .run()
        .failure(1)
        .stderr_contains("error: deliberate")
        .stderr_contains("--> t.rhai:2:3");
}

#[test]
fn an_empty_script_is_a_flow_that_does_nothing() {
    // Not an error: an empty or comment-only file is valid Rhai, and `brrt check` agrees.
    let project = Project::new()
        .file("empty.rhai", "")
        .file("comments.rhai", "// nothing yet\n");
    for script in ["empty.rhai", "comments.rhai"] {
        project.brrt().args(["run", script]).run().success();
        project.brrt().args(["check", script]).run().success();
    }
}

#[test]
fn malformed_configs_fail_cleanly() {
    let cases: &[(&str, &str, &[u8])] = &[
        ("bad TOML", "c.toml", b"[cache\nenabled = true\n"),
        ("duplicate TOML key", "c.toml", b"a = 1\na = 2\n"),
        ("bad YAML", "c.yaml", b"a: [1, 2\nb: {\n"),
        ("YAML tab indent", "c.yml", b"a:\n\tb: 1\n"),
        ("bad JSON", "c.json", b"{\"a\": 1,}"),
        ("truncated JSON", "c.json", b"{\"a\": [1, 2"),
        ("empty JSON", "c.json", b""),
        ("non-UTF-8 TOML", "c.toml", b"a = \"\xff\"\n"),
        ("wrong extension", "c.ini", b"a = 1\n"),
        ("no extension", "config", b"a = 1\n"),
    ];
    for (what, file, contents) in cases {
        let project = Project::new()
            .file(file, contents)
            .file("load.rhai", format!("config::load({file:?});\n"));
        let out = project.brrt().args(["run", "load.rhai"]).run();
        assert_clean_failure(what, &out);
        assert!(
            out.stderr.contains(file),
            "{what}: the file is not named:\n{}",
            out.stderr
        );
    }

    // A missing file and a directory.
    let project = Project::new()
        .file("dir.toml/.keep", "")
        .file("missing.rhai", "config::load(\"missing.toml\");\n")
        .file("dir.rhai", "config::load(\"dir.toml\");\n");
    for (what, script, file) in [
        ("missing file", "missing.rhai", "missing.toml"),
        ("directory", "dir.rhai", "dir.toml"),
    ] {
        let out = project.brrt().args(["run", script]).run();
        assert_clean_failure(what, &out);
        assert!(
            out.stderr.contains(file),
            "{what}: the file is not named:\n{}",
            out.stderr
        );
    }
}

#[test]
fn unknown_set_form_is_a_usage_error() {
    for bad in ["foo", "=x", "1a=x", "a b=1"] {
        Project::new()
            .file("s.rhai", "")
            .brrt()
            .args(["run", "s.rhai", "--set", bad])
            .run()
            .failure(2)
            .stderr_contains("error: ")
            .stderr_contains("--set <KEY=VALUE>");
    }
    Project::new()
        .file("s.rhai", "")
        .brrt()
        .args(["run", "s.rhai", "--set", "foo"])
        .run()
        .failure(2)
        .stderr_contains("expected KEY=VALUE");
}

/// Issue 7, item 13: a string that doubles forever grew to 23 GB before it was killed. Now it
/// stops at the string limit with a clear error, well inside a 1 GiB address space.
#[test]
fn a_runaway_string_stops_at_a_small_footprint() {
    let project = Project::new().file("grow.rhai", "let s = \"x\";\nloop { s += s; }\n");
    let out = std::process::Command::new("prlimit")
        .arg(format!("--as={}", 1u64 << 30))
        .arg(crate::support::BRRT)
        .args(["run", "grow.rhai"])
        .current_dir(project.path())
        .output()
        .expect("prlimit (util-linux) runs brrt");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("error: a string grew past the size a script may use")
            && stderr.contains("--max-string-size N allows more")
            && stderr.contains("grow.rhai:2:"),
        "{stderr}"
    );
}

#[test]
fn a_runaway_array_stops_and_the_limit_can_be_raised() {
    let project = Project::new().file(
        "grow.rhai",
        "let a = [1];\nwhile a.len() < 4096 { a += a; }\nprint(a.len());\n",
    );
    project
        .brrt()
        .args(["run", "--max-array-size", "1000", "grow.rhai"])
        .run()
        .failure(1)
        .stderr_contains("error: an array grew past the size a script may use")
        .stderr_contains("--max-array-size N allows more");
    project
        .brrt()
        .args(["run", "--max-array-size", "5000", "grow.rhai"])
        .run()
        .success()
        .stdout_is("4096\n");
}
