#!/usr/bin/env bash
# Bench: a no-op `brrt run scripts/dev-up.rhai` (everything already as brrt.toml wants it)
# against the same checks done the way justfile recipes do them, with the docker CLI
# (benches/dev_up_noop_shell.sh); then the repair: in each of N rounds another tool (that
# script's --rewrite, a docker exec per file) rewrites the node's five mirror files in its own
# text, which differs from brrt's, and dev-up puts brrt's back.
#
# Sets up, with names brrt-bench-<pid>-*: one network, an upstream stand-in, then lets dev-up
# build 1 push registry + 4 caches (docker.io, gcr.io, quay.io, ghcr.io, all proxying the
# stand-in; a set of caches of the bench's own, never the engine's brrt-cache-*) and wire 1
# node stand-in. Converges once, then times N runs of each side and prints median and p95
# (targets: the no-op <= 20 ms, the repair <= 60 ms, medians) and the ratio brrt/shell (target
# <= 0.1). It reports figures only: a missed target does not fail it. Everything it made is
# removed at exit. BRRT=path benches a binary of your own instead of building the release one.
#
# Usage: benches/dev_up_noop.sh            (N=20 by default; N=50 benches/dev_up_noop.sh)
# Needs: a running Docker engine and the testbed images (tests/testbed/build-images.sh).
set -euo pipefail

N=${N:-20}
REPO=$(cd "$(dirname "$0")/.." && pwd)
PREFIX=brrt-bench-$$
NETWORK=$PREFIX-net
CLUSTER=$PREFIX-kind
NODE=$CLUSTER-control-plane
UPSTREAM=$PREFIX-upstream
REGISTRY=$PREFIX-reg
CACHES=$PREFIX-cache
UPSTREAMS=(docker.io gcr.io quay.io ghcr.io)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/brrt-bench.XXXXXX")

log() { printf '[bench] %s\n' "$*" >&2; }

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

docker info >/dev/null 2>&1 || {
  log "no Docker engine: start dockerd first"
  exit 1
}
"$REPO/tests/testbed/build-images.sh" 2>/dev/null
BRRT=$(brrt_binary "$REPO")
PORT=$(free_port)

docker network create "$NETWORK" >/dev/null
docker run -d --name "$UPSTREAM" --network "$NETWORK" brrt-testbed/registry:2 >/dev/null
docker run -d --name "$NODE" --network "$NETWORK" \
  --label "io.x-k8s.kind.cluster=$CLUSTER" --label io.x-k8s.kind.role=control-plane \
  --cap-add SYS_ADMIN --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
  brrt-testbed/node:latest >/dev/null
until docker exec "$NODE" ctr version >/dev/null 2>&1; do sleep 0.1; done

# The project: brrt.toml, and the repo's scripts as scripts/.
ln -s "$REPO/scripts" "$WORK/scripts"
{
  printf '[cluster]\nname = "%s"\nnetwork = "%s"\n\n' "$CLUSTER" "$NETWORK"
  printf '[registry]\nname = "%s"\nport = %s\nimage = "brrt-testbed/registry:2"\n\n' "$REGISTRY" "$PORT"
  printf '[cache]\nname = "%s"\nenabled = true\nupstreams = [' "$CACHES"
  sep=""
  for up in "${UPSTREAMS[@]}"; do printf '%s"%s"' "$sep" "$up"; sep=", "; done
  printf ']\n\n[cache.remotes]\n'
  for up in "${UPSTREAMS[@]}"; do printf '"%s" = "http://%s:5000"\n' "$up" "$UPSTREAM"; done
} >"$WORK/brrt.toml"
cd "$WORK"

brrt_dev_up() { "$BRRT" run scripts/dev-up.rhai; }
shell_peer() {
  "$REPO/benches/dev_up_noop_shell.sh" "$@" "$CLUSTER" "$NETWORK" "$REGISTRY" "$PORT" "$CACHES" \
    "$(realpath "$WORK/brrt.toml")" "${UPSTREAMS[@]}"
}
shell_checks() { shell_peer; }
shell_rewrite() { shell_peer --rewrite; }

