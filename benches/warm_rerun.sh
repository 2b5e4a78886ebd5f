#!/usr/bin/env bash
# Bench: `cache warm` run again over images that are all cached (issue 19).
#
# An upstream stand-in holds N small images (two layers each, random data, pushed through the
# registry API by benches/push_images.py: built here, never pulled). For each registry release
# (registry:3 and registry:2 by default), dev-up makes a cache for docker.io, `cache warm`
# fetches the N images once (timed: the first fetch), then warms them again RUNS times over a
# cache that holds them all (timed: the re-run; target <= 2 s for 200 images). Figures only: a
# missed target does not fail it. Everything it makes is named brrt-b-<pid>-… and removed at
# exit.
#
# Usage: benches/warm_rerun.sh      (N=200 RUNS=5 REGISTRIES="3 2" by default)
#   BRRT=path/to/brrt uses that binary; otherwise the release binary is built.
# Needs: a running Docker engine, python3, the testbed images.
set -euo pipefail

N=${N:-200}
RUNS=${RUNS:-5}
REGISTRIES=${REGISTRIES:-"3 2"}
REPO=$(cd "$(dirname "$0")/.." && pwd)
PREFIX=brrt-b-$$
NETWORK=$PREFIX-net
UPSTREAM=$PREFIX-upstream
WORK=$(mktemp -d "${TMPDIR:-/tmp}/brrt-b.XXXXXX")

log() { printf '[warm_rerun] %s\n' "$*" >&2; }

# shellcheck source=benches/lib.sh
. "$REPO/benches/lib.sh"

cleanup() {
  set +e
  remove_prefixed "$PREFIX" "$NETWORK"
  rm -rf "$WORK"
  log "cleaned up $PREFIX-*"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

docker info >/dev/null 2>&1 || { log "no Docker engine: start dockerd first"; exit 1; }
"$REPO/tests/testbed/build-images.sh" 2>/dev/null
BRRT=$(brrt_binary "$REPO")
log "brrt: $BRRT"
log "load before: $(uptime)"

docker network create "$NETWORK" >/dev/null
docker run -d --name "$UPSTREAM" --network "$NETWORK" --publish 127.0.0.1::5000 \
  brrt-testbed/registry:2 >/dev/null
UP_PORT=$(docker port "$UPSTREAM" 5000/tcp | sed -n 's/^127\.0\.0\.1://p' | head -1)
until curl -fsS "http://127.0.0.1:$UP_PORT/v2/" >/dev/null 2>&1; do sleep 0.1; done
log "pushing $N images into the upstream"
python3 "$REPO/benches/push_images.py" "127.0.0.1:$UP_PORT" "bench/img" "$N" 1k,4k |
  sed 's|^|docker.io/|' >"$WORK/images.txt"

# seconds COMMAND…: runs it, sets T to its wall time.
seconds() {
  local t0=$EPOCHREALTIME
  "$@"
  T=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

printf '\ncache warm over %d images (2 layers each), first fetch and re-runs over what is cached\n' "$N" >"$WORK/report"
printf '%-12s %14s %22s %8s\n' "registry" "first warm s" "re-run s (median of $RUNS)" "target" >>"$WORK/report"
for v in $REGISTRIES; do
  dir=$WORK/r$v
  mkdir -p "$dir"
  cat >"$dir/brrt.toml" <<TOML
[cluster]
name = "$PREFIX-kind"
network = "$NETWORK"

[registry]
name = "$PREFIX-reg$v"
port = $(free_port)
image = "brrt-testbed/registry:$v"

[cache]
name = "$PREFIX-reg$v"
upstreams = ["docker.io"]

[cache.remotes]
"docker.io" = "http://$UPSTREAM:5000"
TOML
  warm() { (cd "$dir" && "$BRRT" run -q "$REPO/scripts/cache.rhai" -- warm "$WORK/images.txt" --jobs 8 >"$dir/out"); }
  (cd "$dir" && "$BRRT" run -q "$REPO/scripts/dev-up.rhai" >/dev/null 2>&1)
  seconds warm
  first=$T
  grep -q "$N warmed" "$dir/out" || { log "registry:$v: the first warm did not warm all $N:"; cat "$dir/out" >&2; }
  log "registry:$v: first warm $first s"
  : >"$dir/runs"
  for _ in $(seq 1 "$RUNS"); do
    seconds warm
    grep -q "$N already cached" "$dir/out" || { log "registry:$v: a re-run fetched something:"; tail -3 "$dir/out" >&2; }
    echo "$T" >>"$dir/runs"
    log "registry:$v: re-run $T s"
  done
  again=$(median <"$dir/runs")
  awk -v v="registry:$v" -v f="$first" -v r="$again" -v n="$N" 'BEGIN {
    printf "%-12s %14.2f %22.2f %8s\n", v, f, r, (r <= 2 * n / 200 ? "met" : "missed")
  }' >>"$WORK/report"
done
log "load after: $(uptime)"
cat "$WORK/report"
echo "(target: a re-run over 200 cached images in 2 s or less)"
