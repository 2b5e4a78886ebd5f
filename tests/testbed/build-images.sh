#!/usr/bin/env bash
# Build the local stand-in images that brrt's tests use instead of Docker Hub images.
#
# This machine has no Docker Hub, so every image is built here `FROM scratch` from
# binaries that Debian packages put on the host, and from the static containerd 2.x built
# for the testbed (see shared/TESTBED.md and shared/testbed/README.md):
#
#   brrt-testbed/registry:2    distribution 2.8.2 (/usr/bin/docker-registry, pkg docker-registry),
#                              standing in for Docker Hub's registry:2
#   brrt-testbed/registry:3    distribution v3 (the static registry-v3 in $BRRT_TESTBED_BIN),
#                              standing in for Docker Hub's registry:3, laid out as that image
#                              is (/bin/registry, /etc/distribution/config.yml). Skipped, with a
#                              note, when the binary is missing, unless --require-containerd2
#                              (or --require-testbed) is given.
#   brrt-testbed/node:latest   a kind-node stand-in with containerd 1.6: containerd + ctr
#                              (pkg docker.io) + busybox-static as /bin/sh and applets
#   brrt-testbed/node:containerd2
#                              the same with kind's containerd 2.x: the static containerd and
#                              ctr in $BRRT_TESTBED_BIN (default ../shared/testbed/bin beside
#                              this repository) and the node config next to that folder,
#                              node-containerd2/config.toml. Skipped, with a note, when they
#                              are missing, unless --require-containerd2 is given.
#   brrt-testbed/hello:1       tiny FROM-scratch images with one distinct text file each,
#   brrt-testbed/hello:2       pushed into an "upstream" registry by tests
#
# Every binary is copied with the shared libraries `ldd` reports, at the paths ldd
# reports (dereferenced), so the dynamic loader finds them inside the image.
#
# Every image is named brrt-testbed/...: nothing here tags or replaces an image a developer
# pulled (registry:2 included).
#
# Usage: tests/testbed/build-images.sh [--force] [--require-containerd2]
#   --require-containerd2 (alias --require-testbed): a missing binary of $BRRT_TESTBED_BIN
#   (containerd 2.x, registry v3) is an error, as CI wants it.
#   Idempotent: an image that already exists with the current TESTBED_VERSION label (and,
#   for node:containerd2, the checksum of its binaries and config) is skipped. --force
#   rebuilds everything.
#
# Builder: we export DOCKER_BUILDKIT=0 and use the classic builder. The engine is
# Debian's docker.io 20.10 and the CLI here is a 28.x client without the buildx plugin;
# with BuildKit on (the 28.x default) `docker build` fails with "BuildKit is enabled but
# the buildx component is missing or broken". The classic builder is built into the
# engine, handles FROM scratch/COPY/VOLUME/ENV fine, and only prints a deprecation note.
set -euo pipefail

export DOCKER_BUILDKIT=0

# Bump when the content of any image below changes: existing images with an older
# label are rebuilt even without --force.
TESTBED_VERSION=1
LABEL_KEY=org.brrt.testbed.version
# A checksum of the binaries an image is made of, so that new binaries rebuild it.
SOURCE_KEY=org.brrt.testbed.source

FORCE=0
REQUIRE_CONTAINERD2=0
for arg in "$@"; do
  case "$arg" in
    --force | -f) FORCE=1 ;;
    --require-containerd2 | --require-testbed) REQUIRE_CONTAINERD2=1 ;;
    -h | --help)
      sed -n '2,37p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "build-images.sh: unknown argument: $arg" >&2
      exit 2
      ;;
  esac
done

log() { printf '[build-images] %s\n' "$*" >&2; }
die() {
  printf '[build-images] ERROR: %s\n' "$*" >&2
  exit 1
}

command -v docker >/dev/null 2>&1 || die "docker CLI not found"
docker info >/dev/null 2>&1 || die "Docker engine not reachable (docker info failed)"

REGISTRY_BIN=/usr/bin/docker-registry
# containerd 1.6 comes with Debian's docker.io, in /usr/bin. The PATH is searched only after
# it, and whatever is found must be a 1.x: the 2.x static binaries have a node of their own.
CONTAINERD_BIN=$( (PATH=/usr/bin:/usr/sbin:$PATH command -v containerd) || true)
CTR_BIN=$( (PATH=/usr/bin:/usr/sbin:$PATH command -v ctr) || true)
BUSYBOX_BIN=/bin/busybox

