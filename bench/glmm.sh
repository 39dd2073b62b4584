#!/usr/bin/env bash
# Issue 19's GLMM benchmark, in one run: per-fit time (warm, in-process, Laplace) of parsim against
# glmm and mixedlm (PyPI), lme4's glmer and glmmTMB (Debian) on cbpp, the cluster-randomised trial and
# VerbAgg, with the ratios peer / parsim; then the 500-replication trial study (bench/crt_power.toml:
# the whole `parsim run` process, every estimate stored) against MCPower's find_power on the same
# design (500 simulations, power only). Installs what it lacks: r-cran-lme4 and r-cran-glmmtmb with
# apt-get (as root), and a venv target/glmm-bench-venv with glmm, mixedlm, mcpower and pandas.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1}
data=crates/parsim-lmm/tests/data/glmm/data
venv=target/glmm-bench-venv

if ! Rscript -e 'suppressMessages({library(lme4); library(glmmTMB)})' >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq r-base-core r-cran-lme4 r-cran-glmmtmb >/dev/null
fi
if ! "$venv/bin/python" -c "import glmm, mixedlm, mcpower, pandas" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q glmm mixedlm mcpower pandas
fi
cargo build -q --release -p parsim-cli

times=$(mktemp); trap 'rm -f "$times"' EXIT
echo "== per-fit milliseconds: median (min-max) =="
cargo bench -q -p parsim-lmm --bench glmm 2>/dev/null | sed 's/^/parsim /' >> "$times"
"$venv/bin/python" bench/glmm_peers.py "$data" >> "$times"
Rscript bench/glmm_r.R "$data" >> "$times"
python3 - "$times" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
t = {(r[0], r[1]): tuple(map(float, r[2:5])) for r in rows}
tools = ["parsim", "glmm", "mixedlm", "lme4", "glmmTMB"]
print(f"{'data':8}" + "".join(f"{x:>24}" for x in tools))
for name in ["cbpp", "crt", "verbagg"]:
    cells = []
    for x in tools:
        m = t.get((x, name))
        cells.append(f"{m[0]:9.3f} ({m[1]:.3g}-{m[2]:.3g})" if m else "—")
    print(f"{name:8}" + "".join(f"{c:>24}" for c in cells))
print("ratios peer / parsim (median):")
print(f"{'data':8}" + "".join(f"{x:>12}" for x in tools[1:]) + f"{'fastest':>12}")
for name in ["cbpp", "crt", "verbagg"]:
    p = t[("parsim", name)][0]
    r = [t[(x, name)][0] / p if (x, name) in t else None for x in tools[1:]]
    fastest = min(v for v in r if v is not None)
    print(f"{name:8}" + "".join(f"{v:12.1f}" if v else f"{'—':>12}" for v in r) + f"{fastest:12.1f}")
PY

echo "== 500-replication trial study (30 clusters of 20, SD 0.5, log-odds ratio 0.4), seconds =="
out=$(mktemp -d); trap 'rm -f "$times"; rm -rf "$out"' EXIT
run_parsim() {
  rm -rf "$out/crt"
  local start end
  start=$(date +%s.%N)
  target/release/parsim run bench/crt_power.toml -o "$out/crt" -q
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l
}
parsim_times=$(for _ in 1 2 3; do run_parsim; done | sort -n | tr '\n' ' ')
power=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) h[$i] = i } NR > 1 && $h["term"] == "trt" { print $h["power"] }' "$out/crt/summary.csv")
mcpower=$("$venv/bin/python" - <<'PY'
import math, time, warnings
warnings.simplefilter("ignore")
from mcpower import MCPower
sd = 0.5
icc = sd**2 / (sd**2 + math.pi**2 / 3)  # MCPower sizes the logit random intercept by its latent ICC
def run():
    m = MCPower("y ~ trt + (1|cluster)", family="logit")
    m.set_effects("trt=0.4")
    m.set_variable_type("trt=binary")
    m.set_baseline_probability(0.3)
    m.set_cluster("cluster", ICC=icc, n_clusters=30, cluster_level_vars=["trt"])
    m.set_simulations(500)
    start = time.perf_counter()
    r = m.find_power(sample_size=600, verbose=False, progress_callback=False)
    return time.perf_counter() - start, r["power_uncorrected"][0][0]
run()
times = sorted(run() for _ in range(3))
print(" ".join(f"{t:.3f}" for t, _ in times), times[1][1])
PY
)
set -- $parsim_times; pmed=$2
set -- $mcpower; mmed=$2
printf 'parsim run (whole process, 500 replications, estimates stored): median %.3f s (runs: %s), power %s%%\n' "$pmed" "$parsim_times" "$power"
printf 'MCPower find_power (500 simulations, power only):             median %.3f s (runs: %s %s %s), power %s\n' "$mmed" "$1" "$2" "$3" "$4"
printf 'ratio MCPower / parsim: %.2f\n' "$(echo "$mmed / $pmed" | bc -l)"
