#!/usr/bin/env bash
# The side-by-side benchmarks (issue 7): the seed's study in statsmodels + joblib, lme4 (serial and
# mclapply) and parsim; parsim's data-generation floor; single fits parsim vs lme4 (InstEval included);
# scaling in replications, rows and workers with peak RSS. One command:
#
#   bench/run.sh            installs what it lacks (a Python venv in bench/out/venv; R and lme4 from Debian
#                           when run as root), builds parsim in release, measures, writes bench/RESULTS.md.
#
# Peers are optional: one that cannot be installed is skipped and RESULTS.md says why. Every figure is the
# median (and min-max) of several runs in this one invocation, and every ratio compares figures of this run.
# Environment: RUNS_PARSIM (default 5), RUNS_PEER (default 3), SKIP_INSTALL=1 (use what is there),
# RUNS_INSTEVAL_R (lme4 on InstEval, default RUNS_PEER), CARGO_TARGET_DIR (default target/),
# SKIP_BUILD=1 with PARSIM=/path/to/parsim (a binary built elsewhere). For trying the script out only:
# PEER_REPLICATIONS (default 500), SCALING_REPLICATIONS ("500 5000 50000"), SCALING_ROWS ("500 5000 50000"),
# MEMORY_REPLICATIONS (100000).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=bench/out
RESULTS=$OUT/results.jsonl
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
PARSIM="${PARSIM:-$TARGET/release/parsim}"
VENV=$OUT/venv
PY=$VENV/bin/python
RUNS_PARSIM=${RUNS_PARSIM:-5}
RUNS_PEER=${RUNS_PEER:-3}
RUNS_INSTEVAL_R=${RUNS_INSTEVAL_R:-$RUNS_PEER}
PEER_REPLICATIONS=${PEER_REPLICATIONS:-500}
SCALING_REPLICATIONS=${SCALING_REPLICATIONS:-500 5000 50000}
SCALING_ROWS=${SCALING_ROWS:-500 5000 50000}
MEMORY_REPLICATIONS=${MEMORY_REPLICATIONS:-100000}
CORES=$(nproc)
BLOG=examples/seed-study-blog.toml
mkdir -p "$OUT/studies" "$OUT/runs"
: >"$RESULTS"
started=$(date +%s)

say() { echo "== $*" >&2; }
# note KEY TEXT: a line of the report (skips, checks) recorded in the results file.
note() {
  python3 -c 'import json, sys; print(json.dumps({"note": sys.argv[1], "text": sys.argv[2]}))' "$1" "$2" >>"$RESULTS"
  echo "   $1: $2" >&2
}
event() {
  python3 -c 'import json, os, sys, time; print(json.dumps({"event": sys.argv[1], "time": time.time(), "load": os.getloadavg()}))' "$1" >>"$RESULTS"
}
measure() { python3 bench/measure.py "$RESULTS" "$@"; }
# parsim_run SECTION NAME STUDY [RUNS] [run options...]: a fresh out dir each run, as a first run would be.
parsim_run() {
  local section=$1 name=$2 study=$3 runs=$4
  shift 4
  local dir="$OUT/runs/$section-$name"
  measure --section "$section" --name "$name" --tool parsim --runs "$runs" --warmup 1 --prep "rm -rf '$dir'" \
    -- "$PARSIM" run "$study" --out "$dir" --quiet "$@"
}

event start

# ---------------------------------------------------------------------------------------------- install
have_lme4() { command -v Rscript >/dev/null 2>&1 && Rscript -e 'suppressPackageStartupMessages(library(lme4))' >/dev/null 2>&1; }
have_py() { [ -x "$PY" ] && "$PY" -c 'import numpy, pandas, statsmodels, joblib' >/dev/null 2>&1; }
install_peers() {
  if ! have_lme4; then
    say "installing R and lme4 (apt-get)"
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        r-base-core r-cran-lme4; } >>"$OUT/install.log" 2>&1 || echo "apt-get failed (see $OUT/install.log)" >&2
    fi
  fi
  if ! have_py; then
    say "creating the Python venv ($VENV) with numpy, pandas, statsmodels, joblib from PyPI"
    { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q numpy pandas statsmodels joblib; } \
      >>"$OUT/install.log" 2>&1 || echo "venv/pip failed (see $OUT/install.log)" >&2
  fi
}
# The peers install (network and disk) while parsim builds (CPU): a fresh machine saves minutes.
INSTALLER=
if [ "${SKIP_INSTALL:-0}" != 1 ]; then
  install_peers &
  INSTALLER=$!
fi