[ -x "$REGISTRY_BIN" ] || die "$REGISTRY_BIN missing (apt-get install -y docker-registry)"
[ -n "$CONTAINERD_BIN" ] || die "containerd missing (apt-get install -y docker.io)"
[ -n "$CTR_BIN" ] || die "ctr missing (apt-get install -y docker.io)"
containerd_v1=$("$CONTAINERD_BIN" --version 2>/dev/null || true)
case "$containerd_v1" in
  *" 1."* | *" v1."*) ;;
  *) die "$CONTAINERD_BIN is not containerd 1.x (it says: ${containerd_v1:-nothing}); the node:latest image needs Debian's containerd 1.6" ;;
esac

# The real containerd 2.x, built from its release tag (see ../shared/testbed/README.md).
REPO_DIR=$(cd "$(dirname "$0")/../.." && pwd)
TESTBED_BIN=${BRRT_TESTBED_BIN:-$REPO_DIR/../shared/testbed/bin}
CONTAINERD2_BIN=$TESTBED_BIN/containerd
CTR2_BIN=$TESTBED_BIN/ctr
CONTAINERD2_CONFIG=$TESTBED_BIN/../node-containerd2/config.toml
REGISTRY3_BIN=$TESTBED_BIN/registry-v3
[ -x "$BUSYBOX_BIN" ] || die "$BUSYBOX_BIN missing (apt-get install -y busybox-static)"
# busybox must be static: it is the only thing in the node besides containerd/ctr's libs.
if ldd "$BUSYBOX_BIN" >/dev/null 2>&1; then
  die "$BUSYBOX_BIN is dynamically linked; install busybox-static"
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/brrt-testbed-build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# image_current NAME: true if NAME exists and carries the current testbed version.
image_current() {
  local v
  v=$(docker image inspect -f "{{index .Config.Labels \"$LABEL_KEY\"}}" "$1" 2>/dev/null) || return 1
  [ "$v" = "$TESTBED_VERSION" ]
}

# need_build NAME...: true if --force or any of the names is missing/outdated.
need_build() {
  [ "$FORCE" = 1 ] && return 0
  local n
  for n in "$@"; do
    image_current "$n" || return 0
  done
  return 1
}

# copy_path ROOT PATH: copy PATH (dereferenced) into ROOT at the same absolute path.
copy_path() {
  local root=$1 p=$2
  mkdir -p "$root$(dirname "$p")"
  cp -L "$p" "$root$p"
}

