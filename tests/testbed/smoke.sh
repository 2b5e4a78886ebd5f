#!/usr/bin/env bash
# Smoke test of the whole testbed chain, by hand with the docker CLI:
#
#   host --docker push--> upstream registry (Docker Hub stand-in)
#   node (containerd) --certs.d/docker.io/hosts.toml--> proxy-cache registry --> upstream
#   host --docker push--> push registry <--certs.d/localhost:PORT/hosts.toml-- node
#
# Usage: tests/testbed/smoke.sh      (builds missing images via build-images.sh first)
# Needs: a running Docker engine, curl. Everything it creates is named brrt-smoke-<pid>-*
# and removed by an EXIT trap; published ports are 127.0.0.1-only and picked by Docker.
#
# Findings (Docker 20.10.24, containerd/ctr 1.6.20 from Debian bookworm, distribution
# 2.8.2; seen on this VM):
# - ctr needs `--hosts-dir /etc/containerd/certs.d` to use certs.d at all: ctr does not
#   read the CRI plugin's `config_path`. Without it, docker.io goes straight to
#   registry-1.docker.io. No --plain-http is needed: the `http://` scheme in the
#   `[host."http://NAME:5000"]` header of hosts.toml makes that mirror plain HTTP.
#   Snapshotter: the image sets CONTAINERD_SNAPSHOTTER=native, which ctr reads as
#   its --snapshotter default, so no --snapshotter flag is needed either.
# - containerd 1.6 rejects a hosts.toml with only `server = ...` and no [host."..."]
#   table: "failed to decode hosts.toml" error="invalid `host` tree"; the file is then
#   ignored and the pull goes to the default host. Always write at least one [host] table.
# - When the mirror answers 404 (unknown tag), containerd falls back to `server` (for
#   docker.io: https://registry-1.docker.io; for localhost:PORT with no server line:
#   http://localhost:PORT, i.e. the node's own loopback -> "connection refused"). The
#   error message names the fallback host, not the mirror.
# - The CRI plugin (io.containerd.grpc.v1.cri) loads and reports "ok" in `ctr plugins ls`
#   inside the node; it logs one expected error, "failed to load cni during init" (no CNI
#   config). Because it is running, every image pulled into the k8s.io namespace also gets
#   a second ref `sha256:<config digest>` and the label io.cri-containerd.image=managed,
#   as on a real kind node. So `ctr -n k8s.io images rm NAME` alone does NOT free the
#   content: remove the sha256: ref too (and use --sync), or a "re-pull" is served from
#   the node's own content store without touching any registry.
# - Registry in proxy mode: POST /v2/<repo>/blobs/uploads/ -> 405 {"errors":[{"code":
#   "UNSUPPORTED",...}]}; `docker push` to it retries for a while, then fails with
#   "unsupported". containerd sends `?ns=docker.io` on mirror requests; the proxy ignores it.
# - /v2/_catalog on the proxy lists the repo only once the background write finished:
#   poll it (this script does) before stopping the upstream.
# - `docker exec NODE true` takes about 30-60 ms here (2 cores, idle); a ctr pull of a
#   tiny image via the proxy takes ~0.2 s wall including the exec. `docker stop` of the
#   node is ~0.1 s (containerd exits on SIGTERM).
# - The node runs without --privileged (which fails on this host: "unable to apply
#   caps"); --cap-add SYS_ADMIN is what unpack/mount (bind mounts of the native
#   snapshotter) need, plus seccomp/apparmor unconfined.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
PREFIX=brrt-smoke-$$
CLUSTER=$PREFIX
NET=$PREFIX-net
UPSTREAM=$PREFIX-upstream
CACHE=$PREFIX-cache
CACHE_VOL=$PREFIX-cache-data
PUSH=$PREFIX-push
NODE=$CLUSTER-control-plane
REGISTRY_IMAGE=brrt-testbed/registry:2
NODE_IMAGE=brrt-testbed/node:latest

log() { printf '[smoke] %s\n' "$*" >&2; }
fail() {
  printf '[smoke] FAIL: %s\n' "$*" >&2
  exit 1
}

