#!/usr/bin/env bash
# Bench: the headline of brrt, warm against cold (issue 9), on the testbed.
#
# An upstream stand-in (the registry image) is throttled with `tc qdisc … tbf` on its own
# interface, from the host through its network namespace (nsenter; `netem` does not work on
# these kernels). It holds five images of random layers (5–40 MB each, built here FROM
# scratch). Each run times, on a fresh node stand-in each time (real containerd, `ctr pull`
# through hosts.toml, one image after the other as kubelet pulls by default):
#   (a) pulling all five with no cache (hosts.toml points at the upstream),
#   (b) through brrt's cache for docker.io, cold (the cache emptied first),
#   (c) through the cache after `cache warm` (the cache emptied, then warmed; the warm is timed),
#   (d) on a second fresh node, warm;
# and `docker pull` of the same five, one after the other, from the throttled upstream.
# (b), (c), (d) and the warm-up run for each registry release in REGISTRIES (a cache of its
# own each): registry:3 fetches a cold blob from the upstream once, registry:2 twice.
# It prints the median of RUNS runs of each, each ratio against (a), warm-up against the
# sequential pulls, and the bytes the upstream sent for each (tc's counter). Figures only: a
# missed target does not fail it. Everything it makes is named brrt-b-<pid>-… and removed at
# exit.
#
# Usage: benches/warm_vs_cold.sh       (RUNS=3 RATE=20mbit SIZES="5 12 20 30 40"
#                                      REGISTRIES="3 2" by default)
#   BRRT=path/to/brrt uses that binary; otherwise the release binary is built.
# Needs: root (nsenter, tc), a running Docker engine, the testbed images.
set -euo pipefail

RUNS=${RUNS:-3}
RATE=${RATE:-20mbit}
SIZES=${SIZES:-"5 12 20 30 40"}
REGISTRIES=${REGISTRIES:-"3 2"}
REPO=$(cd "$(dirname "$0")/.." && pwd)
NODE_IMAGE=brrt-testbed/node:latest

# shellcheck source=benches/lib.sh
. "$REPO/benches/lib.sh"
bench_init warm_vs_cold
CLUSTER=$PREFIX-kind

# The images it built and pushed, whatever step it stopped at.
cleanup_more() {
  local n
  for n in $(seq 1 10); do
    docker image rm "$PREFIX/img$n:1" >/dev/null 2>&1
    [ -z "${UP_PORT:-}" ] || docker image rm "127.0.0.1:$UP_PORT/$PREFIX/img$n:1" >/dev/null 2>&1
  done
}

require_throttle_tools
require_docker
bench_prepare

# --- the upstream, its images, the throttle ---------------------------------------------
start_upstream

IMAGES=()
total_mb=0
i=0
for mb in $SIZES; do
  i=$((i + 1))
  ctx=$WORK/img$i
  mkdir -p "$ctx"
  # Images of 20 MB or more get two layers, as real images have several.
  if [ "$mb" -ge 20 ]; then
    head -c "$((mb / 3))M" /dev/urandom >"$ctx/a"
    head -c "$((mb - mb / 3))M" /dev/urandom >"$ctx/b"
    printf 'FROM scratch\nCOPY a /a\nCOPY b /b\n' >"$ctx/Dockerfile"
  else
    head -c "${mb}M" /dev/urandom >"$ctx/a"
    printf 'FROM scratch\nCOPY a /a\n' >"$ctx/Dockerfile"
  fi
  DOCKER_BUILDKIT=0 docker build -q -t "$PREFIX/img$i:1" "$ctx" >/dev/null 2>&1
  docker tag "$PREFIX/img$i:1" "127.0.0.1:$UP_PORT/$PREFIX/img$i:1"
  docker push -q "127.0.0.1:$UP_PORT/$PREFIX/img$i:1" >/dev/null
  docker image rm "127.0.0.1:$UP_PORT/$PREFIX/img$i:1" "$PREFIX/img$i:1" >/dev/null
  rm -rf "$ctx"
  IMAGES+=("docker.io/$PREFIX/img$i:1")
  total_mb=$((total_mb + mb))
done
printf '%s\n' "${IMAGES[@]}" >"$WORK/images.txt"

throttle_upstream "$RATE"
log "upstream $UPSTREAM throttled to $RATE; ${#IMAGES[@]} images, $total_mb MB"

# --- brrt's projects: one cache for docker.io per release, proxying the upstream ------------
for v in $REGISTRIES; do
  mkdir -p "$WORK/r$v"
  write_config "$WORK/r$v/brrt.toml" "$CLUSTER$v" "$PREFIX-reg$v" "$v"
done
# brrt_run V SCRIPT ARGS…: in the project of registry:V. -qq: the stand-in cluster has no API
# server, which dev-up would warn about on every run.
brrt_run() { (cd "$WORK/r$1" && "$BRRT" run -qq "$REPO/scripts/$2" "${@:3}"); }

# A fresh node (new_node NAME CLUSTER control-plane): in the cluster (wired by dev-up), or
# outside it with hosts.toml pointing straight at the upstream (direct_mirror).
direct_mirror() {
  docker exec "$1" sh -c "mkdir -p /etc/containerd/certs.d/docker.io && printf '%s\n' \
    'server = \"http://$UPSTREAM:5000\"' '' '[host.\"http://$UPSTREAM:5000\"]' \
    '  capabilities = [\"pull\", \"resolve\"]' > /etc/containerd/certs.d/docker.io/hosts.toml"
}

