#!/usr/bin/env bash
# Runs the extension's test with a real Tilt and Docker: `tilt ci` passes once brrt-test is
# ready (its push registry answers on 127.0.0.1:5091), then everything it made is removed.
# Needs tilt, docker and brrt on PATH (or BRRT=/absolute/path/to/brrt). brrt's CI has no Tilt
# and does not run this; tests/integrations.rs evaluates this Tiltfile under go.starlark.net.
set -euo pipefail

cd "$(dirname "$0")"
brrt="${BRRT:-brrt}"
cleanup() {
  "$brrt" run ../../../../scripts/dev-down.rhai --set config=brrt.toml --set purge=true || true
  docker network rm brrt-tilt-test >/dev/null 2>&1 || true   # dev-down leaves networks alone
}
trap cleanup EXIT

tilt ci --timeout 3m
