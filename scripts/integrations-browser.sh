#!/usr/bin/env bash
# The integration guides of docs/integrations/, proven in a real browser (issue 17): a fresh
# Nyckel set up with the CLI, and the three relying parties people use, each run from the
# guide's own files:
#   - Apache httpd with Debian's mod_auth_openidc, from docs/integrations/apache/nyckel.conf
#     under a scratch ServerRoot, in front of docs/integrations/apache/backend.py;
#   - the single-page app of docs/integrations/spa/ with oidc-client-ts;
#   - the Flask app of docs/integrations/python/app.py with Authlib, in a virtualenv.
# scripts/integrations-browser.mjs then signs a person in to all three in Chromium and logs out
# at each in turn: the other two must end their sessions (see that file).
#
# On SQLite by default; with NYCKEL_TEST_POSTGRES_URL set, Nyckel runs on a fresh PostgreSQL
# database (created and dropped here). Needs: chromium, Node.js with npm, python3 with venv,
# and apache2-bin + libapache2-mod-auth-openidc (installed with apt-get when missing). npm and
# PyPI packages go into scripts/node_modules and target/integrations-venv. Uses
# $NYCKEL_TEST_BIN, else builds target/debug/nyckel. Run from anywhere:
#   scripts/integrations-browser.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
guides="$root/docs/integrations"
bin=$(nyckel_bin)

# --- Tools, installed only when missing.
if [ ! -f /usr/lib/apache2/modules/mod_auth_openidc.so ]; then
  apt-get update -qq
  apt-get install -y -qq apache2-bin libapache2-mod-auth-openidc > /dev/null
fi
venv="$root/target/integrations-venv"
if ! "$venv/bin/python" -c 'import flask, authlib, joserfc, requests' 2> /dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$guides/python/requirements.txt"
fi
(cd "$root/scripts" && { [ -d node_modules/playwright-core ] && [ -f node_modules/oidc-client-ts/package.json ]; } \
  || npm install --silent --no-save playwright-core@1 oidc-client-ts@3.5.0 > /dev/null)

label=SQLite
shots="$root/target/integrations-browser/sqlite"
work=$(mktemp -d)
pids=()
database=""
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2> /dev/null || true; done
  wait 2> /dev/null || true
  if [ -n "$database" ]; then psql -q "$NYCKEL_TEST_POSTGRES_URL" -c "drop database if exists $database" > /dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
if [ -n "${NYCKEL_TEST_POSTGRES_URL:-}" ]; then
  database="nyckel_integrations_$$"
  psql -q "$NYCKEL_TEST_POSTGRES_URL" -c "create database $database" > /dev/null
  export NYCKEL_DATABASE__URL="${NYCKEL_TEST_POSTGRES_URL%/*}/$database"
  label=PostgreSQL
  shots="$root/target/integrations-browser/postgres"
fi
fresh_shots "$shots"
cd "$work"
port=$(free_port)
export NYCKEL_LISTEN="127.0.0.1:$port" NYCKEL_TLS__MODE=off NYCKEL_DATA_DIR="$work/data" NYCKEL_KEYS_DIR="$work/keys"
issuer="http://localhost:$port"
apache_url="http://127.0.0.1:$(free_port)"
flask_url="http://127.0.0.1:$(free_port)"
spa_url="http://127.0.0.1:$(free_port)"
backend_port=$(free_port)

# --- Nyckel: a coach of one club, a member who is not, and one client per app (the operator may register
# --- loopback back-channel URIs).
json() { python3 -c "import json, sys; print(json.load(sys.stdin)$1)"; }
pw='blåbärssylt i skogen 42'
echo "$pw" | "$bin" user create --email karin@example.org --name "Karin Berg" --password-stdin > /dev/null
"$bin" org create --name "IFK Kalmar" --slug ifk > /dev/null
"$bin" org add-member --org ifk --email karin@example.org --role coach > /dev/null
echo "$pw" | "$bin" user create --email olle@example.org --name "Olle Ek" --password-stdin > /dev/null
"$bin" org add-member --org ifk --email olle@example.org --role member > /dev/null
org_id=$("$bin" --json org show ifk | json '["id"]')
"$bin" --json client create --name "Tränarsidan" --first-party --org ifk \
  --redirect-uri "$apache_url/coach/redirect_uri" --post-logout-redirect-uri "$apache_url/" \
  --backchannel-logout-uri "$apache_url/coach/redirect_uri?logout=backchannel" > apache-client.json
