#!/usr/bin/env bash
# Real-browser check of logout reaching every app (issue 17): a fresh Nyckel set up with the
# CLI, served over plain HTTP on loopback, and two apps (tiny servers on loopback, one origin
# each) registered with front- and back-channel logout. A person signs in to both in Chromium
# (the second by single sign-on), then signs out through the first (RP-initiated logout). What
# must hold: the logged-out page loads both apps' front-channel pages with `iss` and the
# session's `sid` (its CSP allows them: a violation is a console error, which fails the run),
# then goes on to the first app's post-logout redirect with its `state`; both apps receive a
# logout token for that `sid` by back-channel. Screenshots go to target/logout-browser/.
#
# Needs: chromium (apt-get install chromium), Node.js with npm (playwright-core is installed into
# scripts/node_modules on first use). Uses $NYCKEL_TEST_BIN, else builds target/debug/nyckel.
# Run from anywhere:   scripts/logout-browser.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bin=$(nyckel_bin)
shots="$root/target/logout-browser"
fresh_shots "$shots"
work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
port=$(free_port)
port_a=$(free_port)
port_b=$(free_port)
export NYCKEL_LISTEN="127.0.0.1:$port" NYCKEL_TLS__MODE=off
base="http://localhost:$port"

pw='blåbärssylt i skogen 42'
echo "$pw" | "$bin" user create --email karin@example.org --name "Karin Berg" --password-stdin > /dev/null
app() { # name port
  "$bin" --json client create --name "$1" --first-party \
    --redirect-uri "http://127.0.0.1:$2/cb" --post-logout-redirect-uri "http://127.0.0.1:$2/bye" \
    --frontchannel-logout-uri "http://127.0.0.1:$2/fc" --backchannel-logout-uri "http://127.0.0.1:$2/bc" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["client_id"])'
}
client_a=$(app "Kalendern" "$port_a")
client_b=$(app "Klubbsidan" "$port_b")

"$bin" serve > serve.log 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -sf "$base/health/ready" > /dev/null && break; sleep 0.1; done
curl -sf "$base/health/ready" > /dev/null || { echo "the server did not start:"; cat serve.log; exit 1; }

(cd "$root/scripts" && [ -d node_modules/playwright-core ] || npm install --silent --no-save playwright-core@1 > /dev/null)
if ! node "$root/scripts/logout-browser.mjs" "$base" karin@example.org "$pw" "$client_a" "$port_a" "$client_b" "$port_b" "$shots"; then
  echo "--- server log ---"; tail -n 40 serve.log
  exit 1
fi
echo "screenshots in target/logout-browser/: $(cd "$shots" && ls | tr '\n' ' ')"
