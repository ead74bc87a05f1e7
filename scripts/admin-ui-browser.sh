#!/usr/bin/env bash
# Real-browser check of the admin web UI (issue 3, done when 3): a fresh Nyckel set up with the
# CLI (an organisation, its admin, a few members), served over plain HTTP on loopback, and an
# organisation admin in headless Chromium who signs in, adds a role, invites a member, changes a
# member's roles and finds both events in the audit log; the invited person then joins through
# the link mailed to the development outbox. Screenshots go to target/admin-ui/.
# Fails (non-zero) on any error, on a request to another origin, or on a console error (such as
# a Content-Security-Policy violation).
#
# Needs: chromium (apt-get install chromium), Node.js with npm (playwright-core is installed into
# scripts/node_modules on first use). Uses $NYCKEL_TEST_BIN, else builds target/debug/nyckel.
# Run from anywhere:   scripts/admin-ui-browser.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bin=$(nyckel_bin)
shots="$root/target/admin-ui"
fresh_shots "$shots"
work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export NYCKEL_LISTEN="127.0.0.1:$port" NYCKEL_TLS__MODE=off
base="http://localhost:$port"

pw='blåbärssylt i skogen 42'
echo "$pw" | "$bin" user create --email astrid@example.org --name "Astrid Lindqvist" --password-stdin > /dev/null
"$bin" org create --name "Skogsbackens IF" --slug skogsbacken > /dev/null
"$bin" org add-member --org skogsbacken --email astrid@example.org --role admin > /dev/null
while IFS='|' read -r email name phone; do
  "$bin" user create --email "$email" --name "$name" --phone "$phone" > /dev/null
  "$bin" org add-member --org skogsbacken --email "$email" --role member > /dev/null
done <<'PEOPLE'
karin.berg@example.org|Karin Berg|+46701234501
johan.ek@example.org|Johan Ek|+46701234502
sara.nilsson@example.org|Sara Nilsson|+46701234503
PEOPLE

"$bin" serve > serve.log 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -sf "$base/health/ready" > /dev/null && break; sleep 0.1; done
curl -sf "$base/health/ready" > /dev/null || { echo "the server did not start:"; cat serve.log; exit 1; }

(cd "$root/scripts" && [ -d node_modules/playwright-core ] || npm install --silent --no-save playwright-core@1 > /dev/null)
if ! node "$root/scripts/admin-ui-browser.mjs" "$base" astrid@example.org "$pw" skogsbacken karin.berg@example.org "$shots" "$work/data/outbox"; then
  echo "--- server log ---"; tail -n 40 serve.log
  exit 1
fi
echo "screenshots in target/admin-ui/: $(cd "$shots" && ls | tr '\n' ' ')"
