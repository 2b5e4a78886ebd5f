//! WASM plugins (issue 10): a script imports a `.wasm` like a module and calls its functions.
//! The ABI is exercised with plugins written in WAT and compiled here, so no wasm toolchain is
//! needed; the example plugin in `plugins/examples/policy` is built and run for real where the
//! `wasm32-unknown-unknown` target is installed.

use crate::support::{Project, Running};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The manifest of the test plugin, `test`.
const MANIFEST: &str = r#"{"name": "test", "api": 1, "functions": [
    {"name": "hello", "params": [], "doc": "Says which build of the plugin this is."},
    {"name": "echo", "params": ["any"], "doc": "Returns its argument."},
    {"name": "fail", "params": ["string"], "doc": "Fails with the message given."},
    {"name": "log", "params": ["string"], "doc": "Logs the message at info level."},
    {"name": "spin", "params": [], "doc": "Never returns."},
    {"name": "trap", "params": [], "doc": "Traps."},
    {"name": "grow", "params": [], "doc": "Grows its memory until it is stopped."},
    {"name": "badptr", "params": [], "doc": "Returns a pointer outside its memory."},
    {"name": "badjson", "params": [], "doc": "Returns text that is not JSON."},
    {"name": "badshape", "params": [], "doc": "Returns JSON that is neither ok nor error."}
]}"#;

/// `text` as a WAT string literal's contents.
fn wat_string(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The test plugin: ABI v1 in WAT. A bump allocator that starts over at the host's first
/// `brrt_alloc` after a call; the manifest and fixed answers in data segments; `brrt_call`
/// picks the function by the first byte of its name (and the length, for the `bad…` ones).
/// `hello` answers `greeting`.
fn test_plugin(manifest: &str, greeting: &str) -> Vec<u8> {
    let wat = test_plugin_wat(manifest, greeting);
    wat::parse_str(&wat).unwrap_or_else(|e| panic!("the test plugin does not compile: {e}"))
}

fn test_plugin_wat(manifest: &str, greeting: &str) -> String {
    let hello = format!("{{\"ok\":\"{greeting}\"}}");
    format!(
        r#"(module
  (import "brrt" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 1)
  (global $bump (mut i32) (i32.const 16384))
  (global $reset (mut i32) (i32.const 0))
  (data (i32.const 0) "{manifest}")
  (data (i32.const 8192) "{{\"ok\":")
  (data (i32.const 8208) "{{\"error\":")
  (data (i32.const 8224) "{{\"ok\":null}}")
  (data (i32.const 8240) "this is not JSON")
  (data (i32.const 8272) "{{\"result\":1}}")
  (data (i32.const 8304) "{hello}")

  ;; The host's first allocation after a call starts over: it has copied the last result out.
  (func (export "brrt_alloc") (param $len i32) (result i32)
    (if (global.get $reset)
      (then (global.set $bump (i32.const 16384)) (global.set $reset (i32.const 0))))
    (call $alloc (local.get $len)))

  (func $alloc (param $len i32) (result i32)
    (local $p i32) (local $end i32) (local $have i32)
    (local.set $p (global.get $bump))
    (local.set $end (i32.add (local.get $p) (local.get $len)))
    (local.set $have (i32.mul (memory.size) (i32.const 65536)))
    (if (i32.gt_u (local.get $end) (local.get $have))
      (then (drop (memory.grow
        (i32.add (i32.div_u (i32.sub (local.get $end) (local.get $have)) (i32.const 65536))
                 (i32.const 1))))))
    (global.set $bump (local.get $end))
    (local.get $p))

  (func $pack (param $p i32) (param $l i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $p)) (i64.const 32))
            (i64.extend_i32_u (local.get $l))))

  ;; `prefix` + the one argument (the args array without its brackets) + `}}`
  (func $wrap (param $pre i32) (param $pl i32) (param $ap i32) (param $al i32) (result i64)
    (local $out i32) (local $inner i32) (local $len i32)
    (local.set $inner (i32.sub (local.get $al) (i32.const 2)))
    (local.set $len (i32.add (i32.add (local.get $pl) (local.get $inner)) (i32.const 1)))
    (local.set $out (call $alloc (local.get $len)))
    (memory.copy (local.get $out) (local.get $pre) (local.get $pl))
    (memory.copy (i32.add (local.get $out) (local.get $pl))
                 (i32.add (local.get $ap) (i32.const 1)) (local.get $inner))
    (i32.store8 (i32.sub (i32.add (local.get $out) (local.get $len)) (i32.const 1))
                (i32.const 125))
    (call $pack (local.get $out) (local.get $len)))

  (func (export "brrt_manifest") (result i64)
    (call $pack (i32.const 0) (i32.const {manifest_len})))

  (func (export "brrt_call") (param $np i32) (param $nl i32) (param $ap i32) (param $al i32)
    (result i64)
    (local $c i32)
    (global.set $reset (i32.const 1))
    (local.set $c (i32.load8_u (local.get $np)))
    (if (i32.eq (local.get $c) (i32.const 104)) ;; hello
      (then (return (call $pack (i32.const 8304) (i32.const {hello_len})))))
    (if (i32.eq (local.get $c) (i32.const 101)) ;; echo
      (then (return (call $wrap (i32.const 8192) (i32.const 6) (local.get $ap) (local.get $al)))))
    (if (i32.eq (local.get $c) (i32.const 102)) ;; fail
      (then (return (call $wrap (i32.const 8208) (i32.const 9) (local.get $ap) (local.get $al)))))
    (if (i32.eq (local.get $c) (i32.const 108)) ;; log: the string without its quotes
      (then
        (call $log (i32.const 2) (i32.add (local.get $ap) (i32.const 2))
                   (i32.sub (local.get $al) (i32.const 4)))
        (return (call $pack (i32.const 8224) (i32.const 11)))))
    (if (i32.eq (local.get $c) (i32.const 115)) ;; spin
      (then (loop $forever (br $forever))))
    (if (i32.eq (local.get $c) (i32.const 116)) ;; trap
      (then unreachable))
    (if (i32.eq (local.get $c) (i32.const 103)) ;; grow, 1 MiB at a time
      (then
        (loop $more (br_if $more (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
        unreachable))
    (if (i32.eq (local.get $nl) (i32.const 6)) ;; badptr
      (then (return (call $pack (i32.const 0x7fff0000) (i32.const 16)))))
    (if (i32.eq (local.get $nl) (i32.const 7)) ;; badjson
      (then (return (call $pack (i32.const 8240) (i32.const 16)))))
    (call $pack (i32.const 8272) (i32.const 12))) ;; badshape
)"#,
        manifest = wat_string(manifest),
        manifest_len = manifest.len(),
        hello = wat_string(&hello),
        hello_len = hello.len(),
    )
}

