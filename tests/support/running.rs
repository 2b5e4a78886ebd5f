//! A `brrt` process that keeps running (`--watch`): read what it prints while it runs, signal
//! it, and wait for it to exit.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Running {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Running {
    /// Takes over a spawned `brrt` (stdout and stderr piped) and collects the lines of both,
    /// in the order they arrive, as a terminal would show them.
    pub fn new(mut child: Child) -> Self {
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let lines = Arc::new(Mutex::new(Vec::new()));
        collect(stdout, lines.clone());
        collect(stderr, lines.clone());
        Running { child, lines }
    }

    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// The lines that report a finished re-apply (`[HH:MM:SS] <trigger> → …`).
    pub fn applies(&self) -> Vec<String> {
        self.lines()
            .into_iter()
            .filter(|l| l.contains(" → "))
            .collect()
    }

    /// Waits until `ready` holds for the printed lines; fails the test with them after `timeout`.
    #[track_caller]
    pub fn wait_for(&mut self, what: &str, timeout: Duration, ready: impl Fn(&[String]) -> bool) {
        let deadline = Instant::now() + timeout;
        while !ready(&self.lines()) {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "brrt exited ({status}) while waiting for {what}:\n{}",
                    self.lines().join("\n")
                );
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}:\n{}",
                self.lines().join("\n")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until at least `n` re-applies were reported.
    #[track_caller]
    pub fn wait_for_applies(&mut self, n: usize) {
        self.wait_for(
            &format!("{n} re-apply line(s)"),
            Duration::from_secs(30),
            |lines| lines.iter().filter(|l| l.contains(" → ")).count() >= n,
        );
    }

    /// The process id, as brrt itself names it in messages.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the process to end on its own and returns its exit code; fails the test with
    /// what it printed after `timeout`.
    #[track_caller]
    pub fn wait_for_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("cannot wait for brrt") {
                // Let the readers take the last lines.
                std::thread::sleep(Duration::from_millis(50));
                return status.code();
            }
            assert!(
                Instant::now() < deadline,
                "brrt did not finish within {timeout:?}:\n{}",
                self.lines().join("\n")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends a signal (`-TERM`, `-INT`) and waits for the exit code.
    #[track_caller]
    pub fn stop(mut self, signal: &str) -> Option<i32> {
        let ok = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status();
        assert!(ok.is_ok_and(|s| s.success()), "kill {signal} failed");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().expect("cannot wait for brrt") {
                return status.code();
            }
            assert!(
                Instant::now() < deadline,
                "brrt did not stop:\n{}",
                self.lines().join("\n")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Appends every line `from` prints to `sink`, on a thread of its own.
fn collect(from: impl std::io::Read + Send + 'static, sink: Arc<Mutex<Vec<String>>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
