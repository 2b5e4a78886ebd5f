# Sourced by the benches that make Docker objects; not a bench itself.

# Removes every container (with its anonymous volumes) and every volume whose name starts with
# "$1-", and the network "$2": all a bench made, whatever step it stopped at.
remove_prefixed() {
  local prefix=$1 network=$2 ids
  ids=$(docker ps -aq --filter "name=^$prefix-")
  # shellcheck disable=SC2086
  [ -z "$ids" ] || docker rm -f -v $ids >/dev/null 2>&1
  ids=$(docker volume ls -q --filter "name=^$prefix-")
  # shellcheck disable=SC2086
  [ -z "$ids" ] || docker volume rm $ids >/dev/null 2>&1
  docker network rm "$network" >/dev/null 2>&1
  return 0
}

# A loopback port nobody listens on, below the range Docker hands out.
free_port() {
  local p
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 12000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
  echo "no free loopback port between 20000 and 32000" >&2
  exit 1
}

# The brrt binary to bench: $BRRT when it names one, else the release binary, built now.
# Prints its absolute path.
brrt_binary() {
  local repo=$1 bin
  if [ -n "${BRRT:-}" ] && bin=$(command -v "$BRRT" 2>/dev/null); then
    case "$bin" in /*) ;; *) bin=$PWD/$bin ;; esac
    echo "$bin"
    return
  fi
  echo "[bench] building the release binary" >&2
  (cd "$repo" && cargo build --release --quiet)
  echo "$repo/target/release/brrt"
}

# --- the stack benches' shared setup (cold_fanout, warm_rerun, warm_vs_cold, seed_stack) ------
# They make their objects under brrt-b-<pid>-…, next to an upstream stand-in on a network of
# their own, and remove it all at exit.

# bench_init NAME: sets PREFIX, NETWORK, UPSTREAM, WORK (a fresh directory) and
# BENCH_NAME (what `log` prints first), and removes it all on exit, interrupt or stop.
# A bench that made more defines `cleanup_more` (run after the containers are gone) and may
# define `cleanup_note` (printed after the "cleaned up" line's names).
bench_init() {
  BENCH_NAME=$1
  PREFIX=brrt-b-$$
  NETWORK=$PREFIX-net
  UPSTREAM=$PREFIX-upstream
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/brrt-b.XXXXXX")
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

log() { printf '[%s] %s\n' "${BENCH_NAME:-bench}" "$*" >&2; }

bench_cleanup() {
  set +e
  remove_prefixed "$PREFIX" "$NETWORK"
  if declare -F cleanup_more >/dev/null; then cleanup_more; fi
  rm -rf "$WORK"
  if declare -F cleanup_note >/dev/null; then
    log "cleaned up $PREFIX-*; $(cleanup_note)"
  else
    log "cleaned up $PREFIX-*"
  fi
}

# The throttle is set from the host in the upstream's network namespace.
require_throttle_tools() {
  [ "$(id -u)" = 0 ] || { log "needs root: the throttle is set with nsenter and tc"; exit 1; }
  command -v tc >/dev/null && command -v nsenter >/dev/null || { log "needs tc (iproute2) and nsenter (util-linux)"; exit 1; }
}

require_docker() {
  docker info >/dev/null 2>&1 || { log "no Docker engine: start dockerd first"; exit 1; }
}

# The testbed images and the brrt binary (sets BRRT); logs which binary and the load.
bench_prepare() {
  "$REPO/tests/testbed/build-images.sh" 2>/dev/null
  BRRT=$(brrt_binary "$REPO")
  log "brrt: $BRRT"
  log "load before: $(uptime)"
}

# The network and the upstream stand-in (registry 2.8) on it, answering; sets UP_PORT, its
# port on the host's loopback.
start_upstream() {
  docker network create "$NETWORK" >/dev/null
  docker run -d --name "$UPSTREAM" --network "$NETWORK" --publish 127.0.0.1::5000 \
    brrt-testbed/registry:2 >/dev/null
  UP_PORT=$(docker port "$UPSTREAM" 5000/tcp | sed -n 's/^127\.0\.0\.1://p' | head -1)
  until curl -fsS "http://127.0.0.1:$UP_PORT/v2/" >/dev/null 2>&1; do sleep 0.1; done
}

# throttle_upstream RATE: the upstream's interface limited with `tc qdisc … tbf` (`netem`
# does not work on these kernels); `sent` then reads its counter.
throttle_upstream() {
  UP_PID=$(docker inspect -f '{{.State.Pid}}' "$UPSTREAM")
  in_upstream tc qdisc add dev eth0 root tbf rate "$1" burst 64kb latency 200ms
}
in_upstream() { nsenter -t "$UP_PID" -n "$@"; }
# Bytes the upstream has sent, by the throttle's own counter.
sent() { in_upstream tc -s qdisc show dev eth0 | awk '/Sent/ { print $2; exit }'; }

# write_config FILE CLUSTER REGISTRY_NAME RELEASE: a brrt.toml with one cache for docker.io,
# proxying the upstream stand-in, run by brrt-testbed/registry:RELEASE.
write_config() {
  cat >"$1" <<TOML
[cluster]
name = "$2"
network = "$NETWORK"

[registry]
name = "$3"
port = $(free_port)
image = "brrt-testbed/registry:$4"

[cache]
name = "$3"
upstreams = ["docker.io"]

[cache.remotes]
"docker.io" = "http://$UPSTREAM:5000"
TOML
}

# new_node NAME CLUSTER [ROLE]: a node stand-in of $NODE_IMAGE (real containerd) labelled as
# kind labels a node of CLUSTER (ROLE: worker by default), once its containerd answers.
new_node() {
  docker run -d --name "$1" --network "$NETWORK" \
    --label "io.x-k8s.kind.cluster=$2" --label "io.x-k8s.kind.role=${3:-worker}" \
    --cap-add SYS_ADMIN --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
    "$NODE_IMAGE" >/dev/null
  until docker exec "$1" ctr version >/dev/null 2>&1; do sleep 0.1; done
}

# seconds COMMAND…: runs it, sets T to its wall time.
seconds() {
  local t0=$EPOCHREALTIME
  "$@"
  T=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
}

# measure COMMAND…: seconds, and B to the bytes the (throttled) upstream sent meanwhile.
measure() {
  local b0
  b0=$(sent)
  seconds "$@"
  B=$(($(sent) - b0))
}