/// A module with only what is given, for plugins that break the ABI.
fn module(body: &str) -> Vec<u8> {
    wat::parse_str(format!("(module {body})"))
        .unwrap_or_else(|e| panic!("the test module does not compile: {e}"))
}

/// A project with the test plugin at `plugins/test.wasm` and this flow as `flow.rhai`.
fn project_with_plugin(flow: &str) -> Project {
    Project::new()
        .file("plugins/test.wasm", test_plugin(MANIFEST, "v1"))
        .file("flow.rhai", flow)
}

#[test]
fn a_script_calls_a_plugin_function_like_a_module_function() {
    let out = project_with_plugin(
        r#"
        import "test" as t;
        print("hello=" + t::hello());
        print("echo=" + t::echo("round trip"));
        "#,
    )
    .brrt()
    .args(["run", "flow.rhai"])
    .run();
    out.success();
    assert_eq!(out.printed("hello"), "v1");
    assert_eq!(out.printed("echo"), "round trip");
}

#[test]
fn every_kind_of_value_goes_to_a_plugin_and_back() {
    let out = project_with_plugin(
        r#"
        import "test" as t;
        let sent = #{
            text: "naïve ✓", int: -42, float: 2.5, yes: true, no: false, nothing: (),
            list: [1, "two", [3.0], #{ deep: [()] }], empty_map: #{}, empty_list: [], letter: 'c'
        };
        let back = t::echo(sent);
        for key in back.keys() {
            print(`${key}=${type_of(back[key])} ${back[key]}`);
        }
        print(`list_types=${back.list.map(|v| type_of(v))}`);
        print(`deep=${type_of(back.list[3].deep[0])}`);
        print(`scalars=${t::echo(7)} ${t::echo(0.125)} ${t::echo(false)} ${type_of(t::echo(()))}`);
        "#,
    )
    .brrt()
    .args(["run", "flow.rhai"])
    .run();
    out.success();
    assert_eq!(out.printed("text"), "string naïve ✓");
    assert_eq!(out.printed("int"), "i64 -42");
    assert_eq!(out.printed("float"), "f64 2.5");
    assert_eq!(out.printed("yes"), "bool true");
    assert_eq!(out.printed("no"), "bool false");
    assert_eq!(out.printed("nothing"), "() ");
    assert_eq!(out.printed("empty_map"), "map #{}");
    assert_eq!(out.printed("empty_list"), "array []");
    // A char has no JSON kind of its own: it comes back as a one-letter string.
    assert_eq!(out.printed("letter"), "string c");
    assert_eq!(
        out.printed("list_types"),
        r#"["i64", "string", "array", "map"]"#
    );
    assert_eq!(out.printed("deep"), "()");
    assert_eq!(out.printed("scalars"), "7 0.125 false ()");
}

