#!/usr/bin/env bash
# Build the local stand-in images that brrt's tests use instead of Docker Hub images.
#
# This machine has no Docker Hub, so every image is built here `FROM scratch` from
# binaries that Debian packages put on the host (see shared/TESTBED.md):
#
#   registry:2                 distribution 2.8.2 (/usr/bin/docker-registry, pkg docker-registry)
#   brrt-testbed/registry:2    the same image under a name that cannot clash with a real pull
#   brrt-testbed/node:latest   a kind-node stand-in: containerd + ctr (pkg docker.io / containerd)
#                              + busybox-static as /bin/sh and applets
#   brrt-testbed/hello:1       tiny FROM-scratch images with one distinct text file each,
#   brrt-testbed/hello:2       pushed into an "upstream" registry by tests
#
# Every binary is copied with the shared libraries `ldd` reports, at the paths ldd
# reports (dereferenced), so the dynamic loader finds them inside the image.
#
# Usage: tests/testbed/build-images.sh [--force]
#   Idempotent: an image that already exists with the current TESTBED_VERSION label is
#   skipped. --force rebuilds everything.
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

FORCE=0
for arg in "$@"; do
  case "$arg" in
    --force | -f) FORCE=1 ;;
    -h | --help)
      sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'
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
CONTAINERD_BIN=$(command -v containerd || true)
CTR_BIN=$(command -v ctr || true)
BUSYBOX_BIN=/bin/busybox

[ -x "$REGISTRY_BIN" ] || die "$REGISTRY_BIN missing (apt-get install -y docker-registry)"
[ -n "$CONTAINERD_BIN" ] || die "containerd missing (apt-get install -y docker.io)"
[ -n "$CTR_BIN" ] || die "ctr missing (apt-get install -y docker.io)"
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

# build NAME_CONTEXT TAG...: docker build the context dir with all tags.
build() {
  local ctx=$1
  shift
  local args=() t old_ids=() id
  for t in "$@"; do
    args+=(-t "$t")
    id=$(docker image inspect -f '{{.Id}}' "$t" 2>/dev/null) && old_ids+=("$id")
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

# ---------------------------------------------------------------------------------
# registry:2 / brrt-testbed/registry:2
# ---------------------------------------------------------------------------------
build_registry() {
  local ctx=$WORK/registry root=$WORK/registry/rootfs
  mkdir -p "$root"
  copy_bin_with_libs "$root" "$REGISTRY_BIN"
  # The real image ships the binary as /bin/registry.
  mkdir -p "$root/bin" "$root/var/lib/registry" "$root/tmp" "$root/etc/docker/registry"
  ln -s "$REGISTRY_BIN" "$root/bin/registry"
  chmod 1777 "$root/tmp"
  # Name resolution: files first (Docker's /etc/hosts), then DNS (Docker's embedded DNS
  # on user networks resolves container names).
  printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
  # CA bundle so a proxy could reach an https upstream (the real image has one too).
  if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    copy_path "$root" /etc/ssl/certs/ca-certificates.crt
  fi
  # Same as the real registry:2 image's config, plus storage.delete.enabled.
  cat >"$root/etc/docker/registry/config.yml" <<'EOF'
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
  # Real image: ENTRYPOINT ["/entrypoint.sh"] CMD ["/etc/docker/registry/config.yml"],
  # which runs `registry serve <config>`. There is no shell here, so the entrypoint is
  # the binary with `serve`, and CMD is the config path as in the real image
  # (`docker run registry:2 /other/config.yml` keeps working).
  cat >"$ctx/Dockerfile" <<EOF
FROM scratch
COPY rootfs/ /
VOLUME ["/var/lib/registry"]
EXPOSE 5000
ENTRYPOINT ["$REGISTRY_BIN", "serve"]
CMD ["/etc/docker/registry/config.yml"]
EOF
  build "$ctx" registry:2 brrt-testbed/registry:2
}

# ---------------------------------------------------------------------------------
# brrt-testbed/node:latest
# ---------------------------------------------------------------------------------
# Applets linked into /bin (all of them, which includes at least: sh mkdir cat mv rm ls
# printf test [ find sleep env echo).
REQUIRED_APPLETS="sh mkdir cat mv rm ls printf test find sleep env echo"

build_node() {
  local ctx=$WORK/node root=$WORK/node/rootfs a
  mkdir -p "$root"
  copy_bin_with_libs "$root" "$CONTAINERD_BIN" "$CTR_BIN"
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
  cat >"$ctx/Dockerfile" <<EOF
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# Plain \`ctr images pull\` (and other ctr snapshot users) pick this up as --snapshotter.
ENV CONTAINERD_SNAPSHOTTER=native
ENTRYPOINT ["$CONTAINERD_BIN", "--config", "/etc/containerd/config.toml"]
EOF
  build "$ctx" brrt-testbed/node:latest
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

if need_build registry:2 brrt-testbed/registry:2; then
  build_registry
else
  log "registry:2 and brrt-testbed/registry:2 up to date (use --force to rebuild)"
fi

if need_build brrt-testbed/node:latest; then
  build_node
else
  log "brrt-testbed/node:latest up to date (use --force to rebuild)"
fi

for n in 1 2; do
  if need_build "brrt-testbed/hello:$n"; then
    build_hello "$n"
  else
    log "brrt-testbed/hello:$n up to date (use --force to rebuild)"
  fi
done

log "images ready:"
docker image ls --filter "label=$LABEL_KEY" --format '  {{.Repository}}:{{.Tag}}  {{.ID}}  {{.Size}}' >&2
