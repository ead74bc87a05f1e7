#!/bin/sh
# Regenerates the table in docs/permissions.md from src/orgs/permissions.rs (the unit test
# `the_document_matches_the_code` prints it when they disagree).
set -eu
cd "$(dirname "$0")/.."
table=$(cargo test --quiet --lib the_document_matches_the_code 2>&1 | sed -n '/replace its table with:/,/^$/p' | sed '1d;$d' | grep '^|' || true)
[ -n "$table" ] || { echo "docs/permissions.md is already up to date"; exit 0; }
printf '%s\n' "$table" > target/permissions-table.md
awk -v f=target/permissions-table.md '
  /^<!-- generated from/ { print; while ((getline line < f) > 0) print line; skip=1; next }
  /^<!-- end of generated table -->/ { skip=0 }
  !skip { print }' docs/permissions.md > target/permissions.md.new
mv target/permissions.md.new docs/permissions.md
echo "docs/permissions.md updated"
