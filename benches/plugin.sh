#!/usr/bin/env bash
# WASM plugins, measured through the real release binary with the example plugin
# (plugins/examples/policy, built as `just plugin-build policy` builds it):
#
#   * load: a script imports N copies of the plugin under N names (each import reads,
#     validates and instantiates the module and reads its manifest; a script re-importing one
#     name would reuse the module), minus an empty script, divided by N. Target: under 5 ms
#     for a module of up to 200 KB.
#   * call: a script calls `policy::pinned("nginx:1.27")` N times (a trivial function: JSON
#     in, a reference parsed, JSON out), minus the same loop without the call, divided by N.
#     Target: under 20 µs. `policy::parse` (a map of five fields back) is shown beside it.
#   * startup: `brrt run` of an empty script, and of a script that only imports the plugin.
#     Target: no change for the script that imports no plugin (compare with benches/startup.sh
#     on a build without plugins; brrt does no plugin work until a script imports one).
#
# Usage: benches/plugin.sh [RUNS]   (default 30 runs of each script; the median is reported)
# Needs the wasm32-unknown-unknown target; without it, it says so and measures nothing.
# Prints figures only; a missed target does not fail it.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-30}
case "$RUNS" in '' | *[!0-9]* | 0)
  echo "plugin.sh: RUNS must be a positive whole number, got '$RUNS'" >&2
  exit 2
  ;;
esac

libdir=$(rustc --print target-libdir --target wasm32-unknown-unknown 2>/dev/null || true)
if ! ls "$libdir"/libcore-* >/dev/null 2>&1; then
  echo "plugin.sh: skipped, the wasm32-unknown-unknown target is not installed" \
    "(rustup target add wasm32-unknown-unknown)"
  exit 0
fi

echo "building the release binary and the example plugin..." >&2
cargo build --release --quiet
BIN=$(pwd)/${CARGO_TARGET_DIR:-target}/release/brrt
WORK=$(mktemp -d "${TMPDIR:-/tmp}/brrt-bench-plugin.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cargo build --release --quiet --locked --target wasm32-unknown-unknown \
  --manifest-path plugins/examples/policy/Cargo.toml --target-dir "$WORK/target"
mkdir -p "$WORK/plugins"
cp "$WORK/target/wasm32-unknown-unknown/release/policy.wasm" "$WORK/plugins/policy.wasm"

python3 - "$BIN" "$RUNS" "$WORK" <<'PY'
import os
import statistics
import sys
import time

binary, runs, work = sys.argv[1], int(sys.argv[2]), sys.argv[3]
os.chdir(work)  # brrt's project directory is the working directory
devnull = os.open(os.devnull, os.O_RDWR)
quiet = [(os.POSIX_SPAWN_DUP2, devnull, fd) for fd in (0, 1, 2)]
env = {k: v for k, v in os.environ.items() if not k.startswith("BRRT_")}

LOADS = 50
CALLS = 20000
loop = f"for i in 0..{CALLS}"
scripts = {
    "empty": "",
    "import": 'import "policy" as policy;\n',
    "load": "".join(f'import "copy{i}" as p{i};\n' for i in range(LOADS)),
    "call_base": f'import "policy" as policy;\n{loop} {{ "nginx:1.27"; }}\n',
    "call_pinned": f'import "policy" as policy;\n{loop} {{ policy::pinned("nginx:1.27"); }}\n',
    "call_parse": f'import "policy" as policy;\n{loop} {{ policy::parse("nginx:1.27"); }}\n',
}
for name, text in scripts.items():
    with open(f"{name}.rhai", "w") as f:
        f.write(text)
with open("plugins/policy.wasm", "rb") as f:
    wasm = f.read()
for i in range(LOADS):
    with open(f"plugins/copy{i}.wasm", "wb") as f:
        f.write(wasm)

def wall_ms(name):
    argv = [binary, "run", f"{name}.rhai"]
    start = time.perf_counter()
    pid = os.posix_spawn(binary, argv, env, file_actions=quiet)
    _, status, _ = os.wait4(pid, 0)
    elapsed = (time.perf_counter() - start) * 1000
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"plugin.sh: `brrt run {name}.rhai` failed")
    return elapsed

def median(name):
    wall_ms(name)  # warm-up, not counted
    return statistics.median(wall_ms(name) for _ in range(runs))

t = {name: median(name) for name in scripts}
load_ms = (t["load"] - t["empty"]) / LOADS
pinned_us = (t["call_pinned"] - t["call_base"]) / CALLS * 1000
parse_us = (t["call_parse"] - t["call_base"]) / CALLS * 1000
size_kb = len(wasm) / 1000
verdict = lambda ok: "met" if ok else "missed"

print(f"WASM plugins: median of {runs} runs per script, {binary}")
print(f"example plugin: plugins/examples/policy, {size_kb:.0f} KB")
print()
print(f"load: read, validate, instantiate, manifest  {load_ms:7.2f} ms  target < 5 ms   -> {verdict(load_ms < 5)}")
print(f"call: policy::pinned(\"nginx:1.27\")         {pinned_us:7.2f} µs  target < 20 µs  -> {verdict(pinned_us < 20)}")
print(f"call: policy::parse(\"nginx:1.27\")          {parse_us:7.2f} µs")
print(f"startup: brrt run empty.rhai                {t['empty']:7.2f} ms")
print(f"startup: brrt run import.rhai (one import)  {t['import']:7.2f} ms  (+{t['import'] - t['empty']:.2f} ms)")
print()
print(f"(raw medians: {LOADS} imports {t['load']:.1f} ms; {CALLS}-turn loop without a call "
      f"{t['call_base']:.1f} ms, with pinned {t['call_pinned']:.1f} ms, with parse {t['call_parse']:.1f} ms)")
PY
