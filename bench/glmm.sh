#!/usr/bin/env bash
# Per-fit time of parsim's GLMM (Laplace, warm workspace) against lme4's glmer on issue 19's three data
# sets, measured in one run; prints medians (and ranges) and the ratio lme4 / parsim.
# Peers still to add (issue 19's table): glmm and mixedlm from PyPI, glmmTMB (r-cran-glmmtmb), and the
# 500-replication trial study against MCPower's find_power.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1}
data=crates/parsim-lmm/tests/data/glmm/data
parsim=$(mktemp); lme4=$(mktemp)
cargo bench -q -p parsim-lmm --bench glmm > "$parsim"
Rscript bench/glmm_lme4.R "$data" > "$lme4"
printf '%-8s %26s %26s %9s\n' "data" "parsim ms (min-max)" "lme4 ms (min-max)" "lme4/parsim"
join <(sort "$parsim") <(sort "$lme4") | while read -r name pm pmin pmax lm lmin lmax; do
  printf '%-8s %10.3f (%.3f-%.3f) %12.1f (%.1f-%.1f) %9.1f\n' \
    "$name" "$pm" "$pmin" "$pmax" "$lm" "$lmin" "$lmax" "$(echo "$lm / $pm" | bc -l)"
done
rm -f "$parsim" "$lme4"
