#!/usr/bin/env bash
# Builds the previous release of Nyckel from this repository's own history, for the upgrade
# test (tests/it/upgrade_release.rs): the newest release in CHANGELOG.md whose version is
# below Cargo.toml's, checked out as a git worktree of the commit CHANGELOG.md records (tags
# may not travel with every clone; the recorded commit is what counts), built into the same
# target directory as this checkout so every dependency already built is reused, and copied
# to target/previous-release/nyckel-VERSION. Prints that path on the last line.
#
# Needs the full history (a shallow clone lacks the release commit: then it fails, naming
# the commit to fetch). No network beyond crates.io for dependencies the old lock file
# needs and this checkout does not.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

current=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
read -r version commit < <(python3 - "$current" <<'PY'
import re, sys
current = tuple(int(x) for x in sys.argv[1].split('-')[0].split('.'))
releases, version = [], None
for line in open('CHANGELOG.md', encoding='utf-8'):
    m = re.match(r'^## (\d+)\.(\d+)\.(\d+)\b', line)
    if m:
        version = tuple(int(x) for x in m.groups())
        continue
    m = re.match(r'^Release commit: `([0-9a-f]{40})`', line)
    if m and version:
        releases.append((version, m.group(1)))
        version = None
older = sorted(r for r in releases if r[0] < current)
if not older:
    sys.exit(f'CHANGELOG.md records no release below {sys.argv[1]}')
v, c = older[-1]
print('.'.join(map(str, v)), c)
PY
)

if ! git cat-file -e "${commit}^{commit}" 2>/dev/null; then
    echo "release $version is commit $commit, which this clone does not have (shallow?): git fetch --unshallow" >&2
    exit 1
fi

out="$root/target/previous-release"
src="$out/src-$version"
bin="$out/nyckel-$version"
mkdir -p "$out"
if [ -x "$bin" ] && [ "$(cat "$bin.commit" 2>/dev/null)" = "$commit" ]; then
    echo "$bin"
    exit 0
fi
git worktree remove --force "$src" 2>/dev/null || rm -rf "$src"
git worktree prune
git worktree add --quiet --detach "$src" "$commit"
trap 'git -C "$root" worktree remove --force "$src" 2>/dev/null || true' EXIT
started=$SECONDS
# The same target directory: dependencies built for this checkout are reused; only the old
# nyckel crate (a different path, so its own artefacts) is compiled.
(cd "$src" && CARGO_TARGET_DIR="$root/target" cargo build --quiet --bin nyckel)
cp "$root/target/debug/nyckel" "$bin"
echo "$commit" > "$bin.commit"
# The checkout's own binary was overwritten by the old one: cargo rebuilds it when asked.
rm -f "$root/target/debug/nyckel"
echo "built nyckel $version ($commit) in $((SECONDS - started)) s" >&2
"$bin" --version >&2
echo "$bin"
