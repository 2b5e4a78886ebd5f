#!/usr/bin/env bash
# Benchmark: from saving brrt.toml (toggling one upstream) to the changed hosts.toml being
# present in the node, under `brrt run --watch scripts/dev-up.rhai`, over 20 edits.
# Prints figures; it does not fail on a missed target. Needs Docker and the testbed images.
set -euo pipefail
cd "$(dirname "$0")/.."
EDITS="${EDITS:-20}"

bash tests/testbed/build-images.sh >/dev/null
cargo build --release --quiet
BRRT="$PWD/target/release/brrt"

p="brrt-bench-watch-$$"
work="$(mktemp -d)"
pid=
# shellcheck source=benches/lib.sh
. benches/lib.sh

cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  remove_prefixed "$p" "$p-kind"
  rm -rf "$work"
}
trap cleanup EXIT

docker network create "$p-kind" >/dev/null
# The upstreams the caches proxy: a plain registry on the cluster network, as a reachable
# Docker Hub or quay.io would be (a proxy whose upstream is unreachable serves offline instead).
docker run -d --name "$p-upstream" --network "$p-kind" brrt-testbed/registry:2 >/dev/null
docker run -d --name "$p-control-plane" --network "$p-kind" \
  --label "io.x-k8s.kind.cluster=$p" --label io.x-k8s.kind.role=control-plane \
  --cap-add SYS_ADMIN --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
  brrt-testbed/node:latest >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

config() {
  cat <<TOML
[cluster]
name = "$p"
network = "$p-kind"
[registry]
name = "$p-reg"
port = $port
image = "brrt-testbed/registry:2"
[cache]
name = "$p-reg"
upstreams = [$1]
[cache.remotes]
"docker.io" = "http://$p-upstream:5000"
"quay.io" = "http://$p-upstream:5000"
TOML
}
config '"docker.io", "quay.io"' >"$work/with.toml"
config '"docker.io"' >"$work/without.toml"
cp "$work/with.toml" "$work/brrt.toml"

(cd "$work" && exec "$BRRT" run -q --watch "$OLDPWD/scripts/dev-up.rhai" >/dev/null) &
pid=$!
# Wait for the first apply: the quay.io mirror is in the node.
for _ in $(seq 1 100); do
  docker exec "$p-control-plane" test -f /etc/containerd/certs.d/quay.io/hosts.toml 2>/dev/null && break
  sleep 0.1
done

echo "brrt --watch latency ($(nproc) cores, $EDITS edits)"
python3 benches/watch_latency.py "$work/brrt.toml" "$p-control-plane" "$EDITS" "$work/with.toml" "$work/without.toml"