TAGS=()
cleanup() {
  local rc=$?
  set +e
  if [ "$rc" != 0 ]; then
    log "failed (rc=$rc); last logs:"
    for c in "$NODE" "$CACHE" "$UPSTREAM" "$PUSH"; do
      docker logs --tail 10 "$c" 2>&1 | sed "s/^/  [$c] /" >&2
    done
  fi
  docker rm -f -v "$NODE" "$CACHE" "$UPSTREAM" "$PUSH" >/dev/null 2>&1
  docker volume rm "$CACHE_VOL" >/dev/null 2>&1
  docker network rm "$NET" >/dev/null 2>&1
  for t in ${TAGS[@]+"${TAGS[@]}"}; do docker image rm "$t" >/dev/null 2>&1; done
  log "cleaned up $PREFIX-*"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

command -v curl >/dev/null 2>&1 || fail "curl is required"
docker info >/dev/null 2>&1 || fail "Docker engine not reachable"
"$HERE/build-images.sh"

# host_port CONTAINER: the 127.0.0.1 port Docker published for 5000/tcp.
host_port() {
  docker port "$1" 5000/tcp | sed -n 's/^127\.0\.0\.1:\([0-9]*\)$/\1/p' | head -n1
}

# http_code METHOD URL: print the HTTP status (000 when unreachable).
http_code() {
  curl -s -o /dev/null -w '%{http_code}' -X "$1" --max-time 5 "$2" || true
}

# wait_for SECONDS DESCRIPTION CMD...: poll CMD every 0.2 s until it succeeds.
wait_for() {
  local secs=$1 what=$2 deadline
  shift 2
  deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || fail "timed out after ${secs}s waiting for $what"
    sleep 0.2
  done
}

registry_up() { [ "$(http_code GET "http://127.0.0.1:$1/v2/")" = 200 ]; }

# start_registry NAME [docker run args...]: run the registry image on the net, loopback port.
start_registry() {
  local name=$1 port
  shift
  docker run -d --name "$name" --network "$NET" -p 127.0.0.1::5000 "$@" "$REGISTRY_IMAGE" >/dev/null
  port=$(host_port "$name")
  [ -n "$port" ] || fail "no published port for $name"
  wait_for 30 "$name on 127.0.0.1:$port" registry_up "$port"
  printf '%s' "$port"
}

# push_as SRC DEST: tag SRC as DEST, push it, drop the tag again at exit.
push_as() {
  docker tag "$1" "$2"
  TAGS+=("$2")
  docker push -q "$2" >/dev/null || fail "docker push $2"
}

node_exec() { docker exec "$NODE" "$@"; }

# write_hosts_toml DIRNAME CONTENT: write certs.d/DIRNAME/hosts.toml inside the node.
write_hosts_toml() {
  printf '%s\n' "$2" | docker exec -i "$NODE" sh -c \
    "mkdir -p '/etc/containerd/certs.d/$1' && cat > '/etc/containerd/certs.d/$1/hosts.toml'"
}

node_pull() {
  node_exec ctr -n k8s.io images pull --hosts-dir /etc/containerd/certs.d "$1" >/dev/null
}

# node_file REF PATH: print PATH from image REF in the node (mounts the image).
node_file() {
  node_exec sh -c "m=\$(mktemp -d) && ctr -n k8s.io images mount '$1' \"\$m\" >/dev/null &&
    cat \"\$m/$2\"; rc=\$?; ctr -n k8s.io images unmount --rm \"\$m\" >/dev/null; rmdir \"\$m\"; exit \$rc"
}

# node_forget_all: remove every image ref (incl. the CRI's sha256: refs) and check that
# no content and no snapshot is left, so the next pull must go to a registry.
node_forget_all() {
  local refs
  refs=$(node_exec ctr -n k8s.io images ls -q)
  if [ -n "$refs" ]; then
    # shellcheck disable=SC2086
    node_exec ctr -n k8s.io images rm --sync $refs >/dev/null
  fi
  [ -z "$(node_exec ctr -n k8s.io content ls -q)" ] || fail "content left in node after images rm"
  # `snapshots ls` has no -q: a header, then one line per snapshot.
  [ "$(node_exec ctr -n k8s.io snapshots ls | wc -l)" -le 1 ] || fail "snapshots left in node after images rm"
}

# --- network ------------------------------------------------------------------------
docker network create "$NET" >/dev/null
log "network $NET"

# --- upstream (Docker Hub stand-in), with library/hello:1 ---------------------------
UP_PORT=$(start_registry "$UPSTREAM")
log "upstream $UPSTREAM on 127.0.0.1:$UP_PORT"
push_as brrt-testbed/hello:1 "127.0.0.1:$UP_PORT/library/hello:1"
log "pushed 127.0.0.1:$UP_PORT/library/hello:1"

# --- proxy cache ----------------------------------------------------------------------
CACHE_PORT=$(start_registry "$CACHE" \
  -e "REGISTRY_PROXY_REMOTEURL=http://$UPSTREAM:5000" -v "$CACHE_VOL:/var/lib/registry")
log "cache $CACHE on 127.0.0.1:$CACHE_PORT (proxy of http://$UPSTREAM:5000)"
cache_log=$(docker logs "$CACHE" 2>&1)
grep -q "configured as a proxy cache to http://$UPSTREAM:5000" <<<"$cache_log" ||
  fail "cache did not start in proxy mode"
code=$(http_code POST "http://127.0.0.1:$CACHE_PORT/v2/library/hello/blobs/uploads/")
[ "$code" = 405 ] || fail "push to proxy: expected 405, got $code"
log "push to proxy -> 405 (as expected)"

# --- node -----------------------------------------------------------------------------
docker run -d --name "$NODE" --hostname "$NODE" --network "$NET" \
  --label "io.x-k8s.kind.cluster=$CLUSTER" --label io.x-k8s.kind.role=control-plane \
  --cap-add SYS_ADMIN --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
  "$NODE_IMAGE" >/dev/null
wait_for 30 "containerd in $NODE" node_exec ctr version
found=$(docker ps -q --filter "label=io.x-k8s.kind.cluster=$CLUSTER" --filter label=io.x-k8s.kind.role=control-plane)
[ -n "$found" ] || fail "node not found by kind labels"
cri=$(node_exec ctr plugins ls | awk '$2 == "cri" { print $NF }')
log "node $NODE up; CRI plugin status: ${cri:-absent}"

# Cost of one `docker exec` (what brrt pays per node command).
t0=$(date +%s%N)
for _ in 1 2 3 4 5; do node_exec true; done
t1=$(date +%s%N)
log "docker exec $NODE true: $(((t1 - t0) / 5000000)) ms average over 5"

# --- pull docker.io/library/hello:1 through the cache ---------------------------------
write_hosts_toml docker.io "server = \"https://registry-1.docker.io\"

[host.\"http://$CACHE:5000\"]
  capabilities = [\"pull\", \"resolve\"]"
node_pull docker.io/library/hello:1 || fail "pull docker.io/library/hello:1 via cache"
got=$(node_file docker.io/library/hello:1 hello.txt)
[ "$got" = "hello from brrt-testbed hello:1" ] || fail "unexpected hello.txt: $got"
log "node pulled docker.io/library/hello:1 via $CACHE"

cache_has_hello() {
  local catalog
  catalog=$(curl -fs --max-time 5 "http://127.0.0.1:$CACHE_PORT/v2/_catalog") || return 1
  grep -q '"library/hello"' <<<"$catalog"
}
wait_for 30 "library/hello in the cache's catalog" cache_has_hello
log "cache catalog lists library/hello"

# --- upstream gone: the cache still serves it -------------------------------------------
docker stop "$UPSTREAM" >/dev/null
node_forget_all
node_pull docker.io/library/hello:1 || fail "pull from cache with upstream stopped"
got=$(node_file docker.io/library/hello:1 hello.txt)
[ "$got" = "hello from brrt-testbed hello:1" ] || fail "unexpected hello.txt after re-pull: $got"
log "upstream stopped, content removed from node, re-pull served by the cache"

# --- push registry: localhost:PORT/app:dev ---------------------------------------------
PUSH_PORT=$(start_registry "$PUSH")
push_as brrt-testbed/hello:2 "127.0.0.1:$PUSH_PORT/app:dev"
log "pushed 127.0.0.1:$PUSH_PORT/app:dev to $PUSH"
write_hosts_toml "localhost:$PUSH_PORT" "[host.\"http://$PUSH:5000\"]
  capabilities = [\"pull\", \"resolve\"]"
node_pull "localhost:$PUSH_PORT/app:dev" || fail "pull localhost:$PUSH_PORT/app:dev"
got=$(node_file "localhost:$PUSH_PORT/app:dev" hello.txt)
[ "$got" = "hello from brrt-testbed hello:2" ] || fail "unexpected hello.txt in app:dev: $got"
log "node pulled localhost:$PUSH_PORT/app:dev via $PUSH"

log "OK: all smoke checks passed"
