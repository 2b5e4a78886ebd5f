//! Issue 7, item 15: `docker::ping` asks the engine every time, and an engine lost in the
//! middle of a run is engine loss: `--watch` waits for it and applies again, instead of taking
//! it for a script error that waits for the next save.

use crate::support::cluster::wait_for;
use crate::support::{EngineDoor, Project, Running, Testbed};
use std::time::Duration;

/// Pings, says so, waits for the file `go`, then pings again.
const TWO_PINGS: &str = "docker::ping();\nlog::info(\"first ping answered\");\n\
                         while !fs::exists(\"go\") { sleep(0.05); }\n\
                         docker::ping();\nprint(\"second ping answered\");\n";

#[test]
fn ping_asks_the_engine_every_time() {
    let Some(_tb) = Testbed::require("engine_loss_ping") else {
        return;
    };
    let project = Project::new().file("flow.rhai", TWO_PINGS);
    let socket = project.path().join("engine.sock");
    let door = EngineDoor::bind(&socket);
    door.open();
    let mut run = Running::new(
        project
            .brrt()
            .env("DOCKER_HOST", EngineDoor::host(&socket))
            .args(["run", "flow.rhai"])
            .spawn(),
    );
    run.wait_for("the first ping", Duration::from_secs(30), |l| {
        l.iter().any(|l| l == "first ping answered")
    });
    door.shut();
    project.write("go", "");
    assert_eq!(run.wait_for_exit(Duration::from_secs(30)), Some(1));
    let lines = run.lines();
    assert!(
        lines.iter().any(|l| l.starts_with(&format!(
            "error: cannot reach Docker at {}",
            EngineDoor::host(&socket)
        ))),
        "{lines:#?}"
    );
    assert!(
        !lines.iter().any(|l| l == "second ping answered"),
        "{lines:#?}"
    );
}

#[test]
fn an_engine_lost_mid_run_is_waited_for_under_watch() {
    let Some(_tb) = Testbed::require("engine_loss_watch") else {
        return;
    };
    let project = Project::new().file("flow.rhai", TWO_PINGS);
    let socket = project.path().join("engine.sock");
    let door = EngineDoor::bind(&socket);
    door.open();
    let mut watching = Running::new(
        project
            .brrt()
            .env("DOCKER_HOST", EngineDoor::host(&socket))
            .args(["run", "--watch", "flow.rhai"])
            .spawn(),
    );
    watching.wait_for("the first ping", Duration::from_secs(30), |l| {
        l.iter().any(|l| l == "first ping answered")
    });
    door.shut();
    project.write("go", "");
    watching.wait_for("the engine to be missed", Duration::from_secs(30), |l| {
        l.iter()
            .any(|l| l.contains("cannot reach Docker") && l.contains("Retrying until it is back"))
    });
    let knocks = door.knocks();
    wait_for(30, "a retry", || match door.knocks() {
        n if n > knocks => Ok(()),
        n => Err(format!("{n} connection(s)")),
    });
    door.open();
    watching.wait_for("the flow to run again", Duration::from_secs(60), |l| {
        l.iter().any(|l| l == "second ping answered")
            && l.iter().any(|l| l.contains("Docker is back"))
    });
    let lines = watching.lines();
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("Waiting for the next change")),
        "engine loss was taken for a script error:\n{lines:#?}"
    );
    assert_eq!(watching.stop("-TERM"), Some(0));
}
