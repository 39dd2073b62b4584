#!/usr/bin/env bash
# Writes results.sqlite beside this file in store format 2 with parsim built from commit 3de7129 (the last
# release that writes format 2): `PARSIM=/path/to/that/parsim ./make.sh`.
set -euo pipefail
cd "$(dirname "$0")"
out=$(mktemp -d)
"${PARSIM:?set PARSIM to a parsim built at 3de7129}" run study.toml --replications 6 --out "$out" --quiet
# Fold the WAL into the file, so that one file is the whole store.
sqlite3 "$out/results.sqlite" "PRAGMA wal_checkpoint(TRUNCATE);" 2>/dev/null || true
cp "$out/results.sqlite" results.sqlite
rm -rf "$out"
