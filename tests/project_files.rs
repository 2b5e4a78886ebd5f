//! `fs::` reads and writes files inside the project directory and refuses everything else.

use crate::support::Project;

/// A project in `<tmp>/project`, next to a file `<tmp>/outside` it must not reach.
fn project_with_neighbour() -> (Project, std::path::PathBuf) {
    let root = Project::new()
        .file("outside", "secret")
        .file("project/.keep", "");
    let dir = root.path().join("project");
    (root, dir)
}

#[test]
fn reading_outside_the_project_is_refused() {
    let (root, dir) = project_with_neighbour();
    let canonical = std::fs::canonicalize(&dir).expect("the project dir exists");
    let outside = root.path().join("outside");
    for path in ["../outside".to_string(), outside.display().to_string()] {
        root.write(
            "project/read.rhai",
            format!("let a = 1;\nlet text = fs::read({path:?});\nprint(text);\n"),
        );
        root.brrt()
            .current_dir(&dir)
            .args(["run", "read.rhai"])
            .run()
            .failure(1)
            .stderr_contains("error: fs::read: ")
            .stderr_contains("is outside the project directory")
            .stderr_contains(&canonical.display().to_string())
            .stderr_lacks("secret");
    }
}

#[cfg(unix)]
#[test]
fn a_symlink_cannot_lead_outside() {
    let (root, dir) = project_with_neighbour();
    std::os::unix::fs::symlink(root.path().join("outside"), dir.join("link"))
        .expect("cannot make a symlink");
    root.write("project/read.rhai", "print(fs::read(\"link\"));\n");
    root.write(
        "project/write.rhai",
        "fs::write(\"link\", \"overwritten\");\n",
    );
    for script in ["read.rhai", "write.rhai"] {
        root.brrt()
            .current_dir(&dir)
            .args(["run", script])
            .run()
            .failure(1)
            .stderr_contains("is outside the project directory")
            .stderr_lacks("secret");
    }
    assert_eq!(
        std::fs::read_to_string(root.path().join("outside")).unwrap(),
        "secret"
    );
}

/// Issue 7, item 6: a dangling symlink led `fs::write` outside (`ln -s /tmp/outside/x
/// dangling`), and so did a link to a folder outside, or one hidden behind `..`.
#[cfg(unix)]
#[test]
fn a_dangling_symlink_cannot_lead_a_write_outside() {
    let (root, dir) = project_with_neighbour();
    let target = root.path().join("elsewhere/x");
    std::os::unix::fs::symlink(&target, dir.join("dangling")).expect("cannot make a symlink");
    std::os::unix::fs::symlink(root.path(), dir.join("up")).expect("cannot make a symlink");
    std::fs::create_dir(dir.join("sub")).unwrap();
    std::os::unix::fs::symlink("../../elsewhere", dir.join("sub/back"))
        .expect("cannot make a symlink");
    for path in ["dangling", "up/new.txt", "sub/back/y"] {
        root.write(
            "project/write.rhai",
            format!("fs::write({path:?}, \"planted\");\n"),
        );
        root.brrt()
            .current_dir(&dir)
            .args(["run", "write.rhai"])
            .run()
            .failure(1)
            .stderr_contains("error: fs::write: ")
            .stderr_contains("is outside the project directory");
    }
    assert!(!target.exists() && !root.path().join("new.txt").exists());
    assert!(!root.path().join("elsewhere").exists());
    // A link that stays inside is followed.
    std::os::unix::fs::symlink("sub/notes.txt", dir.join("notes")).unwrap();
    root.write("project/write.rhai", "fs::write(\"notes\", \"inside\");\n");
    root.brrt()
        .current_dir(&dir)
        .args(["run", "write.rhai"])
        .run()
        .success();
    assert_eq!(
        std::fs::read_to_string(dir.join("sub/notes.txt")).unwrap(),
        "inside"
    );
}

#[test]
fn writing_outside_the_project_is_refused() {
    let (root, dir) = project_with_neighbour();
    root.write("project/write.rhai", "fs::write(\"../made.txt\", \"x\");\n");
    root.brrt()
        .current_dir(&dir)
        .args(["run", "write.rhai"])
        .run()
        .failure(1)
        .stderr_contains("error: fs::write: ")
        .stderr_contains("is outside the project directory");
    assert!(!root.path().join("made.txt").exists());
}

#[test]
fn write_then_read_inside_the_project() {
    let project = Project::new().file(
        "rw.rhai",
        r#"
        print("first=" + fs::write("out/note.txt", "hello\n"));
        print("again=" + fs::write("out/note.txt", "hello\n"));
        print("read=" + to_debug(fs::read("out/note.txt")));
        print("exists=" + fs::exists("out/note.txt"));
        print("missing=" + fs::exists("out/none.txt"));
        "#,
    );
    let out = project.brrt().args(["run", "rw.rhai"]).run();
    out.success();
    assert_eq!(out.printed("first"), "true");
    assert_eq!(out.printed("again"), "false");
    assert_eq!(out.printed("read"), r#""hello\n""#);
    assert_eq!(out.printed("exists"), "true");
    assert_eq!(out.printed("missing"), "false");
    assert_eq!(
        std::fs::read_to_string(project.path().join("out/note.txt")).unwrap(),
        "hello\n"
    );
}

#[test]
fn dry_run_does_not_write() {
    let project = Project::new().file("w.rhai", "fs::write(\"note.txt\", \"x\");\n");
    project
        .brrt()
        .args(["run", "--dry-run", "w.rhai"])
        .run()
        .success()
        .stderr_contains("would update file note.txt");
    assert!(!project.path().join("note.txt").exists());
}

#[test]
fn a_refused_call_points_at_the_calling_line() {
    let (root, dir) = project_with_neighbour();
    root.write(
        "project/read.rhai",
        "let a = 1;\nlet text = fs::read(\"../outside\");\n",
    );
    root.brrt()
        .current_dir(&dir)
        .args(["run", "read.rhai"])
        .run()
        .failure(1)
        .stderr_contains("--> read.rhai:2:");
}
