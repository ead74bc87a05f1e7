#!/usr/bin/env bash
# Real-browser check of the person's own account page (issue 5, done when 3): a fresh Nyckel
# set up with the CLI (a person in two organisations with roles, a confidential app), served
# over plain HTTP on loopback. The person (an admin, so password + a code by SMS to her verified
# number, read from the development outbox) signs in in two browser contexts (two sessions),
# allows the app through a real authorization flow (the app's redirect URI is a tiny callback
# server on loopback; the code is exchanged for tokens at /token), then on /account in the
# first context: ends the other session (the second context is signed out), revokes the app
# (its refresh token is refused with invalid_grant) and changes the profile language.
# Screenshots of every step go to target/account-ui/.
# Fails (non-zero) on any error, on a request to another origin, or on a console error (such as
# a Content-Security-Policy violation).
#
# Needs: chromium (apt-get install chromium), Node.js with npm (playwright-core is installed into
# scripts/node_modules on first use). Uses $NYCKEL_TEST_BIN, else builds target/debug/nyckel.
# Run from anywhere:   scripts/account-ui-browser.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bin=$(nyckel_bin)
shots="$root/target/account-ui"
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
callback_port=$(free_port)
export NYCKEL_LISTEN="127.0.0.1:$port" NYCKEL_TLS__MODE=off
# Two browsers sign in seconds apart, each with a code to the same number.
export NYCKEL_SMS__COOLDOWN=0
base="http://localhost:$port"
redirect_uri="http://127.0.0.1:$callback_port/cb"

pw='blåbärssylt i skogen 42'
echo "$pw" | "$bin" user create --email astrid@example.org --name "Astrid Lindqvist" --phone +46701234510 --phone-verified --password-stdin > /dev/null
"$bin" org create --name "Skogsbackens IF" --slug skogsbacken > /dev/null
"$bin" org create --name "Sjöstadens kör" --slug sjostaden > /dev/null
"$bin" org add-member --org skogsbacken --email astrid@example.org --role admin --role member > /dev/null
"$bin" org add-member --org sjostaden --email astrid@example.org --role member > /dev/null
created=$("$bin" --json client create --name "Kalendern" --redirect-uri "$redirect_uri")
client_id=$(printf '%s' "$created" | python3 -c 'import json, sys; print(json.load(sys.stdin)["client_id"])')
client_secret=$(printf '%s' "$created" | python3 -c 'import json, sys; print(json.load(sys.stdin)["client_secret"])')

"$bin" serve > serve.log 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -sf "$base/health/ready" > /dev/null && break; sleep 0.1; done
curl -sf "$base/health/ready" > /dev/null || { echo "the server did not start:"; cat serve.log; exit 1; }

(cd "$root/scripts" && [ -d node_modules/playwright-core ] || npm install --silent --no-save playwright-core@1 > /dev/null)
if ! NYCKEL_CLIENT_SECRET="$client_secret" node "$root/scripts/account-ui-browser.mjs" "$base" astrid@example.org "$pw" "$client_id" "$redirect_uri" "$shots" "$work/data/outbox"; then
  echo "--- server log ---"; tail -n 40 serve.log
  exit 1
fi
echo "screenshots in target/account-ui/: $(cd "$shots" && ls | tr '\n' ' ')"