#[test]
fn a_value_that_cannot_be_sent_is_an_error_naming_the_argument() {
    let project = project_with_plugin("");
    let run = |flow: &str| {
        project.write("flow.rhai", flow);
        project.brrt().args(["run", "flow.rhai"]).run()
    };
    run("import \"test\" as t;\nt::echo([1, #{ f: Fn(\"f\") }]);\n")
        .failure(1)
        .stderr_contains(
            "plugin `test` function `echo`: argument 1 cannot be passed: at [1].f: a Fn has no \
             JSON form",
        )
        .stderr_contains("flow.rhai:2:");
    run("import \"test\" as t;\nt::fail(42);\n")
        .failure(1)
        .stderr_contains("plugin `test` function `fail`: argument 1 must be a string, not int");
    run("import \"test\" as t;\nt::echo(1.0 / 0.0);\n")
        .failure(1)
        .stderr_contains("the float inf has no JSON form");
}

#[test]
fn a_plugin_error_is_caught_by_the_script() {
    let project = project_with_plugin(
        r#"
        import "test" as t;
        try {
            t::fail("image nginx:latest is not pinned");
        } catch (err) {
            print(`caught=${err}`);
        }
        t::fail("not caught");
        "#,
    );
    let out = project.brrt().args(["run", "flow.rhai"]).run();
    out.failure(1).stderr_contains(
        "error: plugin `test` function `fail` failed: not caught\n  --> flow.rhai:8:",
    );
    assert_eq!(
        out.printed("caught"),
        "plugin `test` function `fail` failed: image nginx:latest is not pinned"
    );
}

#[test]
fn a_trap_is_an_error_and_the_next_call_starts_afresh() {
    let out = project_with_plugin(
        r#"
        import "test" as t;
        try { t::trap(); } catch (err) { print(`trap=${err}`); }
        print(`after=${t::hello()}`);
        "#,
    )
    .brrt()
    .args(["run", "flow.rhai"])
    .run();
    out.success();
    assert_eq!(
        out.printed("trap"),
        "plugin `test` trapped in function `trap`: it reached `unreachable` (a Rust plugin \
         panicked or aborted)"
    );
    assert_eq!(out.printed("after"), "v1");
}

#[test]
fn an_endless_loop_runs_out_of_fuel() {
    let project = project_with_plugin("import \"test\" as t;\nt::spin();\n");
    project
        .brrt()
        .args(["run", "--plugin-fuel", "2000000", "flow.rhai"])
        .run()
        .failure(1)
        .stderr_contains(
            "plugin `test` ran out of fuel in function `spin` (each call gets 2000000 units; \
             raise it with --plugin-fuel or BRRT_PLUGIN_FUEL)",
        )
        .stderr_contains("flow.rhai:2:");
    // The environment sets it too.
    project
        .brrt()
        .env("BRRT_PLUGIN_FUEL", "1000")
        .args(["run", "flow.rhai"])
        .run()
        .failure(1)
        .stderr_contains("ran out of fuel in function `spin` (each call gets 1000 units");
}

