# Shared by the scripts/*-browser.sh checks (sourced, not run): where the repository is, the
# nyckel binary to test, a free loopback port, and an emptied screenshot folder.
#   source "$(dirname "$0")/lib.sh"

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# $NYCKEL_TEST_BIN (relative paths are taken from the repository), else a fresh debug build.
nyckel_bin() {
  local bin="${NYCKEL_TEST_BIN:-}"
  if [ -z "$bin" ]; then
    (cd "$root" && cargo build --quiet --bin nyckel)
    bin="$root/target/debug/nyckel"
  fi
  case "$bin" in /*) ;; *) bin="$root/$bin" ;; esac
  printf '%s\n' "$bin"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Creates the screenshot folder $1 and removes the screenshots of an earlier run.
fresh_shots() {
  mkdir -p "$1"
  rm -f "$1"/*.png
}
