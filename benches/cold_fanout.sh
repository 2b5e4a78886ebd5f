#!/usr/bin/env bash
# Bench: three nodes pulling the same cold image at the same moment (a DaemonSet's first start),
# through brrt's cache (issue 19).
#
# distribution v3 fetches a cold blob from its upstream once for one client, but a second
# client asking for a blob that is still being fetched is served straight from the upstream,
# without storing: three nodes at once cost up to three upstream fetches. 2.8 fetches the blob
# twice for the first client (storage and client) and once more for each other one. This bench
# counts it: an upstream stand-in throttled to RATE with `tc qdisc … tbf` (the bytes it sent by
# tc's own counter), one image of three random layers, three fresh node stand-ins (real
# containerd, `ctr images pull` through hosts.toml) started pulling together, for each registry
# release in REGISTRIES; then the cure: `cache warm` of the image first, and three more fresh
# nodes pulling it together. Figures only. Everything it makes is named brrt-b-<pid>-… and
# removed at exit.
#
# Usage: benches/cold_fanout.sh   (RATE=100mbit LAYERS=30m,20m,10m REGISTRIES="3 2" by default)
#   BRRT=path/to/brrt uses that binary; otherwise the release binary is built.
# Needs: root (nsenter, tc), a running Docker engine, python3, the testbed images.
set -euo pipefail

RATE=${RATE:-100mbit}
LAYERS=${LAYERS:-30m,20m,10m}
REGISTRIES=${REGISTRIES:-"3 2"}
NODE_IMAGE=${NODE_IMAGE:-brrt-testbed/node:containerd2}
REPO=$(cd "$(dirname "$0")/.." && pwd)
PREFIX=brrt-b-$$
NETWORK=$PREFIX-net
UPSTREAM=$PREFIX-upstream
WORK=$(mktemp -d "${TMPDIR:-/tmp}/brrt-b.XXXXXX")

log() { printf '[cold_fanout] %s\n' "$*" >&2; }

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

[ "$(id -u)" = 0 ] || { log "needs root: the throttle is set with nsenter and tc"; exit 1; }
command -v tc >/dev/null && command -v nsenter >/dev/null || { log "needs tc (iproute2) and nsenter (util-linux)"; exit 1; }
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
IMAGE=docker.io/$(python3 "$REPO/benches/push_images.py" "127.0.0.1:$UP_PORT" "fanout/app" 1 "$LAYERS")
echo "$IMAGE" >"$WORK/images.txt"
UP_PID=$(docker inspect -f '{{.State.Pid}}' "$UPSTREAM")
in_upstream() { nsenter -t "$UP_PID" -n "$@"; }
in_upstream tc qdisc add dev eth0 root tbf rate "$RATE" burst 64kb latency 200ms
sent() { in_upstream tc -s qdisc show dev eth0 | awk '/Sent/ { print $2; exit }'; }
image_mb=$(python3 -c 'import sys; print(sum(float(s[:-1]) for s in sys.argv[1].split(",")) * 1.048576)' "$LAYERS")
log "upstream throttled to $RATE; one image of $LAYERS"

new_node() {
  docker run -d --name "$1" --network "$NETWORK" \
    --label "io.x-k8s.kind.cluster=$2" --label io.x-k8s.kind.role=worker \
    --cap-add SYS_ADMIN --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
    "$NODE_IMAGE" >/dev/null
  until docker exec "$1" ctr version >/dev/null 2>&1; do sleep 0.1; done
}
# at_once NODE…: each node pulls the image, all started together; sets T (wall time) and B
# (bytes the upstream sent meanwhile).
at_once() {
  local b0 t0 node pids=() rc=0
  b0=$(sent)
  t0=$EPOCHREALTIME
  for node in "$@"; do
    docker exec "$node" ctr -n k8s.io images pull --hosts-dir /etc/containerd/certs.d "$IMAGE" >/dev/null 2>&1 &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || rc=1; done
  T=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
  B=$(($(sent) - b0))
  [ "$rc" = 0 ] || log "a pull failed"
}
measure() {
  local b0 t0
  b0=$(sent)
  t0=$EPOCHREALTIME
  "$@"
  T=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
  B=$(($(sent) - b0))
}

report=$WORK/report
printf '\n3 fresh nodes pulling one cold image (%s, %.0f MB) at the same moment; upstream throttled to %s\n' \
  "$LAYERS" "$image_mb" "$RATE" >"$report"
printf '%-12s %-44s %9s %12s %8s\n' "registry" "" "seconds" "upstream MB" "x image" >>"$report"
row() {
  awk -v r="$1" -v l="$2" -v t="$3" -v b="$4" -v m="$image_mb" \
    'BEGIN { printf "%-12s %-44s %9.2f %12.1f %7.1fx\n", r, l, t, b / 1e6, b / 1e6 / m }' >>"$report"
}
for v in $REGISTRIES; do
  cluster=$PREFIX-k$v
  dir=$WORK/r$v
  mkdir -p "$dir"
  cat >"$dir/brrt.toml" <<TOML
[cluster]
name = "$cluster"
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
  brrt_run() { (cd "$dir" && "$BRRT" run -qq "$REPO/scripts/$1" "${@:2}"); }
  for n in 1 2 3; do new_node "$cluster-cold$n" "$cluster"; done
  brrt_run dev-up.rhai >/dev/null
  at_once "$cluster-cold1" "$cluster-cold2" "$cluster-cold3"
  row "registry:$v" "cold cache, 3 nodes at once" "$T" "$B"
  log "registry:$v: cold, 3 at once: $T s, $B bytes from the upstream"
  for n in 1 2 3; do docker rm -f -v "$cluster-cold$n" >/dev/null; done

  brrt_run cache.rhai -- clear docker.io >/dev/null
  measure brrt_run cache.rhai -- warm "$WORK/images.txt"
  row "registry:$v" "cache warm first (the cure)" "$T" "$B"
  log "registry:$v: cache warm: $T s, $B bytes"
  for n in 1 2 3; do new_node "$cluster-warm$n" "$cluster"; done
  brrt_run dev-up.rhai >/dev/null
  at_once "$cluster-warm1" "$cluster-warm2" "$cluster-warm3"
  row "registry:$v" "then 3 fresh nodes at once" "$T" "$B"
  log "registry:$v: warm, 3 at once: $T s, $B bytes"
  for n in 1 2 3; do docker rm -f -v "$cluster-warm$n" >/dev/null; done
done
log "load after: $(uptime)"
cat "$report"