#[test]
fn memory_growth_past_the_cap_is_stopped() {
    let project = project_with_plugin("import \"test\" as t;\nt::grow();\n");
    project
        .brrt()
        .args(["run", "flow.rhai"])
        .run()
        .failure(1)
        .stderr_contains(
            "plugin `test` asked for 65 MiB of memory in function `grow`, over its cap of 64 MiB \
             (raise it with --plugin-memory or BRRT_PLUGIN_MEMORY)",
        );
    project
        .brrt()
        .args(["run", "--plugin-memory", "8", "flow.rhai"])
        .run()
        .failure(1)
        .stderr_contains("asked for 9 MiB of memory in function `grow`, over its cap of 8 MiB");
    // A plugin whose memory starts above the cap (2 MiB here) is refused when it is imported.
    let big = test_plugin_wat(MANIFEST, "big").replace(
        "(memory (export \"memory\") 1)",
        "(memory (export \"memory\") 32)",
    );
    project.write("plugins/big.wasm", wat::parse_str(big).expect("WAT"));
    project.write("start.rhai", "import \"big\" as b;\n");
    project
        .brrt()
        .args(["run", "--plugin-memory", "1", "start.rhai"])
        .run()
        .failure(1)
        .stderr_contains(
            "plugin `plugins/big.wasm` asked for 2 MiB of memory in function `start`, over its \
             cap of 1 MiB",
        );
}

#[test]
fn bad_output_from_a_plugin_is_a_clear_error() {
    let project = project_with_plugin("");
    let call = |function: &str| {
        project.write(
            "flow.rhai",
            format!("import \"test\" as t;\nt::{function}();\n"),
        );
        let out = project.brrt().args(["run", "flow.rhai"]).run();
        out.failure(1).stderr_contains("flow.rhai:2:");
        out
    };
    call("badjson").stderr_contains(
        "plugin `test` returned invalid JSON from function `badjson`: expected ident at line 1 \
         column 2, in `this is not JSON`",
    );
    call("badptr").stderr_contains(
        "plugin `test` gave a bad pointer or length in function `badptr`: the result at \
         0x7fff0000 with 16 bytes lies outside its memory of 65536 bytes",
    );
    call("badshape").stderr_contains(
        "plugin `test` returned `{\"result\":1}` from function `badshape`, but ABI v1 wants \
         {\"ok\": <value>} or {\"error\": \"<message>\"}",
    );
}

#[test]
fn a_module_that_breaks_the_abi_is_refused_at_import() {
    let project = Project::new().file("flow.rhai", "import \"bad\" as b;\nprint(\"ran\");\n");
    let import = |wasm: Vec<u8>| {
        project.write("plugins/bad.wasm", wasm);
        let out = project.brrt().args(["run", "flow.rhai"]).run();
        out.failure(1)
            .stdout_lacks("ran")
            .stderr_contains("flow.rhai:1:");
        out
    };
    let exports = r#"
        (memory (export "memory") 1)
        (func (export "brrt_alloc") (param i32) (result i32) (i32.const 0))
        (func (export "brrt_manifest") (result i64) (i64.const 0))
    "#;
    import(module(exports)).stderr_contains(
        "plugin plugins/bad.wasm does not export `brrt_call` ((i32, i32, i32, i32) -> i64), \
         which ABI v1 requires",
    );
    import(module(
        r#"(func (export "brrt_alloc") (param i32) (result i32) (i32.const 0))"#,
    ))
    .stderr_contains("plugin plugins/bad.wasm does not export `memory` (a memory)");
    import(module(&format!(
        "{exports} (func (export \"brrt_call\") (param i32 i32) (result i64) (i64.const 0))"
    )))
    .stderr_contains(
        "plugin plugins/bad.wasm exports `brrt_call` as (i32, i32) -> i64, but ABI v1 requires \
         (i32, i32, i32, i32) -> i64",
    );
    // The manifest is read at import: bad pointers and bad JSON are found there too.
    import(module(&format!(
        "{exports} (func (export \"brrt_call\") (param i32 i32 i32 i32) (result i64) (i64.const 0))"
    )))
    .stderr_contains("plugin plugins/bad.wasm has a bad manifest: not JSON: EOF while parsing");
    import(b"\0asm but not really".to_vec())
        .stderr_contains("plugin plugins/bad.wasm is not a WebAssembly module brrt can load");
}

