#!/usr/bin/env bash
# Real-browser check of the README's promise: a fresh embedded-default Nyckel, an account and a
# client made with the CLI, and a login completed in Chromium, then the code exchanged.
# Needs: chromium (apt-get install chromium), Node.js with npm. Run from the repository root:
#   scripts/browser-login.sh
set -euo pipefail
root=$(pwd)
bin="${NYCKEL_TEST_BIN:-}"
if [ -z "$bin" ]; then
  cargo build --release --quiet
  bin="$root/target/release/nyckel"
fi
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"
port=18443
export NYCKEL_LISTEN="127.0.0.1:$port"
pw='blåbärssylt i skogen 42'
echo "$pw" | "$bin" user create --email anna@example.org --name "Anna Svensson" --password-stdin
client=$("$bin" client create --name "Demo app" --redirect-uri "http://127.0.0.1:18999/cb" --json)
id=$(echo "$client" | python3 -c 'import json,sys; print(json.load(sys.stdin)["client_id"])')
secret=$(echo "$client" | python3 -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])')
"$bin" serve > serve.log 2>&1 &
for _ in $(seq 1 100); do curl -skf "https://localhost:$port/health/ready" > /dev/null && break; sleep 0.1; done
issuer=$(curl -sk "https://localhost:$port/.well-known/openid-configuration" | python3 -c 'import json,sys; print(json.load(sys.stdin)["issuer"])')
echo "issuer: $issuer"
verifier=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')
challenge=$(python3 -c "import hashlib,base64,sys; print(base64.urlsafe_b64encode(hashlib.sha256(sys.argv[1].encode()).digest()).rstrip(b'=').decode())" "$verifier")
url="$issuer/authorize?response_type=code&client_id=$id&redirect_uri=http%3A%2F%2F127.0.0.1%3A18999%2Fcb&scope=openid%20email%20profile&state=xyz&nonce=n1&code_challenge=$challenge&code_challenge_method=S256"
mkdir -p "$root/target/browser-login"
(cd "$root/scripts" && [ -d node_modules/playwright-core ] || npm install --silent --no-save playwright-core@1 >/dev/null)
out=$(node "$root/scripts/browser-login.mjs" "$url" anna@example.org "$pw" "http://127.0.0.1:18999/cb" "$root/target/browser-login" || true)
echo "$out"
cb=$(echo "$out" | sed -n 's/^CALLBACK //p')
[ -n "$cb" ] || { echo "the browser did not reach the client"; exit 1; }
code=$(python3 -c 'import sys,urllib.parse as u; q=u.parse_qs(u.urlparse(sys.argv[1]).query); assert q["iss"][0]==sys.argv[2], "iss"; assert q["state"][0]=="xyz"; print(q["code"][0])' "$cb" "$issuer")
curl -sk -u "$id:$secret" -d grant_type=authorization_code -d "code=$code" \
  -d redirect_uri=http://127.0.0.1:18999/cb -d "code_verifier=$verifier" "https://localhost:$port/token" \
  | python3 -c 'import json,sys; t=json.load(sys.stdin); assert "id_token" in t, t; print("token exchange ok:", sorted(t))'
echo "screenshots in target/browser-login/"
