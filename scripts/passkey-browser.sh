#!/usr/bin/env bash
# Real-browser passkey check: a fresh Nyckel (plain HTTP on localhost, a secure context for
# WebAuthn; Chromium refuses WebAuthn on pages with certificate errors), an account made with
# the CLI, then scripts/passkey-browser.mjs adds a passkey, signs in with it and removes it in
# Chromium with a virtual authenticator. Screenshots go to target/passkey-browser/.
# Needs: chromium, Node.js with npm. Uses $NYCKEL_TEST_BIN, else builds target/debug/nyckel.
# Run from anywhere:   scripts/passkey-browser.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bin=$(nyckel_bin)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"
port="${PASSKEY_BROWSER_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
export NYCKEL_LISTEN="127.0.0.1:$port"
export NYCKEL_TLS__MODE=off
export NYCKEL_ISSUER="http://localhost:$port"
pw='blåbärssylt i skogen 42'
echo "$pw" | "$bin" user create --email anna@example.org --name "Anna Svensson" --password-stdin > /dev/null
"$bin" serve > serve.log 2>&1 &
for _ in $(seq 1 100); do curl -sf "http://localhost:$port/health/ready" > /dev/null && break; sleep 0.1; done
curl -sf "http://localhost:$port/health/ready" > /dev/null || { echo "the server did not start:"; cat serve.log; exit 1; }
mkdir -p "$root/target/passkey-browser"
(cd "$root/scripts" && [ -d node_modules/playwright-core ] || npm install --silent --no-save playwright-core@1 >/dev/null)
if ! node "$root/scripts/passkey-browser.mjs" "http://localhost:$port" anna@example.org "$pw" "$root/target/passkey-browser"; then
  echo "--- server log"; tail -n 40 serve.log
  exit 1
fi
echo "screenshots in target/passkey-browser/"