#[test]
fn a_plugin_for_another_api_version_is_refused_naming_both_versions() {
    let manifest = MANIFEST.replace("\"api\": 1", "\"api\": 2");
    Project::new()
        .file("plugins/test.wasm", test_plugin(&manifest, "v2"))
        .file("flow.rhai", "import \"test\" as t;\n")
        .brrt()
        .args(["run", "flow.rhai"])
        .run()
        .failure(1)
        .stderr_contains(
            "plugin plugins/test.wasm is built for plugin api version 2, but this brrt speaks \
             api version 1",
        );
}

#[test]
fn a_wasi_import_is_refused_naming_it() {
    let wasi = module(
        r#"
        (import "wasi_snapshot_preview1" "fd_write"
            (func (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        "#,
    );
    Project::new()
        .file("plugins/wasi.wasm", wasi)
        .file("flow.rhai", "import \"wasi\" as w;\n")
        .brrt()
        .args(["run", "flow.rhai"])
        .run()
        .failure(1)
        .stderr_contains(
            "plugin plugins/wasi.wasm imports `wasi_snapshot_preview1.fd_write`, which brrt does \
             not provide: plugins get no WASI and may import only `brrt.log`",
        );
}

#[test]
fn a_plugin_logs_through_brrts_log_under_its_name() {
    let project = project_with_plugin("import \"test\" as t;\nt::log(\"checked 3 images\");\n");
    project
        .brrt()
        .args(["run", "flow.rhai"])
        .run()
        .success()
        .stderr_contains("test: checked 3 images")
        .stdout_is("");
    project
        .brrt()
        .args(["run", "-q", "flow.rhai"])
        .run()
        .success()
        .stderr_lacks("checked 3 images");
}

#[test]
fn a_plugin_is_found_like_a_script_module() {
    let project = Project::new()
        .file(
            "flows/up.rhai",
            "import \"test\" as t;\nprint(\"from=\" + t::hello());\n",
        )
        .file("plugins/test.wasm", test_plugin(MANIFEST, "plugins"))
        .file("scripts/test.wasm", test_plugin(MANIFEST, "scripts"));
    let from = || {
        let out = project.brrt().args(["run", "flows/up.rhai"]).run();
        out.success();
        out.printed("from")
    };
    assert_eq!(from(), "scripts");
    project.remove("scripts/test.wasm");
    assert_eq!(from(), "plugins");
    // In one folder, a script module comes before a plugin of the same name.
    project.write("plugins/test.rhai", "fn hello() { \"script\" }\n");
    assert_eq!(from(), "script");
    project.remove("plugins/test.rhai");
    // A script never imports itself: one named like the plugin it imports finds the plugin.
    project.write(
        "scripts/test.rhai",
        "import \"test\" as t;\nprint(\"self=\" + t::hello());\n",
    );
    let out = project.brrt().args(["run", "scripts/test.rhai"]).run();
    out.success();
    assert_eq!(out.printed("self"), "plugins");
    project.remove("scripts/test.rhai");
    project.remove("plugins/test.wasm");
    project
        .brrt()
        .args(["run", "flows/up.rhai"])
        .run()
        .failure(1)
        .stderr_contains(
            "module `test` not found; looked for flows/test.rhai, scripts/test.rhai, \
             plugins/test.rhai, and for a plugin test.wasm in the same folders",
        );
}

#[test]
fn rebuilding_a_plugin_under_watch_reapplies_the_flow() {
    let project = project_with_plugin("import \"test\" as t;\nprint(`greeting ${t::hello()}`);\n");
    let mut brrt = Running::new(project.brrt().args(["run", "--watch", "flow.rhai"]).spawn());
    brrt.wait_for("the first run", Duration::from_secs(30), |lines| {
        lines.iter().any(|l| l == "greeting v1")
    });
    brrt.wait_for_applies(1);
    // A rebuild writes a new file over the old one.
    project.write("plugins/test.wasm", test_plugin(MANIFEST, "v2"));
    brrt.wait_for("the rebuilt plugin", Duration::from_secs(30), |lines| {
        lines.iter().any(|l| l == "greeting v2")
    });
    brrt.wait_for_applies(2);
    assert!(
        brrt.applies()[1].contains("plugins/test.wasm changed"),
        "{:#?}",
        brrt.applies()
    );
    assert_eq!(brrt.stop("-INT"), Some(0));
}

#[test]
fn brrt_api_lists_the_functions_of_every_plugin() {
    let project = Project::new().file("plugins/test.wasm", test_plugin(MANIFEST, "v1"));
    let out = project.brrt().arg("api").run();
    out.success()
        .stdout_contains("docker::ping() -> bool")
        .stdout_contains(
            "test::fail(String) -> Dynamic\n    Fails with the message given. (plugins/test.wasm)\n",
        )
        .stdout_contains("test::echo(Dynamic) -> Dynamic\n    Returns its argument.");
    let json = project.brrt().args(["api", "--json"]).run();
    json.success();
    let docs: serde_json::Value = serde_json::from_str(&json.stdout).expect("brrt api --json");
    let echo = docs
        .as_array()
        .expect("an array")
        .iter()
        .find(|d| d["module"] == "test" && d["name"] == "echo")
        .unwrap_or_else(|| panic!("no test::echo in {}", json.stdout));
    assert_eq!(echo["params"], serde_json::json!(["Dynamic"]));
    assert_eq!(echo["plugin"], "plugins/test.wasm");

    // A plugin that does not load is named, and the rest is still listed.
    project.write("plugins/broken.wasm", b"not wasm");
    project
        .brrt()
        .arg("api")
        .run()
        .failure(1)
        .stdout_contains("test::hello() -> Dynamic")
        .stderr_contains("error: plugin plugins/broken.wasm is not a WebAssembly module");
}

#[test]
fn brrt_check_knows_the_functions_of_an_imported_plugin() {
    let project = project_with_plugin(
        "import \"test\" as t;\nt::hello();\nt::helo();\nt::echo(1, 2);\nt::echo(1);\n",
    );
    let out = project.brrt().args(["check", "flow.rhai"]).run();
    out.failure(1)
        .stderr_contains("error: no function `helo` in plugin `test` (did you mean `hello`?)\n  --> flow.rhai:3:")
        .stderr_contains("error: `t::echo` takes 1 argument(s), not 2\n  --> flow.rhai:4:")
        .stderr_contains("2 problem(s) found");
    project.write("flow.rhai", "import \"test\" as t;\nt::echo(t::hello());\n");
    project
        .brrt()
        .args(["check", "flow.rhai"])
        .run()
        .success()
        .stderr_contains("flow.rhai: ok");
    // A plugin that is found but does not load is reported at the import.
    project.write("plugins/test.wasm", b"not wasm");
    project
        .brrt()
        .args(["check", "flow.rhai"])
        .run()
        .failure(1)
        .stderr_contains("plugin plugins/test.wasm is not a WebAssembly module")
        .stderr_contains("--> flow.rhai:1:");
}

/// The repository checkout.
fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Whether rustc has the standard library for `wasm32-unknown-unknown`, and if not, why.
fn wasm_target() -> Result<(), String> {
    let out = Command::new("rustc")
        .args([
            "--print",
            "target-libdir",
            "--target",
            "wasm32-unknown-unknown",
        ])
        .output()
        .map_err(|e| format!("cannot run rustc: {e}"))?;
    let libdir = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let has_core = std::fs::read_dir(&libdir).is_ok_and(|entries| {
        entries
            .filter_map(Result::ok)
            .any(|e| e.file_name().to_string_lossy().starts_with("libcore-"))
    });
    if out.status.success() && has_core {
        Ok(())
    } else {
        Err(format!(
            "the wasm32-unknown-unknown target is not installed (no libcore in `{libdir}`; \
             `rustup target add wasm32-unknown-unknown` adds it)"
        ))
    }
}

/// Builds the example plugin the way `just plugin-build policy` does, into this test run's
/// own target folder, and returns the `.wasm`.
fn build_policy_plugin() -> PathBuf {
    let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("plugin-examples");
    let manifest = repo().join("plugins/examples/policy/Cargo.toml");
    let out = Command::new(env!("CARGO"))
        .args([
            "build",
            "--release",
            "--locked",
            "--target",
            "wasm32-unknown-unknown",
        ])
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target_dir)
        .output()
        .expect("cannot run cargo");
    // The target is there, so a failed build is a real failure, in CI and locally alike.
    assert!(
        out.status.success(),
        "building the example plugin failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    target_dir.join("wasm32-unknown-unknown/release/policy.wasm")
}

#[test]
fn the_example_policy_plugin_checks_image_references() {
    if let Err(why) = wasm_target() {
        // Straight to the process's stderr: libtest would swallow eprintln! of a passing test.
        // The WAT tests above cover the ABI without the target.
        let _ = writeln!(
            std::io::stderr(),
            "skipping the example plugin build: {why} [the_example_policy_plugin_checks_image_references]"
        );
        return;
    }
    let wasm = build_policy_plugin();
    let script =
        std::fs::read(repo().join("scripts/check-images.rhai")).expect("scripts/check-images.rhai");
    let project = Project::new()
        .file(
            "plugins/policy.wasm",
            std::fs::read(&wasm).expect("the built plugin"),
        )
        .file("scripts/check-images.rhai", script)
        .file(
            "images.txt",
            "# the team's images\nnginx:1.27\ndocker.io/library/redis:latest\n\
             quay.io/prometheus/prometheus:v2.53.0\nexample.com/tools/app:1.0\npostgres\n",
        );
    let out = project
        .brrt()
        .args(["run", "scripts/check-images.rhai", "--", "images.txt"])
        .run();
    out.failure(1)
        .stdout_contains("docker.io/library/redis:latest")
        .stdout_contains("example.com/tools/app:1.0")
        .stdout_contains("postgres")
        .stdout_lacks("nginx:1.27")
        .stdout_lacks("prometheus")
        .stderr_contains("3 violation(s) in 5 image reference(s)");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("redis:latest") && l.contains("latest")),
        "{}",
        out.stdout
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("example.com/tools/app:1.0") && l.contains("upstream")),
        "{}",
        out.stdout
    );

    // Allowing what was flagged passes; references can come as arguments too.
    project
        .brrt()
        .args([
            "run",
            "scripts/check-images.rhai",
            "--set",
            "allow_latest=true",
            "--",
            "redis:latest",
            "nginx:1.27",
        ])
        .run()
        .success()
        .stderr_contains("2 image reference(s) follow the policy");

    // `brrt api` shows the plugin's documented functions, and `brrt check` knows them.
    project
        .brrt()
        .arg("api")
        .run()
        .success()
        .stdout_contains("policy::check(Array, Map) -> Dynamic");
    project
        .brrt()
        .args(["check", "scripts/check-images.rhai"])
        .run()
        .success();
}