log "converging: 1 push registry, ${#UPSTREAMS[@]} caches, 1 node"
brrt_dev_up >/dev/null 2>&1 || {
  brrt_dev_up
  exit 1
}
out=$(brrt_dev_up 2>&1)
grep -q "dev-up: nothing changed" <<<"$out" || {
  log "the second dev-up was not a no-op:"
  printf '%s\n' "$out" >&2
  exit 1
}
shell_checks || {
  log "the shell checks disagree with what dev-up built"
  exit 1
}

# time_runs NAME CMD...: run CMD N times, one duration in ms per line into $WORK/NAME.
time_runs() {
  local name=$1 i t0 t1
  shift
  : >"$WORK/$name"
  for ((i = 0; i < N; i++)); do
    t0=$EPOCHREALTIME
    "$@" >/dev/null 2>&1 || log "$name run $i failed"
    t1=$EPOCHREALTIME
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f\n", (b - a) * 1000 }' >>"$WORK/$name"
  done
}

# stat FILE P: the P-th percentile (nearest rank) of the numbers in FILE.
stat() {
  sort -n "$1" | awk -v p="$2" '{ v[NR] = $1 } END { r = int((p / 100) * NR + 0.999999); if (r < 1) r = 1; print v[r] }'
}

log "timing $N no-op runs of each"
time_runs brrt brrt_dev_up
time_runs shell shell_checks

# The repair, in pairs: the other tool rewrites the five files, then dev-up writes brrt's back.
log "timing $N repairs of the ${#UPSTREAMS[@]}+1 mirror files another tool rewrote"
: >"$WORK/repair" && : >"$WORK/rewrite"
wrote="wrote docker.io gcr.io ghcr.io localhost:$PORT quay.io"
for ((i = 0; i < N; i++)); do
  t0=$EPOCHREALTIME
  shell_rewrite || log "rewrite $i failed"
  t1=$EPOCHREALTIME
  out=$(brrt_dev_up 2>&1) || log "repair $i failed"
  t2=$EPOCHREALTIME
  grep -q "$wrote" <<<"$out" || {
    log "dev-up did not write the five files back (round $i):"
    printf '%s\n' "$out" >&2
    exit 1
  }
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f\n", (b - a) * 1000 }' >>"$WORK/rewrite"
  awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.1f\n", (b - a) * 1000 }' >>"$WORK/repair"
done
shell_checks || {
  log "after the repairs, the shell checks disagree with what dev-up wrote"
  exit 1
}

# row LABEL FILE [TARGET_MS]: median and p95 of FILE, and the median against the target.
row() {
  local p50 p95 verdict=""
  p50=$(stat "$2" 50) p95=$(stat "$2" 95)
  if [ -n "${3:-}" ]; then
    verdict=$(awk -v m="$p50" -v t="$3" 'BEGIN { printf "median <= %d ms: %s", t, (m <= t ? "met" : "missed") }')
  fi
  printf '%-44s %10s %10s   %s\n' "$1" "$p50" "$p95" "$verdict"
}

printf '\nno-op dev-up, 1 push registry + %d caches + 1 node, N=%d\n' "${#UPSTREAMS[@]}" "$N"
printf '%-44s %10s %10s   %s\n' "" "median ms" "p95 ms" "target"
row "brrt run scripts/dev-up.rhai" "$WORK/brrt" 20
row "shell checks (docker CLI)" "$WORK/shell"
b50=$(stat "$WORK/brrt" 50) b95=$(stat "$WORK/brrt" 95)
s50=$(stat "$WORK/shell" 50) s95=$(stat "$WORK/shell" 95)
awk -v b="$b50" -v s="$s50" -v b95="$b95" -v s95="$s95" 'BEGIN {
  r = b / s
  printf "ratio brrt/shell: %.3f median, %.3f p95 (target <= 0.1: %s)\n", r, b95 / s95, (r <= 0.1 ? "met" : "missed")
}'
printf '\nrepair: another tool rewrote the %d mirror files in its own text, N=%d\n' "$((${#UPSTREAMS[@]} + 1))" "$N"
printf '%-44s %10s %10s   %s\n' "" "median ms" "p95 ms" "target"
row "brrt run scripts/dev-up.rhai (writes 5)" "$WORK/repair" 60
row "the other tool rewriting them (docker CLI)" "$WORK/rewrite"
