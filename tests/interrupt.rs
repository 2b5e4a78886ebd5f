//! Ctrl-C (SIGINT) and SIGTERM stop a run at its next operation with exit code 130, and a
//! container switch they cut into still ends with a container serving under its name.

use crate::support::{docker, set, try_docker, Project, Testbed};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a stopped run may take to exit.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// Starts `script`, waits until it logged `ready` (on stderr), sends `signal`, and returns the exit code
/// and everything it printed on stderr.
fn run_and_signal(script: &str, signal: &str) -> (Option<i32>, String) {
    let project = Project::new().file("spin.rhai", script);
    run_and_signal_after(&project, &[], Duration::ZERO, signal)
}

/// [`run_and_signal`] for `spin.rhai` in `project` with `extra` arguments, `delay` after `ready`.
fn run_and_signal_after(
    project: &Project,
    extra: &[String],
    delay: Duration,
    signal: &str,
) -> (Option<i32>, String) {
    let mut child = project
        .brrt()
        .args(["run", "spin.rhai"])
        .args(extra)
        .spawn();
    let stderr = child.stderr.take().expect("stderr is piped");
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut lines = BufReader::new(stderr);
        let mut seen = String::new();
        let mut line = String::new();
        while lines.read_line(&mut line).unwrap_or(0) > 0 {
            if line.trim_end() == "ready" {
                let _ = tx.send(());
            }
            seen.push_str(&line);
            line.clear();
        }
        seen
    });

    if rx.recv_timeout(STOP_TIMEOUT).is_err() {
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "the script never logged `ready`:\n{}",
            reader.join().unwrap_or_default()
        );
    }
    std::thread::sleep(delay);
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("cannot run kill");
    assert!(status.success(), "kill {signal} failed");

    let code = wait_with_timeout(&mut child);
    let stderr = reader.join().expect("the stderr reader panicked");
    (code, stderr)
}

fn wait_with_timeout(child: &mut Child) -> Option<i32> {
    let deadline = Instant::now() + STOP_TIMEOUT;
    loop {
        if let Some(status) = child.try_wait().expect("cannot wait for brrt") {
            return status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("brrt did not stop within {STOP_TIMEOUT:?} of the signal");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn ctrl_c_stops_a_docker_loop_with_130() {
    let Some(_tb) = Testbed::require("ctrl_c") else {
        return;
    };
    let (code, stderr) = run_and_signal(
        "docker::ping();\nlog::info(\"ready\");\nloop { docker::ping(); }\n",
        "-INT",
    );
    assert_eq!(code, Some(130), "stderr:\n{stderr}");
    assert!(stderr.contains("interrupted"), "stderr:\n{stderr}");
    assert!(!stderr.contains("panicked"), "stderr:\n{stderr}");
}

#[test]
fn sigterm_stops_a_busy_loop_with_130() {
    let (code, stderr) = run_and_signal("log::info(\"ready\");\nloop { }\n", "-TERM");
    assert_eq!(code, Some(130), "stderr:\n{stderr}");
    assert!(stderr.contains("interrupted"), "stderr:\n{stderr}");
    assert!(!stderr.contains("panicked"), "stderr:\n{stderr}");
}

/// A container that takes its whole stop timeout to go (`sleep` as PID 1 ignores SIGTERM), whose
/// env comes from `--set mode=…`.
const SLOW_TO_STOP: &str = r#"
log::info("ready");
docker::ensure(#{
    name: SET.name,
    image: "brrt-testbed/node:latest",
    entrypoint: ["sleep", "1000"],
    env: #{ BRRT_TEST_MODE: SET.mode },
});
"#;

/// Issue 7: "never lose a working cache". A SIGTERM while brrt switched a container for a
/// changed one used to cut the switch off wherever it was: mid-stop, after the old one was
/// renamed aside (nothing under its name), or before the old one was removed (left behind).
/// The switch now runs to its end before brrt exits.
#[test]
fn sigterm_during_a_container_switch_leaves_a_running_container() {
    let Some(tb) = Testbed::require("switch_interrupted") else {
        return;
    };
    let name = tb.container("slow");
    let project = Project::new().file("spin.rhai", SLOW_TO_STOP);
    let mode = |m: &str| [set("name", &name), set("mode", m)].concat();

    project
        .brrt()
        .args(["run", "spin.rhai"])
        .args(mode("a"))
        .run()
        .success();
    // The old container needs its 5 s stop timeout; the signal lands a second into it.
    let (code, stderr) =
        run_and_signal_after(&project, &mode("b"), Duration::from_secs(1), "-TERM");
    assert_eq!(code, Some(130), "stderr:\n{stderr}");

    let state = docker(&[
        "container",
        "inspect",
        "--format",
        "{{.State.Running}} {{json .Config.Env}}",
        &name,
    ]);
    assert!(
        state.starts_with("true "),
        "{name} is not running: {state}\n{stderr}"
    );
    assert!(
        state.contains("BRRT_TEST_MODE=b"),
        "the switch did not finish: {state}\n{stderr}"
    );
    let aside = format!("{name}-brrt-old");
    assert!(
        try_docker(&["container", "inspect", &aside]).is_none(),
        "{aside} was left behind\n{stderr}"
    );
}