/// Issue 18: a plugin's log text went to brrt's log as it was, so a plugin could print lines
/// that look like brrt's own, or send escape sequences to the user's terminal.
#[test]
fn a_plugins_log_line_cannot_fake_lines_or_drive_the_terminal() {
    let manifest = r#"{"name": "noisy", "api": 1, "functions": [{"name": "shout", "params": [], "doc": "Logs raw bytes."}]}"#;
    let said = "done\\0a\\1b[2Jerror: brrt: all caches deleted\\07";
    let plugin = module(&format!(
        r#"(import "brrt" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "{manifest}")
  (data (i32.const 4096) "{said}")
  (data (i32.const 8192) "{{\"ok\":null}}")
  (func (export "brrt_alloc") (param i32) (result i32) (i32.const 16384))
  (func (export "brrt_manifest") (result i64)
    (i64.const {manifest_len}))
  (func (export "brrt_call") (param i32 i32 i32 i32) (result i64)
    (call $log (i32.const 1) (i32.const 4096) (i32.const 41))
    (i64.const {ok}))"#,
        manifest = wat_string(manifest),
        manifest_len = manifest.len(),
        ok = (8192_i64 << 32) | 11,
    ));
    let project = Project::new()
        .file("plugins/noisy.wasm", plugin)
        .file("flow.rhai", "import \"noisy\" as n;\nn::shout();\n");
    let out = project.brrt().args(["run", "flow.rhai"]).run();
    out.success()
        .stderr_contains(r"noisy: done\n\u{1b}[2Jerror: brrt: all caches deleted\u{7}")
        .stderr_lacks("\u{1b}")
        .stderr_lacks("\u{7}");
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert!(
        !lines.iter().any(|l| l.starts_with("error: brrt")),
        "{lines:#?}"
    );
}
