#!/usr/bin/env bash
# Backup and restore times for an installation of N people (default 100,000), each a member of
# one or two of 100 organisations (docs/backups.md, "Timing"). SQLite always; PostgreSQL too
# when POSTGRES_URL (a server URL, e.g. postgres://postgres@127.0.0.1:5432/postgres) is set.
# Prints one line per step with seconds. Uses $NYCKEL_TEST_BIN, else builds target/release/nyckel.
# Needs sqlite3 (and psql for PostgreSQL).
#
# Usage: scripts/backup-timing.sh [N]
set -euo pipefail
n="${1:-100000}"
root=$(cd "$(dirname "$0")/.." && pwd)
bin="${NYCKEL_TEST_BIN:-}"
if [ -z "$bin" ]; then
  (cd "$root" && cargo build --quiet --release --bin nyckel)
  bin="$root/target/release/nyckel"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
export NO_COLOR=1 RUST_LOG=warn
now() { date +%s.%N; }
step() { printf '%-44s %6.2f s\n' "$1" "$(echo "$(now) - $2" | bc)"; }

"$bin" backup keygen --out identity.txt >/dev/null
recipient=$(sed -n 's/^# public key: //p' identity.txt)
cat > nyckel.toml <<TOML
[backup]
recipients = ["$recipient"]
[[backup.destinations]]
name = "local"
kind = "dir"
path = "$work/backups"
TOML

# Fills the schema with N people, 100 organisations and about 1.5 N memberships (portable SQL).
fill_sql() {
  local series="$1" # a query yielding column i = 0 .. N-1
  cat <<SQL
insert into organisations (id, slug, name, created_at)
  select 'org-' || i, 'org-' || i, 'Förening ' || i, 1700000000 from ($(series_of 100)) s;
insert into users (id, email, email_normalized, email_verified, name, phone, password_hash, locale, disabled, created_at, updated_at)
  select 'user-' || i, 'p' || i || '@example.org', 'p' || i || '@example.org', 1, 'Person ' || i, null,
         '\$argon2id\$v=19\$m=19456,t=2,p=1\$c2FsdHNhbHQ\$aGFzaGhhc2hoYXNoaGFzaGhhc2g', 'sv', 0, 1700000000, 1700000000
  from ($series) s;
insert into memberships (user_id, organisation_id, roles, created_at, updated_at)
  select 'user-' || i, 'org-' || (i % 100), '["member"]', 1700000000, 1700000000 from ($series) s;
insert into memberships (user_id, organisation_id, roles, created_at, updated_at)
  select 'user-' || i, 'org-' || ((i * 7 + 1) % 100), '["member","coach"]', 1700000000, 1700000000
  from ($series) s where i % 2 = 0 and (i * 7 + 1) % 100 <> i % 100;
SQL
}

run_one() {
  local label="$1" url="$2" restore_url="$3"
  export NYCKEL_DATABASE__URL="$url"
  local t
  t=$(now); "$bin" backup run --json > run.json; step "$label: backup run ($n people)" "$t"
  local id
  id=$(python3 -c 'import json; print(json.load(open("run.json"))["id"])')
  python3 -c 'import json; r=json.load(open("run.json")); print("  rows %d, stored %.2f MB" % (r["rows"], r["bytes"]/1e6))'
  t=$(now); "$bin" backup verify "$id" --identity identity.txt > /dev/null; step "$label: backup verify" "$t"
  t=$(now); "$bin" backup restore "$id" --identity identity.txt --into "$restore_url" > /dev/null; step "$label: backup restore" "$t"
}

# SQLite.
series_of() { echo "with recursive c(i) as (select 0 union all select i + 1 from c where i < $(($1 - 1))) select i from c"; }
NYCKEL_DATABASE__URL="sqlite://$work/source.db" "$bin" keys list > /dev/null
t=$(now); fill_sql "$(series_of "$n")" | sqlite3 "$work/source.db"; step "sqlite: fill" "$t"
run_one sqlite "sqlite://$work/source.db" "sqlite://$work/restored.db"

if [ -n "${POSTGRES_URL:-}" ]; then
  base="${POSTGRES_URL%/*}"
  src="nyckel_timing_src_$$" dst="nyckel_timing_dst_$$"
  psql -q "$POSTGRES_URL" -c "create database $src" -c "create database $dst"
  trap 'psql -q "$POSTGRES_URL" -c "drop database if exists $src with (force)" -c "drop database if exists $dst with (force)"; rm -rf "$work"' EXIT
  NYCKEL_DATABASE__URL="$base/$src" "$bin" keys list > /dev/null
  series_of() { echo "select generate_series(0, $(($1 - 1))) as i"; }
  t=$(now); fill_sql "$(series_of "$n")" | psql -q "$base/$src"; step "postgres: fill" "$t"
  run_one postgres "$base/$src" "$base/$dst"
fi
