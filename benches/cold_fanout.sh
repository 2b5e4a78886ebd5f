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

# shellcheck source=benches/lib.sh
. "$REPO/benches/lib.sh"
bench_init cold_fanout

require_throttle_tools
require_docker
bench_prepare

start_upstream
IMAGE=docker.io/$(python3 "$REPO/benches/push_images.py" "127.0.0.1:$UP_PORT" "fanout/app" 1 "$LAYERS")
echo "$IMAGE" >"$WORK/images.txt"
throttle_upstream "$RATE"
image_mb=$(python3 -c 'import sys; print(sum(float(s[:-1]) for s in sys.argv[1].split(",")) * 1.048576)' "$LAYERS")
log "upstream throttled to $RATE; one image of $LAYERS"

# pull_together NODE…: each node pulls the image, all started together.
pull_together() {
  local node pids=() rc=0
  for node in "$@"; do
    docker exec "$node" ctr -n k8s.io images pull --hosts-dir /etc/containerd/certs.d "$IMAGE" >/dev/null 2>&1 &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || rc=1; done
  [ "$rc" = 0 ] || log "a pull failed"
}

report=$WORK/report
printf '\n3 fresh nodes pulling one cold image (%s, %.0f MB) at the same moment; upstream throttled to %s\n' \
  "$LAYERS" "$image_mb" "$RATE" >"$report"
printf '%-12s %-44s %9s %12s %8s\n' "registry" "" "seconds" "upstream MB" "x image" >>"$report"
row() {
  awk -v r="$1" -v l="$2" -v t="$3" -v b="$4" -v m="$image_mb" \
    'BEGIN { printf "%-12s %-44s %9.2f %12.1f %7.1fx\n", r, l, t, b / 1e6, b / 1e6 / m }' >>"$report"
}
# three_at_once TAG LABEL: three fresh nodes of $cluster, wired by dev-up, pull the image at
# once; a row of the report, then the nodes removed.
three_at_once() {
  local tag=$1 n
  for n in 1 2 3; do new_node "$cluster-$tag$n" "$cluster"; done
  brrt_run dev-up.rhai >/dev/null
  measure pull_together "$cluster-${tag}1" "$cluster-${tag}2" "$cluster-${tag}3"
  row "registry:$v" "$2" "$T" "$B"
  log "registry:$v: $tag, 3 at once: $T s, $B bytes from the upstream"
  for n in 1 2 3; do docker rm -f -v "$cluster-$tag$n" >/dev/null; done
}
for v in $REGISTRIES; do
  cluster=$PREFIX-k$v
  dir=$WORK/r$v
  mkdir -p "$dir"
  write_config "$dir/brrt.toml" "$cluster" "$PREFIX-reg$v" "$v"
  brrt_run() { (cd "$dir" && "$BRRT" run -qq "$REPO/scripts/$1" "${@:2}"); }
  three_at_once cold "cold cache, 3 nodes at once"

  brrt_run cache.rhai -- clear docker.io >/dev/null
  measure brrt_run cache.rhai -- warm "$WORK/images.txt"
  row "registry:$v" "cache warm first (the cure)" "$T" "$B"
  log "registry:$v: cache warm: $T s, $B bytes"
  three_at_once warm "then 3 fresh nodes at once"
done
log "load after: $(uptime)"
cat "$report"