pull_all() {
  local image
  for image in "${IMAGES[@]}"; do
    docker exec "$1" ctr -n k8s.io images pull --hosts-dir /etc/containerd/certs.d "$image" >/dev/null
  done
}
docker_pull_all() {
  local i
  for i in $(seq 1 "${#IMAGES[@]}"); do
    docker pull -q "127.0.0.1:$UP_PORT/$PREFIX/img$i:1" >/dev/null
  done
}
docker_pull_forget() {
  local i
  for i in $(seq 1 "${#IMAGES[@]}"); do
    docker image rm "127.0.0.1:$UP_PORT/$PREFIX/img$i:1" >/dev/null
  done
}
record() { printf '%s %s\n' "$T" "$B" >>"$WORK/$1"; }

# The first dev-up makes each cache; no node is wired yet.
for v in $REGISTRIES; do brrt_run "$v" dev-up.rhai >/dev/null 2>&1; done
for run in $(seq 1 "$RUNS"); do
  log "run $run/$RUNS"
  node=$PREFIX-a$run
  new_node "$node" "$PREFIX-direct" control-plane
  direct_mirror "$node"
  measure pull_all "$node"; record a; log "  (a) no cache: $T s, $B bytes from the upstream"
  docker rm -f -v "$node" >/dev/null

  for v in $REGISTRIES; do
    brrt_run "$v" cache.rhai -- clear docker.io >/dev/null
    node=$CLUSTER$v-b$run
    new_node "$node" "$CLUSTER$v" control-plane
    brrt_run "$v" dev-up.rhai >/dev/null
    measure pull_all "$node"; record "b$v"; log "  registry:$v (b) cold cache: $T s, $B bytes"
    docker rm -f -v "$node" >/dev/null

    brrt_run "$v" cache.rhai -- clear docker.io >/dev/null
    measure brrt_run "$v" cache.rhai -- warm "$WORK/images.txt" >/dev/null; record "warm$v"
    log "  registry:$v cache warm: $T s, $B bytes"
    node=$CLUSTER$v-c$run
    new_node "$node" "$CLUSTER$v" control-plane
    brrt_run "$v" dev-up.rhai >/dev/null
    measure pull_all "$node"; record "c$v"; log "  registry:$v (c) after cache warm: $T s, $B bytes"
    docker rm -f -v "$node" >/dev/null
    node=$CLUSTER$v-d$run
    new_node "$node" "$CLUSTER$v" control-plane
    brrt_run "$v" dev-up.rhai >/dev/null
    measure pull_all "$node"; record "d$v"; log "  registry:$v (d) second fresh node: $T s, $B bytes"
    docker rm -f -v "$node" >/dev/null
  done

  measure docker_pull_all; record seq; log "  sequential docker pull: $T s, $B bytes"
  docker_pull_forget
done
log "load after: $(uptime)"

# median FILE COLUMN
median() { awk -v c="$2" '{ print $c }' "$1" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
a=$(median "$WORK/a" 1)
s=$(median "$WORK/seq" 1)
printf '\nwarm vs cold: %d images of random layers (%s MB; %d MB in all), upstream throttled to %s (tc tbf),\n' \
  "${#IMAGES[@]}" "$(echo "$SIZES" | tr ' ' ',')" "$total_mb" "$RATE"
printf 'a fresh node each time, pulls one after the other; median of %d runs\n' "$RUNS"
printf '%-52s %9s %9s %14s\n' "" "seconds" "vs (a)" "upstream MB"
row() {
  awk -v l="$1" -v t="$(median "$WORK/$2" 1)" -v a="$a" -v b="$(median "$WORK/$2" 2)" -v r="${3:-}" \
    'BEGIN { if (r == "") printf "%-52s %9.2f %8.1fx %14.1f\n", l, t, a / t, b / 1e6;
             else printf "%-52s %9.2f %9s %14.1f\n", l, t, "", b / 1e6 }'
}
row "(a) no cache" a
for v in $REGISTRIES; do
  row "(b) through the registry:$v cache, cold" "b$v"
  row "(c) through the registry:$v cache, after cache warm" "c$v"
  row "(d) second fresh node, registry:$v, warm" "d$v"
  row "cache warm into registry:$v (wall time)" "warm$v" -
done
row "sequential docker pull of all ${#IMAGES[@]}" seq -
for v in $REGISTRIES; do
  awk -v v="$v" -v a="$a" -v b="$(median "$WORK/b$v" 1)" -v c="$(median "$WORK/c$v" 1)" \
    -v d="$(median "$WORK/d$v" 1)" -v w="$(median "$WORK/warm$v" 1)" -v s="$s" 'BEGIN {
    printf "registry:%s: (b) cold through the cache %.2fx the time of (a)", v, b / a
    if (v == 3) printf " (target <= 1.1x: %s)", (b / a <= 1.1 ? "met" : "missed")
    printf "\n"
    printf "registry:%s: (c) %.1fx and (d) %.1fx faster than (a) (target >= 10x: %s)\n", v, a / c, a / d, (a / c >= 10 && a / d >= 10 ? "met" : "missed")
    printf "registry:%s: cache warm / sequential docker pull: %.2f (target <= 0.5: %s)\n", v, w / s, (w / s <= 0.5 ? "met" : "missed")
  }'
done
