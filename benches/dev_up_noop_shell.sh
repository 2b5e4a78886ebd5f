#!/usr/bin/env bash
# The checks a typical justfile `dev-up` recipe makes before it changes anything, with the
# docker CLI: the network, each registry container running with its volume, the cluster's
# nodes, and in every node every mirror's hosts.toml compared with the wanted text. The
# baseline that benches/dev_up_noop.sh times a no-op `brrt run scripts/dev-up.rhai` against.
#
#
# With --rewrite first, it is instead the other tool that benches/dev_up_noop.sh makes brrt
# repair after: it writes every mirror's hosts.toml in every node with a docker exec each, as a
# recipe would, in its own text (brrt's first line, then its TOML indented), so the files
# differ from brrt's.
#
# Usage: dev_up_noop_shell.sh [--rewrite] CLUSTER NETWORK REGISTRY PORT CACHES CONFIG UPSTREAM...
# (CACHES: the set of caches, cache.name; CONFIG: the config's absolute path, which the
# mirrors name.) Exits 0 when everything is as wanted, 1 (listing what differs) otherwise.
set -euo pipefail

REWRITE=
if [ "${1:-}" = --rewrite ]; then
  REWRITE=1
  shift
fi
[ $# -ge 6 ] || {
  echo "usage: $0 [--rewrite] CLUSTER NETWORK REGISTRY PORT CACHES CONFIG UPSTREAM..." >&2
  exit 2
}
CLUSTER=$1 NETWORK=$2 REGISTRY=$3 PORT=$4 CACHES=$5 CONFIG=$6
shift 6
UPSTREAMS=("$@")
CERTS=/etc/containerd/certs.d
differs=0

differ() {
  echo "differs: $*" >&2
  differs=1
}

# The real endpoint a node falls back to when the cache cannot serve.
server_of() {
  case $1 in
    docker.io) echo https://registry-1.docker.io ;;
    gcr.io | quay.io | ghcr.io | registry.k8s.io | public.ecr.aws | mcr.microsoft.com) echo "https://$1" ;;
    *) echo "" ;;
  esac
}

cache_of() { echo "$CACHES-${1//./-}"; }

# wanted_hosts_toml HOST MIRROR_URL SERVER: the file the recipe would write.
wanted_hosts_toml() {
  printf '# Managed by brrt for %s: edit %s, not this file.\n' "$1" "$CONFIG"
  if [ -n "$3" ]; then printf 'server = "%s"\n\n' "$3"; fi
  printf '[host."%s"]\ncapabilities = ["pull", "resolve"]\n' "$2"
}

# peer_hosts_toml HOST MIRROR_URL SERVER: the other tool's text for the same mirror.
peer_hosts_toml() {
  printf '# Managed by brrt for %s: edit %s, not this file.\n' "$1" "$CONFIG"
  if [ -n "$3" ]; then printf 'server = "%s"\n' "$3"; fi
  printf '\n[host."%s"]\n  capabilities = ["pull", "resolve"]\n' "$2"
}

if [ -n "$REWRITE" ]; then
  # put NODE HOST TEXT: one file, written the way a recipe writes it.
  put() { docker exec -i "$1" sh -c "mkdir -p '$CERTS/$2' && cat > '$CERTS/$2/hosts.toml'" <<<"$3"; }
  for node in $(docker ps --filter "label=io.x-k8s.kind.cluster=$CLUSTER" --format '{{.Names}}'); do
    put "$node" "localhost:$PORT" "$(peer_hosts_toml "localhost:$PORT" "http://$REGISTRY:5000" "")"
    for up in "${UPSTREAMS[@]}"; do
      put "$node" "$up" "$(peer_hosts_toml "$up" "http://$(cache_of "$up"):5000" "$(server_of "$up")")"
    done
  done
  exit 0
fi

docker network inspect "$NETWORK" >/dev/null 2>&1 || differ "network $NETWORK"

registries=("$REGISTRY")
for up in "${UPSTREAMS[@]}"; do registries+=("$(cache_of "$up")"); done
for r in "${registries[@]}"; do
  running=$(docker inspect -f '{{.State.Running}}' "$r" 2>/dev/null || echo absent)
  [ "$running" = true ] || differ "container $r ($running)"
  docker volume inspect "$r-data" >/dev/null 2>&1 || differ "volume $r-data"
done

nodes=$(docker ps --filter "label=io.x-k8s.kind.cluster=$CLUSTER" --format '{{.Names}}')
[ -n "$nodes" ] || differ "no nodes in cluster $CLUSTER"
for node in $nodes; do
  got=$(docker exec "$node" cat "$CERTS/localhost:$PORT/hosts.toml" 2>/dev/null || true)
  [ "$got" = "$(wanted_hosts_toml "localhost:$PORT" "http://$REGISTRY:5000" "")" ] ||
    differ "$node: localhost:$PORT/hosts.toml"
  for up in "${UPSTREAMS[@]}"; do
    got=$(docker exec "$node" cat "$CERTS/$up/hosts.toml" 2>/dev/null || true)
    [ "$got" = "$(wanted_hosts_toml "$up" "http://$(cache_of "$up"):5000" "$(server_of "$up")")" ] ||
      differ "$node: $up/hosts.toml"
  done
done

exit "$differs"
