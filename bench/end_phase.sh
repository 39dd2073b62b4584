#!/usr/bin/env bash
# The end phase of a 125,000-condition study (issue 16): run it once, then resume the finished store
# (nothing to compute: only matching, export and summary remain) three times, and send SIGTERM at
# several moments of a resume to show how soon it is answered (exit 143, store kept, no derived file).
# Usage: bench/end_phase.sh [PARSIM_BINARY]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
parsim="${1:-$here/../target/release/parsim}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
study="$here/end_phase/conditions-125000.toml"
echo "first run (250,000 replications):"
/usr/bin/time -f "  %e s wall, %M kB" "$parsim" run "$study" --out "$work/out" --jobs 2 >/dev/null
echo "resume with nothing to compute:"
for _ in 1 2 3; do
    /usr/bin/time -f "  %e s wall" "$parsim" run "$study" --out "$work/out" --jobs 2 >/dev/null
done
echo "SIGTERM during a resume (seconds after start: sent, exit):"
for at in 1 2 3 4 5; do
    python3 "$here/end_phase/sigterm_at.py" "$at" "$parsim" run "$study" --out "$work/out" --jobs 2 |
        grep -E "SIGTERM sent|exit" | tr '\n' ' '
    echo
    "$parsim" run "$study" --out "$work/out" --jobs 2 >/dev/null 2>&1 # derived files back
done
echo "load: $(uptime)"
