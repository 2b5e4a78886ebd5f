#!/usr/bin/env bash
# Runs the extension's test with a real Tilt and Docker: `tilt ci` passes once brrt-test is
# ready (its push registry answers on its port), then everything it made is removed.
#
# Needs tilt, docker and brrt on PATH, or TILT=/path/to/tilt and BRRT=/absolute/path/to/brrt.
# BRRT_CONFIG (default: brrt.toml here) gives the test names and a port of its own; brrt's
# tests (tests/integrations.rs) use it. Arguments go to `tilt ci`, e.g. `--port 10351`.
set -euo pipefail

cd "$(dirname "$0")"
brrt="${BRRT:-brrt}"
tilt="${TILT:-tilt}"
config="${BRRT_CONFIG:-brrt.toml}"
export TILT_DISABLE_ANALYTICS="${TILT_DISABLE_ANALYTICS:-1}"
cleanup() {
  "$brrt" run dev-down --set "config=$config" --set purge=true || true
  # dev-down leaves networks alone, since a cluster's nodes use them; this one is the test's.
  "$brrt" run remove-network.rhai --set "config=$config" || true
}
trap cleanup EXIT

"$tilt" ci --timeout 3m "$@"
