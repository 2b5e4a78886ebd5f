//! `import "lib"` looks in the importing script's folder, then `<project>/scripts/`, then
//! `<project>/plugins/`. The project directory is the current working directory.

use crate::support::Project;

fn lib(from: &str) -> String {
    format!("fn which() {{ \"{from}\" }}\n")
}

#[test]
fn imports_resolve_from_script_folder_then_scripts_then_plugins() {
    let project = Project::new()
        .file(
            "flows/up.rhai",
            "import \"lib\" as l;\nprint(\"from=\" + l::which());\n",
        )
        .file("flows/lib.rhai", lib("flows"))
        .file("scripts/lib.rhai", lib("scripts"))
        .file("plugins/lib.rhai", lib("plugins"));
    let from = || {
        let out = project.brrt().args(["run", "flows/up.rhai"]).run();
        out.success();
        out.printed("from")
    };

    assert_eq!(from(), "flows");
    project.remove("flows/lib.rhai");
    assert_eq!(from(), "scripts");
    project.remove("scripts/lib.rhai");
    assert_eq!(from(), "plugins");
    project.remove("plugins/lib.rhai");
    project
        .brrt()
        .args(["run", "flows/up.rhai"])
        .run()
        .failure(1)
        .stderr_contains(
            "module `lib` not found; looked for flows/lib.rhai, scripts/lib.rhai, plugins/lib.rhai",
        )
        .stderr_contains("flows/up.rhai:1:");
}

#[test]
fn project_dir_is_the_working_directory_not_the_script_folder() {
    // Run from inside `app/`: `app/scripts/` is searched, the outer `scripts/` is not.
    let project = Project::new()
        .file(
            "app/main.rhai",
            "import \"helper\" as h;\nprint(\"from=\" + h::which());\n",
        )
        .file("app/scripts/helper.rhai", lib("app scripts"))
        .file("scripts/helper.rhai", lib("outer scripts"));
    let out = project
        .brrt()
        .current_dir(project.path().join("app"))
        .args(["run", "main.rhai"])
        .run();
    out.success();
    assert_eq!(out.printed("from"), "app scripts");
}

#[test]
fn imported_modules_import_from_their_own_folder() {
    let project = Project::new()
        .file(
            "up.rhai",
            "import \"a\" as a;\nprint(\"from=\" + a::which());\n",
        )
        .file(
            "plugins/a.rhai",
            "import \"b\" as b;\nfn which() { b::which() }\n",
        )
        .file("plugins/b.rhai", lib("plugins b"));
    let out = project.brrt().args(["run", "up.rhai"]).run();
    out.success();
    assert_eq!(out.printed("from"), "plugins b");
}

#[test]
fn an_error_inside_an_import_names_the_module_file() {
    let project = Project::new()
        .file("up.rhai", "import \"broken\" as b;\n")
        .file("scripts/broken.rhai", "let x = 1;\nlet y = ;\n");
    project
        .brrt()
        .args(["run", "up.rhai"])
        .run()
        .failure(1)
        .stderr_contains("scripts/broken.rhai:2:")
        .stderr_contains("up.rhai:1:");
}

#[test]
fn an_import_cycle_is_named_instead_of_overflowing_the_stack() {
    let project = Project::new()
        .file("up.rhai", "import \"a\" as a;\nprint(a::f());\n")
        .file("a.rhai", "import \"b\" as b;\nfn f() { 1 }\n")
        .file("b.rhai", "import \"a\" as a;\nfn g() { 2 }\n");
    project
        .brrt()
        .args(["run", "up.rhai"])
        .run()
        .failure(1)
        .stderr_contains("error: import cycle: a.rhai → b.rhai → a.rhai")
        .stderr_contains("move what both need into a third module")
        .stderr_contains("b.rhai:1:8");
}