# parsim and the two criterion benches of sections 2 and 3, in one build: the benches later run with
# `cargo bench --profile release` over the same packages, so cargo finds every artifact built (the same
# profile and the same packages, hence the same features) and compiles nothing while measuring.
BENCH_PACKAGES=(-p parsim -p parsim-cli -p parsim-random -p parsim-lmm)
say "building parsim and its benches (cargo build --release ${BENCH_PACKAGES[*]} --bin parsim --bench draws --bench fit)"
if [ "${SKIP_BUILD:-0}" != 1 ] &&
  ! cargo build --release "${BENCH_PACKAGES[@]}" --bin parsim --bench draws --bench fit >&2; then
  echo "parsim does not build; nothing to compare against" >&2
  exit 1
fi
event built
[ "${SKIP_BUILD:-0}" = 1 ] && note parsim "binary $PARSIM, not built by this run (SKIP_BUILD=1)"
[ -n "$INSTALLER" ] && wait "$INSTALLER"
# The build leaves a gigabyte or more of dirty pages; written back while measuring, they would slow
# every fsync of parsim's store (ext4 commits them with the journal) and take CPU from every tool.
sync
event installed

R_OK=0
PY_OK=0
if have_lme4; then R_OK=1; elif [ "$(id -u)" != 0 ]; then
  note skip "R/lme4: not installed and not root (apt-get install r-base-core r-cran-lme4 needs root)"
else note skip "R/lme4: not installed and apt-get failed (see bench/out/install.log)"; fi
if have_py; then PY_OK=1; else
  note skip "statsmodels/joblib: the venv could not be created or pip failed (see bench/out/install.log)"
fi

[ -n "${BENCH_NOTE:-}" ] && note note "$BENCH_NOTE"

# ------------------------------------------------------------------------------ 1. the seed's study
say "1. the seed's study (500 replications, N = 5000, random intercept, REML)"
parsim_run seed "parsim --jobs $CORES" "$BLOG" "$RUNS_PARSIM" --jobs "$CORES"
parsim_run seed "parsim --jobs 1" "$BLOG" "$RUNS_PARSIM" --jobs 1
if [ $PY_OK = 1 ]; then
  measure --section seed --name "statsmodels serial loop" --tool statsmodels --runs "$RUNS_PEER" --self-timed \
    -- "$PY" bench/seed_blog.py serial --replications "$PEER_REPLICATIONS"
  measure --section seed --name "statsmodels + joblib (n_jobs=-1)" --tool statsmodels --runs "$RUNS_PEER" \
    --self-timed -- "$PY" bench/seed_blog.py joblib --replications "$PEER_REPLICATIONS"
fi
if [ $R_OK = 1 ]; then
  measure --section seed --name "lme4 serial (lapply)" --tool lme4 --runs "$RUNS_PEER" --self-timed \
    -- Rscript bench/seed_lme4.R serial "$PEER_REPLICATIONS"
  measure --section seed --name "lme4 mclapply ($CORES cores)" --tool lme4 --runs "$RUNS_PEER" --self-timed \
    -- Rscript bench/seed_lme4.R mclapply "$PEER_REPLICATIONS"
fi

# ------------------------------------------------------------------------------- 2. parsim's floor
say "2. parsim's floor: data generation only, generation + fitting"
GEN=$OUT/studies/seed-blog-generation-only.toml
# The blog's study without its [methods.*] tables: every replication's data are drawn, nothing is fitted.
sed '/^\[methods\./,/^$/d' "$BLOG" >"$GEN"
if check=$("$PARSIM" check "$GEN" 2>&1); then
  parsim_run floor "generation only (no methods)" "$GEN" "$RUNS_PARSIM" --jobs "$CORES"
else
  note skip "generation-only study (the blog's without [methods]) refused by parsim check: $(echo "$check" | head -1)"
fi
# The nearest study parsim accepts: the blog's data with the cheapest method (OLS, one pass over the rows).
OLS=$OUT/studies/seed-blog-ols-only.toml
sed '/^\[methods\./,/^$/d; s/^\[estimands\]$/[methods.ols]\nmodel = "ols"\nformula = "response ~ X"\n\n[estimands]/' \
  "$BLOG" >"$OLS"
parsim_run floor "generation + OLS (the cheapest method)" "$OLS" "$RUNS_PARSIM" --jobs "$CORES"
# Drawing one replication's data alone, in-process (parsim-random's criterion bench, numpy's gen_data).
if cargo bench --profile release "${BENCH_PACKAGES[@]}" --bench draws -- --noplot replication/gen_data_n5000 \
  >"$OUT/logs/random_bench.txt" 2>&1; then
  python3 bench/report.py ingest-generation "$TARGET/criterion" >>"$RESULTS"
