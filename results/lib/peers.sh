# Sourced by results/*/run.sh: servers started in the background that print their address as
# their first stdout line, all killed when the script exits.
#
#   addr=$(start NAME COMMAND...)   # waits (up to 10 s) for the first line and prints it
peers_tmp=$(mktemp -d)
peers_cleanup() {
  local f
  for f in "$peers_tmp"/*.pid; do
    # A server the script stopped itself is gone: not an error (set -e applies in the trap).
    if [ -e "$f" ]; then kill "$(cat "$f")" 2>/dev/null || true; fi
  done
  rm -rf "$peers_tmp"
}
trap peers_cleanup EXIT

# The pid goes to a file, not a variable: start runs in a command substitution's subshell.
start() {
  local name=$1; shift
  "$@" >"$peers_tmp/$name.out" 2>"$peers_tmp/$name.err" &
  echo $! >"$peers_tmp/$name.pid"
  for _ in $(seq 100); do
    if [ -s "$peers_tmp/$name.out" ]; then head -1 "$peers_tmp/$name.out"; return; fi
    sleep 0.1
  done
  echo "$name printed no address" >&2; cat "$peers_tmp/$name.err" >&2; exit 1
}
