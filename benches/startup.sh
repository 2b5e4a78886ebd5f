#!/usr/bin/env bash
# Startup cost of brrt: wall time and peak memory of `brrt run <empty script>` and of
# `brrt --version`, measured on the release binary.
#
# Usage: benches/startup.sh [RUNS]     (default 50 runs per command)
#
# Builds with `cargo build --release`, runs each command once to warm the page cache, then
# RUNS times, and prints the median and 95th percentile wall time and the largest peak RSS
# (GNU /usr/bin/time's %M, or ru_maxrss from python3's os.wait4 when it is absent). Targets for
# the empty script: under 20 ms and under 20 MB. This prints figures only; a missed target
# does not fail it.
set -euo pipefail

cd "$(dirname "$0")/.."
RUNS=${1:-50}
case "$RUNS" in '' | *[!0-9]* | 0)
  echo "startup.sh: RUNS must be a positive whole number, got '$RUNS'" >&2
  exit 2
  ;;
esac
command -v python3 >/dev/null 2>&1 || {
  echo "startup.sh: python3 is needed to measure peak memory" >&2
  exit 2
}

echo "building the release binary (cargo build --release)..." >&2
cargo build --release --quiet
BIN=$(pwd)/${CARGO_TARGET_DIR:-target}/release/brrt
[ -x "$BIN" ] || {
  echo "startup.sh: no binary at $BIN" >&2
  exit 1
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/brrt-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
: >"$WORK/empty.rhai"

python3 - "$BIN" "$RUNS" "$WORK" <<'PY'
import math
import os
import statistics
import sys
import time

binary, runs, work = sys.argv[1], int(sys.argv[2]), sys.argv[3]
os.chdir(work)  # brrt's project directory is the working directory
devnull = os.open(os.devnull, os.O_RDWR)
quiet = [(os.POSIX_SPAWN_DUP2, devnull, fd) for fd in (0, 1, 2)]
env = {k: v for k, v in os.environ.items() if k != "BRRT_LOG"}

# ru_maxrss of a child counts what its process held before exec too, and a child spawned by
# python starts as a copy of python (~10 MB). GNU time is a small launcher, so its figure is
# brrt's own; without it, os.wait4 gives python's floor at least (printed as a caveat).
GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
RSS_FILE = os.path.join(work, "rss")

def spawn(argv):
    """Runs argv quietly; returns wall ms, ru_maxrss in kB, exit code."""
    start = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, env, file_actions=quiet)
    _, status, usage = os.wait4(pid, 0)
    wall_ms = (time.perf_counter() - start) * 1000
    return wall_ms, usage.ru_maxrss, os.waitstatus_to_exitcode(status)

def peak_mb(argv):
    """Peak RSS of argv in MB (10^6 bytes)."""
    if GNU_TIME:
        _, _, code = spawn([GNU_TIME, "-f", "%M", "-o", RSS_FILE] + argv)
        with open(RSS_FILE) as f:
            kib = int(f.read().split()[-1])
    else:
        _, kib, code = spawn(argv)
    return kib * 1024 / 1e6, code

def p95(values):
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]

cases = [
    ("brrt run empty.rhai", [binary, "run", "empty.rhai"]),
    ("brrt --version", [binary, "--version"]),
]
results = {}
for label, argv in cases:
    spawn(argv)  # warm-up, not counted
    timed = [spawn(argv) for _ in range(runs)]
    memory = [peak_mb(argv) for _ in range(runs)]
    walls = [t[0] for t in timed]
    results[label] = {
        "median": statistics.median(walls),
        "p95": p95(walls),
        "rss": max(m[0] for m in memory),
        "failed": sum(1 for t in timed if t[2] != 0) + sum(1 for m in memory if m[1] != 0),
    }

how = "GNU time" if GNU_TIME else "os.wait4"
print(f"brrt startup: {runs} runs each for time and for memory ({how}), {binary}")
print()
print(f"{'command':<22} {'median':>9} {'p95':>9} {'peak RSS':>10}")
for label, r in results.items():
    print(f"{label:<22} {r['median']:>6.1f} ms {r['p95']:>6.1f} ms {r['rss']:>7.1f} MB")
    if r["failed"]:
        print(f"  warning: {r['failed']} of {2 * runs} runs exited non-zero", file=sys.stderr)
if not GNU_TIME:
    floor = peak_mb(["/bin/true"])[0]
    print(f"(no /usr/bin/time: peak RSS includes the launcher; /bin/true measures {floor:.1f} MB)")

empty = results["brrt run empty.rhai"]
verdict = lambda ok: "met" if ok else "missed"
print()
print("targets for the empty script:")
print(f"  wall time < 20 ms: p95 {empty['p95']:.1f} ms -> {verdict(empty['p95'] < 20)}")
print(f"  peak RSS  < 20 MB: {empty['rss']:.1f} MB -> {verdict(empty['rss'] < 20)}")
PY