"$bin" --json client create --name "Klubbappen" --first-party \
  --redirect-uri "$flask_url/callback" --post-logout-redirect-uri "$flask_url/" \
  --backchannel-logout-uri "$flask_url/backchannel-logout" > flask-client.json
spa_client=$("$bin" --json client create --name "Medlemsappen" --first-party --public \
  --redirect-uri "$spa_url/" --post-logout-redirect-uri "$spa_url/" | json '["client_id"]')

"$bin" serve > nyckel.log 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -sf "$issuer/health/ready" > /dev/null && break; sleep 0.1; done
curl -sf "$issuer/health/ready" > /dev/null || { echo "Nyckel did not start:"; cat nyckel.log; exit 1; }

# --- Apache: the guide's configuration, included from a scratch ServerRoot.
mkdir -p apache
cat > apache/httpd.conf <<CONF
ServerRoot "$work/apache"
ServerName 127.0.0.1
Listen ${apache_url#http://}
PidFile "$work/apache/httpd.pid"
ErrorLog "$work/apache/error.log"
LogLevel warn auth_openidc:info
Mutex file:$work/apache default
LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authn_core_module /usr/lib/apache2/modules/mod_authn_core.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule proxy_module /usr/lib/apache2/modules/mod_proxy.so
LoadModule proxy_http_module /usr/lib/apache2/modules/mod_proxy_http.so
LoadModule auth_openidc_module /usr/lib/apache2/modules/mod_auth_openidc.so
Include "$guides/apache/nyckel.conf"
CONF
# As root (CI), Apache's workers need a user to become.
[ "$(id -u)" != 0 ] || printf 'User nobody\nGroup nogroup\n' >> apache/httpd.conf
python3 "$guides/apache/backend.py" "$backend_port" "$apache_url" &
pids+=($!)
NYCKEL_ISSUER="$issuer" APP_URL="$apache_url" NYCKEL_ORG_ID="$org_id" \
  OIDC_CLIENT_ID=$(json '["client_id"]' < apache-client.json) \
  OIDC_CLIENT_SECRET=$(json '["client_secret"]' < apache-client.json) \
  OIDC_CRYPTO_PASSPHRASE=$(head -c 32 /dev/urandom | base64) BACKEND_URL="http://127.0.0.1:$backend_port" \
  /usr/sbin/apache2 -f "$work/apache/httpd.conf" -DFOREGROUND > apache/stdout.log 2>&1 &
pids+=($!)

# --- The Flask app, from the guide's file, in the virtualenv.
NYCKEL_ISSUER="$issuer" APP_URL="$flask_url" APP_SECRET_KEY=$(head -c 32 /dev/urandom | base64) \
  APP_DB="$work/flask-app.db" OIDC_CLIENT_ID=$(json '["client_id"]' < flask-client.json) \
  OIDC_CLIENT_SECRET=$(json '["client_secret"]' < flask-client.json) \
  "$venv/bin/python" "$guides/python/app.py" "${flask_url##*:}" > flask.log 2>&1 &
pids+=($!)

# --- The single-page app: the guide's folder, the library, and its config.json.
mkdir spa
cp "$guides/spa/index.html" "$guides/spa/app.js" "$root/scripts/node_modules/oidc-client-ts/dist/browser/oidc-client-ts.min.js" spa/
printf '{"authority": "%s", "client_id": "%s"}\n' "$issuer" "$spa_client" > spa/config.json
python3 -m http.server --bind 127.0.0.1 --directory spa "${spa_url##*:}" > spa.log 2>&1 &
pids+=($!)

for url in "$apache_url/" "$flask_url/" "$spa_url/"; do
  for _ in $(seq 1 100); do curl -sf -o /dev/null "$url" && break; sleep 0.1; done
  curl -sf -o /dev/null "$url" || { echo "$url did not start"; tail -n 20 apache/error.log flask.log spa.log; exit 1; }
done

echo "Nyckel on $label at $issuer; Apache $apache_url, Flask $flask_url, SPA $spa_url"
if ! node "$root/scripts/integrations-browser.mjs" "$issuer" karin@example.org "$pw" "$apache_url" "$flask_url" "$spa_url" "$shots" olle@example.org; then
  for log in nyckel.log apache/error.log flask.log; do echo "--- $log ---"; tail -n 40 "$log"; done
  exit 1
fi
echo "screenshots in ${shots#"$root"/}/: $(cd "$shots" && ls | tr '\n' ' ')"
