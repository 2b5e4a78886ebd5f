//! CI or a developer's machine: under CI a missing part of the testbed fails the test; on a
//! developer's machine the test skips and says why.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Whether this run is CI: `CI` set to `true`, `1` or `yes` (any case), as CI services set it.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| {
        ["true", "1", "yes"]
            .iter()
            .any(|ci| v.trim().eq_ignore_ascii_case(ci))
    })
}

/// A part the test needs is missing: under CI the test fails; elsewhere it is skipped, and the
/// reason goes straight to the process's stderr (libtest would swallow an `eprintln!` of a
/// passing test).
#[track_caller]
pub fn missing(test: &str, why: &str) {
    assert!(!in_ci(), "CI is set and {why} [{test}]");
    let _ = writeln!(std::io::stderr(), "skipping: {why} [{test}]");
}

/// The folder with the real third-party binaries of the testbed (containerd and ctr 2.x, tilt):
/// `BRRT_TESTBED_BIN`, or `../shared/testbed/bin` beside this repository.
pub fn testbed_bin() -> PathBuf {
    match std::env::var_os("BRRT_TESTBED_BIN").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/testbed/bin"),
    }
}
