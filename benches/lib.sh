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
