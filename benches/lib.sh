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