else
  note skip "cargo bench -p parsim-random --bench draws failed (see bench/out/logs/random_bench.txt)"
fi
parsim_run floor "generation + fit, store on disk" "$BLOG" "$RUNS_PARSIM" --jobs "$CORES"
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
  SHM=$(mktemp -d /dev/shm/parsim-bench.XXXXXX)
  measure --section floor --name "generation + fit, store in memory (tmpfs)" --tool parsim --runs "$RUNS_PARSIM" --warmup 1 \
    --prep "rm -rf '$SHM/run'" -- "$PARSIM" run "$BLOG" --out "$SHM/run" --quiet --jobs "$CORES"
  rm -rf "$SHM"
else
  note skip "store in memory: /dev/shm is not a writable tmpfs here"
fi

# ------------------------------------------------------------------------------- 3. single fits
say "3. single fits: parsim-lmm (criterion) vs lme4"
if cargo bench --profile release "${BENCH_PACKAGES[@]}" --bench fit -- --noplot --warm-up-time 1 \
  >"$OUT/lmm_fit_bench.txt" 2>"$OUT/logs/lmm_fit_bench.err"; then
  python3 bench/report.py ingest-criterion "$TARGET/criterion" "$OUT/lmm_fit_bench.txt" >>"$RESULTS"
else
  note skip "cargo bench -p parsim-lmm --bench fit failed (see bench/out/logs/lmm_fit_bench.err)"
fi
if [ $R_OK = 1 ]; then
  if Rscript bench/single_fits.R tests/data/lme4/data "$OUT" small >"$OUT/lme4_single.jsonl" 2>"$OUT/logs/lme4_single.err"; then
    python3 bench/report.py ingest-lines single lme4 "$OUT/lme4_single.jsonl" >>"$RESULTS"
  else
    note skip "lme4 single fits failed (see bench/out/logs/lme4_single.err)"
  fi
  [ -s "$OUT/insteval.csv" ] || Rscript bench/single_fits.R tests/data/lme4/data "$OUT" export >&2
fi
INSTEVAL_FORMULA="y ~ 1 + service + (1 | s) + (1 | d) + (1 | dept)"
if [ -s "$OUT/insteval.csv" ]; then
  measure --section single --name insteval --tool parsim --runs "$RUNS_PARSIM" --warmup 1 \
    -- "$PARSIM" fit "$OUT/insteval.csv" --formula "$INSTEVAL_FORMULA" --format json
  if [ $R_OK = 1 ] && [ "$RUNS_INSTEVAL_R" -gt 0 ]; then
    if Rscript bench/single_fits.R tests/data/lme4/data "$OUT" insteval "$RUNS_INSTEVAL_R" \
      >"$OUT/lme4_insteval.jsonl" 2>"$OUT/logs/lme4_insteval.err"; then
      python3 bench/report.py ingest-lines single lme4 "$OUT/lme4_insteval.jsonl" >>"$RESULTS"
    else
      note skip "lme4 on InstEval failed (see bench/out/logs/lme4_insteval.err)"
    fi
  fi
else
  note skip "InstEval: no bench/out/insteval.csv (it is exported from R's lme4, which is not available)"
fi

# ------------------------------------------------------------------------------------- 4. scaling
say "4. scaling in replications, rows and workers; peak RSS"
variant() { # variant NAME SED-EXPRESSION: the blog's study edited, into bench/out/studies/
  sed "$2" "$BLOG" >"$OUT/studies/$1.toml"
  echo "$OUT/studies/$1.toml"
}
for r in $SCALING_REPLICATIONS; do
  study=$(variant "replications-$r" "s/^replications = 500\$/replications = $r/")
  for j in "$CORES" 1; do
    parsim_run scaling-replications "R=$r --jobs $j" "$study" "$RUNS_PARSIM" --jobs "$j"
  done
done
for n in $SCALING_ROWS; do
  study=$(variant "rows-$n" "s/^N = 5000\$/N = $n/")
  for j in "$CORES" 1; do
    parsim_run scaling-rows "N=$n --jobs $j" "$study" "$RUNS_PARSIM" --jobs "$j"
  done
done
study=$(variant "replications-$MEMORY_REPLICATIONS" "s/^replications = 500\$/replications = $MEMORY_REPLICATIONS/")
parsim_run memory "R=$MEMORY_REPLICATIONS --jobs $CORES" "$study" 3 --jobs "$CORES"

event end
say "writing bench/RESULTS.md"
python3 bench/report.py write "$RESULTS" bench/RESULTS.md --python "$PY" --parsim "$PARSIM" \
  --seconds "$(($(date +%s) - started))"
echo "bench/RESULTS.md written in $(($(date +%s) - started)) s" >&2