# copy_bin_with_libs ROOT BIN...: copy each binary and every library ldd lists for it.
copy_bin_with_libs() {
  local root=$1 bin lib
  shift
  for bin in "$@"; do
    copy_path "$root" "$bin"
    # ldd lines: "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" and
    # "/lib64/ld-linux-x86-64.so.2 (0x...)"; linux-vdso has no file. A static binary
    # makes ldd exit non-zero: nothing to copy then.
    while read -r lib; do
      [ -n "$lib" ] || continue
      [ -e "$root$lib" ] || copy_path "$root" "$lib"
    done < <( (ldd "$bin" 2>/dev/null || true) |
      awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
  done
}

# build NAME_CONTEXT TAG...: docker build the context dir with all tags, labelled with the
# testbed version and with any "KEY=VALUE" in EXTRA_LABELS.
EXTRA_LABELS=()
build() {
  local ctx=$1
  shift
  local args=() t old_ids=() id
  for t in "$@"; do
    args+=(-t "$t")
    id=$(docker image inspect -f '{{.Id}}' "$t" 2>/dev/null) && old_ids+=("$id")
  done
  for t in ${EXTRA_LABELS[@]+"${EXTRA_LABELS[@]}"}; do
    args+=(--label "$t")
  done
  log "building ${*} from $ctx"
  if ! docker build -q --label "$LABEL_KEY=$TESTBED_VERSION" "${args[@]}" "$ctx" >"$WORK/build.log" 2>&1; then
    cat "$WORK/build.log" >&2
    die "docker build failed for ${*}"
  fi
  # Drop an image this rebuild replaced, if it is now untagged and unused (a
  # container still using it keeps it; that is fine).
  for id in ${old_ids[@]+"${old_ids[@]}"}; do
    if [ -z "$(docker image inspect -f '{{join .RepoTags ""}}' "$id" 2>/dev/null)" ]; then
      docker image rm "$id" >/dev/null 2>&1 || true
    fi
  done
}

# registry_rootfs ROOT CONFIG_DIR: what registry:2 and registry:3 lay out alike: the folders
# (the binary goes in /bin), name resolution, the CA bundle and the config in
# CONFIG_DIR/config.yml.
registry_rootfs() {
  local root=$1 confdir=$2
  mkdir -p "$root/bin" "$root/var/lib/registry" "$root/tmp" "$root$confdir"
  chmod 1777 "$root/tmp"
  # Name resolution: files first (Docker's /etc/hosts), then DNS (Docker's embedded DNS
  # on user networks resolves container names).
  printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
  # CA bundle so a proxy could reach an https upstream (the real images have one too).
  if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    copy_path "$root" /etc/ssl/certs/ca-certificates.crt
  fi
  # Docker Hub's registry:2 and registry:3 images ship the same config; this is it, plus
  # storage.delete.enabled.
  cat >"$root$confdir/config.yml" <<'EOF'
version: 0.1
log:
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: /var/lib/registry
  delete:
    enabled: true
http:
  addr: :5000
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
EOF
}

# ---------------------------------------------------------------------------------
# brrt-testbed/registry:2
# ---------------------------------------------------------------------------------
REGISTRY_IMAGE=brrt-testbed/registry:2

build_registry() {
  local ctx=$WORK/registry root=$WORK/registry/rootfs
  registry_rootfs "$root" /etc/docker/registry
  copy_bin_with_libs "$root" "$REGISTRY_BIN"
  # The real image ships the binary as /bin/registry.
  ln -s "$REGISTRY_BIN" "$root/bin/registry"
  # Real image: ENTRYPOINT ["/entrypoint.sh"] CMD ["/etc/docker/registry/config.yml"],
  # which runs `registry serve <config>`. There is no shell here, so the entrypoint is
  # the binary with `serve`, and CMD is the config path as in the real image
  # (`docker run brrt-testbed/registry:2 /other/config.yml` works as with the real one).
  cat >"$ctx/Dockerfile" <<EOF
FROM scratch
COPY rootfs/ /
VOLUME ["/var/lib/registry"]
EXPOSE 5000
ENTRYPOINT ["$REGISTRY_BIN", "serve"]
CMD ["/etc/docker/registry/config.yml"]
EOF
  build "$ctx" "$REGISTRY_IMAGE"
}

# ---------------------------------------------------------------------------------
# brrt-testbed/registry:3
# ---------------------------------------------------------------------------------
REGISTRY3_IMAGE=brrt-testbed/registry:3

# distribution v3, laid out as Docker Hub's registry:3 is: the binary at /bin/registry, its
# config at /etc/distribution/config.yml (v3 has no default config path: it takes the `serve`
# argument or REGISTRY_CONFIGURATION_PATH), OTEL_TRACES_EXPORTER=none (without it v3 tries to
# send traces to an OTLP collector). The binary is static, so no libraries.
build_registry3() {
  local ctx=$WORK/registry3 root=$WORK/registry3/rootfs
  registry_rootfs "$root" /etc/distribution
  cp -L "$REGISTRY3_BIN" "$root/bin/registry"
  cat >"$ctx/Dockerfile" <<'EOF'
FROM scratch
COPY rootfs/ /
ENV OTEL_TRACES_EXPORTER=none
VOLUME ["/var/lib/registry"]
EXPOSE 5000
ENTRYPOINT ["/bin/registry"]
CMD ["serve", "/etc/distribution/config.yml"]
EOF
  EXTRA_LABELS=("$SOURCE_KEY=$(sha256sum <"$REGISTRY3_BIN" | cut -c1-16)")
  build "$ctx" "$REGISTRY3_IMAGE"
  EXTRA_LABELS=()
}

# registry3_current: registry:3 exists and was built from this binary.
registry3_current() {
  local v
  image_current "$REGISTRY3_IMAGE" || return 1
  v=$(docker image inspect -f "{{index .Config.Labels \"$SOURCE_KEY\"}}" "$REGISTRY3_IMAGE")
  [ "$v" = "$(sha256sum <"$REGISTRY3_BIN" | cut -c1-16)" ]
}

# ---------------------------------------------------------------------------------
# brrt-testbed/node:latest (containerd 1.6), brrt-testbed/node:containerd2
# ---------------------------------------------------------------------------------
# Applets linked into /bin (all of them, which includes at least: sh mkdir cat mv rm ls
# printf test [ find sleep env echo).
REQUIRED_APPLETS="sh mkdir cat mv rm ls printf test find sleep env echo"

# node_rootfs ROOT: what every node has besides containerd: busybox, the folders containerd
# and kind use, and name resolution.
node_rootfs() {
  local root=$1 a
  mkdir -p "$root/bin"
  cp -L "$BUSYBOX_BIN" "$root/bin/busybox"
  for a in $("$BUSYBOX_BIN" --list); do
    # Never shadow the real binaries we copied (none clash today, but be safe).
    [ -e "$root/bin/$a" ] || [ -e "$root/usr/bin/$a" ] || ln -s busybox "$root/bin/$a"
  done
  for a in $REQUIRED_APPLETS; do
    [ -e "$root/bin/$a" ] || die "busybox lacks required applet $a"
  done
  mkdir -p "$root/etc/containerd/certs.d" "$root/var/lib/containerd" "$root/run/containerd" \
    "$root/tmp" "$root/root" "$root/opt/cni/bin" "$root/etc/cni/net.d"
  chmod 1777 "$root/tmp"
  printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
  printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
  printf 'root:x:0:\n' >"$root/etc/group"
  if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    copy_path "$root" /etc/ssl/certs/ca-certificates.crt
  fi
}

# node_dockerfile CTX CONTAINERD: a node image that runs CONTAINERD as its entrypoint.
node_dockerfile() {
  cat >"$1/Dockerfile" <<EOF
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# Plain \`ctr images pull\` (and other ctr snapshot users) pick this up as --snapshotter.
ENV CONTAINERD_SNAPSHOTTER=native
ENTRYPOINT ["$2", "--config", "/etc/containerd/config.toml"]
EOF
}

build_node() {
  local ctx=$WORK/node root=$WORK/node/rootfs
  mkdir -p "$root"
  copy_bin_with_libs "$root" "$CONTAINERD_BIN" "$CTR_BIN"
  node_rootfs "$root"
  # Modelled on kindest/node's /etc/containerd/config.toml plus the patch kind's
  # local-registry guide applies (registry config_path = certs.d). Differences from a
  # real node: snapshotter native (overlayfs on overlay2 is not dependable in a
  # container; kind uses overlayfs), cgroupfs instead of SystemdCgroup (no systemd).
  cat >"$root/etc/containerd/config.toml" <<'EOF'
# brrt testbed: stand-in for a kind node's containerd config (kindest/node style).
version = 2
root = "/var/lib/containerd"
state = "/run/containerd"

[grpc]
  address = "/run/containerd/containerd.sock"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.9"
  tolerate_missing_hugepages_controller = true
  restrict_oom_score_adj = false

[plugins."io.containerd.grpc.v1.cri".containerd]
  snapshotter = "native"
  discard_unpacked_layers = true
  default_runtime_name = "runc"

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[plugins."io.containerd.grpc.v1.cri".registry]
  config_path = "/etc/containerd/certs.d"
EOF
  node_dockerfile "$ctx" "$CONTAINERD_BIN"
  build "$ctx" brrt-testbed/node:latest
}

# containerd2_missing: says what of containerd 2.x's binaries and config is missing, if any.
containerd2_missing() {
  local f
  for f in "$CONTAINERD2_BIN" "$CTR2_BIN"; do
    [ -x "$f" ] || printf '%s ' "$f"
  done
  [ -f "$CONTAINERD2_CONFIG" ] || printf '%s ' "$CONTAINERD2_CONFIG"
}

# containerd2_source: a checksum of what node:containerd2 is made of, kept in a label so that
# new binaries or a new config rebuild the image.
containerd2_source() {
  cat "$CONTAINERD2_BIN" "$CTR2_BIN" "$CONTAINERD2_CONFIG" | sha256sum | cut -c1-16
}

# containerd2_current: node:containerd2 exists and was built from these binaries and config.
containerd2_current() {
  local v
  image_current brrt-testbed/node:containerd2 || return 1
  v=$(docker image inspect -f "{{index .Config.Labels \"$SOURCE_KEY\"}}" brrt-testbed/node:containerd2)
  [ "$v" = "$(containerd2_source)" ]
}

# The containerd in kind's current node image. Static binaries, so no libraries; where
# kindest/node has them (/usr/local/bin). The config is the shared, working one for 2.x
# (config version 3, the CRI registry config_path under io.containerd.cri.v1.images, and the
# native snapshotter listed for the transfer service's unpacker).
build_node_containerd2() {
  local ctx=$WORK/node2 root=$WORK/node2/rootfs
  mkdir -p "$root/usr/local/bin" "$root/etc/containerd"
  cp -L "$CONTAINERD2_BIN" "$CTR2_BIN" "$root/usr/local/bin/"
  node_rootfs "$root"
  cp -L "$CONTAINERD2_CONFIG" "$root/etc/containerd/config.toml"
  node_dockerfile "$ctx" /usr/local/bin/containerd
  EXTRA_LABELS=("$SOURCE_KEY=$(containerd2_source)")
  build "$ctx" brrt-testbed/node:containerd2
  EXTRA_LABELS=()
}

# ---------------------------------------------------------------------------------
# brrt-testbed/hello:1, brrt-testbed/hello:2
# ---------------------------------------------------------------------------------
build_hello() {
  local n=$1 ctx=$WORK/hello-$1
  mkdir -p "$ctx"
  printf 'hello from brrt-testbed hello:%s\n' "$n" >"$ctx/hello.txt"
  cat >"$ctx/Dockerfile" <<'EOF'
FROM scratch
COPY hello.txt /hello.txt
EOF
  build "$ctx" "brrt-testbed/hello:$n"
}

if need_build "$REGISTRY_IMAGE"; then
  build_registry
else
  log "$REGISTRY_IMAGE up to date (use --force to rebuild)"
fi

if [ ! -x "$REGISTRY3_BIN" ]; then
  # The tests that need it skip and say so (or fail under CI); registry:2 still runs.
  [ "$REQUIRE_CONTAINERD2" = 0 ] ||
    die "cannot build $REGISTRY3_IMAGE: missing $REGISTRY3_BIN (set BRRT_TESTBED_BIN to the folder with registry-v3)"
  log "skipping $REGISTRY3_IMAGE: missing $REGISTRY3_BIN (set BRRT_TESTBED_BIN)"
elif [ "$FORCE" = 1 ] || ! registry3_current; then
  build_registry3
else
  log "$REGISTRY3_IMAGE up to date (use --force to rebuild)"
fi

if need_build brrt-testbed/node:latest; then
  build_node
else
  log "brrt-testbed/node:latest up to date (use --force to rebuild)"
fi

missing=$(containerd2_missing)
if [ -n "$missing" ]; then
  # The tests that need it skip and say so (or fail under CI); containerd 1.6 still runs.
  [ "$REQUIRE_CONTAINERD2" = 0 ] ||
    die "cannot build brrt-testbed/node:containerd2: missing ${missing}(set BRRT_TESTBED_BIN to the folder with containerd and ctr 2.x)"
  log "skipping brrt-testbed/node:containerd2: missing ${missing}(set BRRT_TESTBED_BIN)"
elif [ "$FORCE" = 1 ] || ! containerd2_current; then
  build_node_containerd2
else
  log "brrt-testbed/node:containerd2 up to date (use --force to rebuild)"
fi

for n in 1 2; do
  if need_build "brrt-testbed/hello:$n"; then
    build_hello "$n"
  else
    log "brrt-testbed/hello:$n up to date (use --force to rebuild)"
  fi
done

log "images ready:"
docker image ls --filter "label=$LABEL_KEY" --filter 'reference=brrt-testbed/*' --format '  {{.Repository}}:{{.Tag}}  {{.ID}}  {{.Size}}' >&2
