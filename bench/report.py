#!/usr/bin/env python3
"""Collects bench/run.sh's measurements and writes bench/RESULTS.md (standard library only).

  report.py ingest-criterion CRITERION_DIR SUMMARY.txt   parsim-lmm's `cargo bench --bench fit` → JSON lines
  report.py ingest-generation CRITERION_DIR               parsim-random's gen_data bench → a JSON line
  report.py ingest-lines SECTION TOOL FILE.jsonl          single_fits.R's lines → JSON lines
  report.py write RESULTS.jsonl RESULTS.md [--python PY] [--parsim BIN] [--seconds S]
"""
import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time

GENERATION_BENCH = "drawing one replication's data in-process (parsim-random bench, gen_data N = 5000)"
FIT_CASES = ["seed0_ri", "seed0_rs", "sleepstudy", "penicillin"]

# MixedModels.jl docs/src/benchmarks.md (2 Oct 2018, Julia 1.0.0, Intel Core i5-3570 @ 3.40GHz): published,
# not measured here. Same data and model; there is no published figure for the seed's data sets.
MIXEDMODELS_JL = {
    "sleepstudy": ("4.829 ms", "sleepstudy:1+U+((1+U)|G)"),
    "penicillin": ("2.697 ms", "Penicillin:1+(1|G)+(1|H)"),
    "insteval": ("1.999 s", "InstEval:1+A+(1|G)+(1|H)+(1|I)"),
}
SINGLE_LABELS = {
    "seed0_ri": "seed0 (5000 rows) `response ~ X + (1 | group)`",
    "seed0_rs": "seed0 (5000 rows) `response ~ X + (1 + X | group)`",
    "sleepstudy": "sleepstudy `Reaction ~ Days + (Days | Subject)`",
    "penicillin": "Penicillin `diameter ~ 1 + (1 | plate) + (1 | sample)`",
    "insteval": "InstEval (73,421 rows) `y ~ 1 + service + (1 | s) + (1 | d) + (1 | dept)`, end to end",
    "insteval_fit_only": "InstEval, the `lmer` call alone (no CSV read)",
}


# ------------------------------------------------------------------------------------------------ ingest
def ingest_criterion(crit_dir, summary_path):
    summary = {}
    if os.path.exists(summary_path):
        for line in open(summary_path, encoding="utf-8"):
            m = re.match(r"\s+(\S+)\s+([0-9.]+) µs\s+cold", line)
            if m:
                summary[m.group(1)] = float(m.group(2))
    for case in FIT_CASES:
        path = os.path.join(crit_dir, "fit", case, "new", "sample.json")
        if not os.path.exists(path):
            continue
        sample = json.load(open(path))
        per_fit_us = [t / i / 1000.0 for t, i in zip(sample["times"], sample["iters"])]
        record = {"section": "single", "name": case, "tool": "parsim", "unit": "us", "values": per_fit_us,
                  "source": "criterion samples (cargo bench -p parsim-lmm --bench fit)"}
        if case in summary:
            record["bench_summary_us"] = summary[case]
        print(json.dumps(record))


def ingest_generation(crit_dir):
    path = os.path.join(crit_dir, "replication", "gen_data_n5000", "new", "sample.json")
    sample = json.load(open(path))
    per_rep_us = [t / i / 1000.0 for t, i in zip(sample["times"], sample["iters"])]
    print(json.dumps({"section": "floor", "name": GENERATION_BENCH, "tool": "parsim", "unit": "us",
                      "values": per_rep_us, "per_replication": True,
                      "source": "criterion samples (cargo bench -p parsim-random --bench draws)"}))


def ingest_lines(section, tool, path):
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if not line.startswith("{"):
            continue
        row = json.loads(line)
        record = {"section": section, "name": row.pop("case"), "tool": tool, "unit": row.pop("unit"),
                  "median": row.pop("median"), "min": row.pop("min"), "max": row.pop("max"),
                  "runs": row.pop("runs")}
        record.update(row)
        print(json.dumps(record))


# ------------------------------------------------------------------------------------------------ write
def stats(record):
    """(median, min, max, runs) in the record's unit."""
    if "values" in record:
        v = record["values"]
        return statistics.median(v), min(v), max(v), len(v)
    return record["median"], record["min"], record["max"], record["runs"]


def seconds(record):
    scale = {"s": 1.0, "ms": 1e-3, "us": 1e-6}[record["unit"]]
    return tuple(x * scale if i < 3 else x for i, x in enumerate(stats(record)))


def values_s(record):
    """Every timed run of a record, in seconds."""
    scale = {"s": 1.0, "ms": 1e-3, "us": 1e-6}[record["unit"]]
    return [v * scale for v in record.get("values", [])]


def parsim_repeats(res, cores):
    """The records of the blog's study on all cores, store on disk: measured in sections 1, 2 and 4."""
    return [r for r in (res.find("seed", f"parsim --jobs {cores}"),
                        res.find("floor", "generation + fit, store on disk"),
                        res.find("scaling-replications", f"R=500 --jobs {cores}")) if r and r.get("values")]


def pooled_median(records):
    """The median of every run of the same command measured in several sections (None if none)."""
    runs = [v for r in records for v in values_s(r)]
    return (statistics.median(runs), len(runs)) if runs else (None, 0)


def fmt_time(s):
    if s >= 1.0:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.1f} ms" if s >= 0.1 else f"{s * 1e3:.2f} ms"
    return f"{s * 1e6:.1f} µs"


def fmt_range(lo, hi):
    return f"{fmt_time(lo)} – {fmt_time(hi)}"


def fmt_ratio(x):
    if x >= 100:
        return f"{x:,.0f}×"
    return f"{x:.1f}×" if x >= 10 else f"{x:.2f}×"


def command_output(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        return (out.stdout + out.stderr).strip() if out.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired):
        return None


def machine(python, parsim):
    cpu = "unknown"
    lscpu = command_output(["lscpu"]) or ""
    for line in lscpu.splitlines():
        if line.startswith("Model name:"):
            cpu = line.split(":", 1)[1].strip()
    parsim_version = command_output([parsim, "--version"]) if parsim else None
    versions = [("parsim", parsim_version.removeprefix("parsim ") if parsim_version else None),
                ("rustc", (command_output(["rustc", "--version"]) or "").removeprefix("rustc ") or None)]
    py = None
    if python and os.path.exists(python):
        py = command_output([python, "-c", "import sys, numpy, pandas, statsmodels, joblib; print("
                             "sys.version.split()[0], numpy.__version__, pandas.__version__, "
                             "statsmodels.__version__, joblib.__version__)"])
    if py:
        for name, version in zip(["Python", "numpy", "pandas", "statsmodels", "joblib"], py.split()):
            versions.append((name, version))
    else:
        versions.append(("Python peers", "not available"))
    r = command_output(["Rscript", "-e", 'cat(paste(R.version$major, R.version$minor, sep="."), '
                        'as.character(packageVersion("lme4")), as.character(packageVersion("Matrix")))'])
    if r:
        for name, version in zip(["R", "lme4", "Matrix"], r.split()):
            versions.append((name, version))
    else:
        versions.append(("R / lme4", "not available"))
    return cpu, versions


class Results:
    def __init__(self, path):
        self.records, self.notes, self.events = [], [], {}
        for line in open(path, encoding="utf-8"):
            line = line.strip()
            if not line:
                continue
            row = json.loads(line)
            if "note" in row:
                self.notes.append(row)
            elif "event" in row:
                self.events[row["event"]] = row
            else:
                self.records.append(row)

    def find(self, section, name=None, tool=None, prefix=None):
        for r in self.records:
            if r["section"] != section or "error" in r and not r.get("values"):
                continue
            if name is not None and r["name"] != name:
                continue
            if prefix is not None and not r["name"].startswith(prefix):
                continue
            if tool is not None and r["tool"] != tool:
                continue
            return r
        return None

    def section(self, section):
        return [r for r in self.records if r["section"] == section]

    def failures(self):
        return [r for r in self.records if "error" in r]


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def seed_section(res, cores, out):
    out.append("## 1. The seed's study: 500 replications, N = 5000, 5 groups, random intercept, REML\n")
    par = res.find("seed", f"parsim --jobs {cores}")
    par1 = res.find("seed", "parsim --jobs 1")
    rows = []
    for r in res.section("seed"):
        if "error" in r and not r.get("values"):
            rows.append([r["name"], "failed", r["error"], "", ""])
            continue
        med, lo, hi, n = seconds(r)
        ratio = fmt_ratio(med / seconds(par)[0]) if par else "n/a"
        ratio1 = fmt_ratio(med / seconds(par1)[0]) if par1 else "n/a"
        rows.append([f"{r['name']} ({n} runs)", fmt_time(med), fmt_range(lo, hi), ratio, ratio1])
    out.append(table(["tool", "median", "min – max", f"÷ parsim --jobs {cores}", "÷ parsim --jobs 1"], rows))
    # The same parsim run (the blog's study, all cores, store on disk) is measured again in sections 2 and 4:
    # their spread shows how much the shared machine's load moved the figures during this invocation, and
    # the median of all their runs is the figure the targets use (see `targets`).
    repeats = parsim_repeats(res, cores)
    if par and len(repeats) > 1:
        pooled, runs = pooled_median(repeats)
        slowest = max(seconds(r)[0] for r in repeats)
        peers = [(r["name"], seconds(r)[0]) for r in res.section("seed") if r["tool"] != "parsim" and
                 r.get("values")]
        out.append(
            f"\nThe same parsim run (this study, --jobs {cores}) was measured {len(repeats)} times in this invocation "
            f"(here, in section 2 and in section 4): medians {', '.join(fmt_time(seconds(r)[0]) for r in repeats)}; "
            f"the median of all {runs} runs is {fmt_time(pooled)}. Against that pooled median the ratios are: "
            + ", ".join(f"{name} {fmt_ratio(t / pooled)}" for name, t in peers)
            + f"; against the slowest of the three medians ({fmt_time(slowest)}): "
            + ", ".join(f"{name} {fmt_ratio(t / slowest)}" for name, t in peers) + ".")
    out.append(
        "\nparsim: `parsim run examples/seed-study-blog.toml --quiet` into a fresh out dir each run, after one "
        "untimed warm-up run, wall time of the whole process (start-up, generation, fits, the SQLite store, "
        "results.csv); every parsim row of this report is measured so. The build's files are synced to disk "
        "before anything is measured. statsmodels and lme4: "
        "the time of the study loop itself as the blog timed it (bench/seed_blog.py, bench/seed_lme4.R), "
        "not counting the interpreter's start-up or imports, so the ratios favour the peers. lme4's data are "
        "drawn by R's generator with the blog's sizes and parameters (same model, different random numbers).\n")


def floor_section(res, cores, out):
    recs = res.section("floor")
    if not recs:
        return
    out.append("## 2. parsim's floor: where the time goes (the blog's study, all cores)\n")
    reps = 500
    gen = res.find("floor", "generation only (no methods)")
    bench = res.find("floor", GENERATION_BENCH)
    floor = seconds(gen)[0] if gen else (seconds(bench)[0] * reps / cores if bench else None)
    rows = []
    for r in recs:
        if "error" in r and not r.get("values"):
            rows.append([r["name"], "failed", r["error"], "", ""])
            continue
        med, lo, hi, n = seconds(r)
        if r.get("per_replication"):
            rows.append([f"{r['name']} ({n} samples)", f"{fmt_time(med * reps / cores)} (derived: × {reps} ÷ {cores} cores)",
                         fmt_range(lo, hi) + " per replication", fmt_time(med),
                         fmt_ratio(med * reps / cores / floor) if floor else "n/a"])
            continue
        rows.append([f"{r['name']} ({n} runs)", fmt_time(med), fmt_range(lo, hi),
                     fmt_time(med / reps), fmt_ratio(med / floor) if floor else "n/a"])
    out.append(table(["run", "median", "min – max", "per replication", "÷ floor"], rows))
    out.append(
        "\nThe floor is the generation-only study (the blog's study with its `[methods]` table removed, sed into "
        "bench/out/studies/) when parsim accepts it; otherwise the in-process cost of drawing the 500 data sets "
        "(criterion's per-replication time × 500 ÷ cores), which leaves out process start-up and the store. "
        "\"generation + OLS\" is the blog's data with one OLS fit instead of the mixed model, the cheapest "
        "method parsim has. The tmpfs row puts the store on /dev/shm; parsim has no switch to disable the store.\n")


def single_section(res, out):
    names = FIT_CASES + ["insteval", "insteval_fit_only"]
    rows = []
    for name in names:
        p = res.find("single", name, "parsim")
        l = res.find("single", name, "lme4")
        if not p and not l:
            continue
        cells = [SINGLE_LABELS.get(name, name)]
        for r in (p, l):
            if r:
                med, lo, hi, n = seconds(r)
                cells += [fmt_time(med), fmt_range(lo, hi)]
            else:
                cells += ["–", ""]
        cells.append(fmt_ratio(seconds(l)[0] / seconds(p)[0]) if p and l else "–")
        jl = MIXEDMODELS_JL.get(name)
        cells.append(f"{jl[0]} ({jl[1]})" if jl else "–")
        rows.append(cells)
    if not rows:
        return
    out.append("## 3. Single fits: parsim vs lme4\n")
    out.append(table(["data set and model", "parsim median", "parsim min – max", "lme4 median", "lme4 min – max",
                      "lme4 ÷ parsim", "MixedModels.jl, published, not measured here"], rows))
    out.append(
        "\nparsim's small fits: criterion samples of `cargo bench -p parsim-lmm --bench fit` (a reused fitter, "
        "per-fit time of each sample; median and range over samples). lme4's: `lmer()` repeated in calibrated "
        "batches of about 0.5 s, 5 batches (bench/single_fits.R), per-fit time of each batch. InstEval is "
        "exported from lme4's `InstEval` to bench/out/insteval.csv at benchmark time; both sides are timed end "
        "to end on that CSV: `parsim fit bench/out/insteval.csv --formula ... --format json` (a process) and "
        "R's read.csv + factors + `lmer` (inside one R session). MixedModels.jl figures: its "
        "docs/src/benchmarks.md (2 Oct 2018, Julia 1.0, Intel i5-3570), same data and model, another machine.\n")


def scaling_section(res, cores, out):
    for section, title, key in (("scaling-replications", "replications (N = 5000)", "R"),
                                ("scaling-rows", "rows per data set (500 replications)", "N")):
        recs = res.section(section)
        if not recs:
            continue
        out.append(f"## 4. Scaling in {title}\n")
        rows = []
        by_size = {}
        for r in recs:
            m = re.match(rf"{key}=(\d+) --jobs (\d+)", r["name"])
            if m:
                by_size.setdefault(int(m.group(1)), {})[int(m.group(2))] = r
        for size in sorted(by_size):
            for jobs in sorted(by_size[size], reverse=True):
                r = by_size[size][jobs]
                if "error" in r and not r.get("values"):
                    rows.append([f"{key} = {size:,}", jobs, "failed", r["error"], "", "", ""])
                    continue
                med, lo, hi, n = seconds(r)
                reps = size if key == "R" else 500
                one = by_size[size].get(1)
                speedup = (fmt_ratio(seconds(one)[0] / med) if one and jobs != 1 and one.get("values") else "")
                rows.append([f"{key} = {size:,}", jobs, fmt_time(med), fmt_range(lo, hi),
                             f"{med / reps * 1e6:.1f} µs", f"{max(r['rss_mib']):.1f} MiB", speedup])
        out.append(table([key, "--jobs", "median", "min – max", "per replication", "peak RSS", "speed-up 1 → "
                          f"{cores} workers"], rows))
        out.append("")
    mem = res.find("memory")
    if mem and mem.get("values"):
        med, lo, hi, n = seconds(mem)
        reps = int(re.match(r"R=(\d+)", mem["name"]).group(1))
        out.append(f"Peak RSS at {reps:,} replications of the blog's study (--jobs {cores}, {n} runs): "
                   f"**{max(mem['rss_mib']):.1f} MiB** (min {min(mem['rss_mib']):.1f}); wall {fmt_time(med)} "
                   f"({fmt_range(lo, hi)}), {fmt_time(med / reps)} per replication. Issue 5's target (at 100,000): "
                   "≤ 100 MB.\n")
    out.append("Peak RSS is the child's `ru_maxrss` from wait4 (the counter `/usr/bin/time -v` prints as "
               "\"Maximum resident set size\"), the largest over the runs.\n")


def targets(res, cores):
    """The issues' targets, met or not, from this run's figures."""
    lines = []

    def med(section, name):
        r = res.find(section, name)
        return seconds(r)[0] if r and r.get("values", True) else None

    par = med("seed", f"parsim --jobs {cores}")
    par1 = med("seed", "parsim --jobs 1")
    joblib = med("seed", "statsmodels + joblib (n_jobs=-1)")
    mcl = med("seed", f"lme4 mclapply ({cores} cores)")
    gen = med("floor", "generation only (no methods)")

    def line(what, value, ok):
        lines.append(f"| {what} | {value} | {'met' if ok else '**not met**'} |")

    # parsim's figure for the seed study: the median of every run of the same command in this invocation
    # (sections 1, 2 and 4), so that one window's disturbance does not decide it either way.
    repeats = parsim_repeats(res, cores)
    pooled, runs = pooled_median(repeats)
    pooled = pooled or par
    slowest = max(seconds(r)[0] for r in repeats) if repeats else par

    def seed_ratio(peer):
        text = fmt_ratio(peer / pooled)
        if runs > 5:
            text += (f" (parsim: median of {runs} runs in 3 sections; section 1 alone {fmt_ratio(peer / par)}, "
                     f"slowest section {fmt_ratio(peer / slowest)})")
        return text

    if pooled and joblib:
        line("seed study: ≥ 500× faster than statsmodels + joblib (issue 7)", seed_ratio(joblib),
             joblib / pooled >= 500)
    if pooled and mcl:
        line(f"seed study: ≥ 500× faster than lme4 mclapply (issue 7)", seed_ratio(mcl), mcl / pooled >= 500)
    pi, li = res.find("single", "insteval", "parsim"), res.find("single", "insteval", "lme4")
    if pi and li:
        ratio = seconds(li)[0] / seconds(pi)[0]
        line("InstEval: ≥ 10× faster than lme4 (issue 7)", fmt_ratio(ratio), ratio >= 10)
    if pooled:
        line(f"blog's study ≤ 25 ms wall on {cores} workers (issue 5; median of {runs} runs)", fmt_time(pooled),
             pooled <= 0.025)
    fit = med("floor", "generation + fit, store on disk")
    bench = res.find("floor", GENERATION_BENCH)
    floor = gen or (seconds(bench)[0] * 500 / cores if bench else None)
    if fit and floor:
        what = "generation-only floor" if gen else "floor (derived from the in-process generation bench)"
        line(f"≤ 1.5× the {what} (issue 5)", fmt_ratio(fit / floor), fit / floor <= 1.5)
    if par and par1:
        line(f"≥ 1.8× from 1 to {cores} workers (issue 5)", fmt_ratio(par1 / par), par1 / par >= 1.8)
    mem = res.find("memory")
    if mem and mem.get("values"):
        rss = max(mem["rss_mib"]) * 1.048576  # MiB → MB
        reps = int(re.match(r"R=(\d+)", mem["name"]).group(1))
        line(f"peak RSS ≤ 100 MB at 100,000 replications (issue 5; measured at {reps:,})", f"{rss:.1f} MB",
             rss <= 100)
    if not lines:
        return []
    return ["## Targets\n", "| target | this run | |", "|---|---:|---|"] + lines + [""]


def install_split(events):
    """`(install and build N s, measurements M s)` from the script's events, when it recorded them."""
    start, ready, end = events.get("start"), events.get("installed"), events.get("end")
    if not (start and ready and end):
        return ""
    return (f" (installing the peers and building parsim, side by side: {ready['time'] - start['time']:.0f} s; "
            f"measuring: {end['time'] - ready['time']:.0f} s)")


def write(args):
    res = Results(args.results)
    cores = os.cpu_count()
    cpu, versions = machine(args.python, args.parsim)
    start, end = res.events.get("start"), res.events.get("end")
    out = ["# parsim side-by-side benchmarks\n",
           "Written by `bench/run.sh` (issue 7); every figure below was measured in one invocation on one machine, "
           "and every ratio divides two figures of that same invocation. Do not edit by hand: rerun the script.\n",
           f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(start['time'] if start else time.time()))}"
           + (f", {args.seconds} s for the whole script" if args.seconds else "")
           + install_split(res.events),
           f"- Machine: {cpu}, {cores} cores ({platform.system()} {platform.release()})"]
    if start and end:
        out.append(f"- Load average (1, 5, 15 min) at the start {', '.join(f'{x:.2f}' for x in start['load'])}; "
                   f"at the end {', '.join(f'{x:.2f}' for x in end['load'])}. The machine was shared with other "
                   "builds while this ran: absolute times are inflated and noisy, which the min – max ranges "
                   "show; the ratios compare figures measured minutes apart under similar load.")
    loads = [r["load"] for r in res.records if "load" in r]
    if loads:
        out.append(f"- 1-minute load average when each measurement began: median {statistics.median(loads):.2f}, "
                   f"range {min(loads):.2f} – {max(loads):.2f}")
    out.append("- Versions: " + ", ".join(f"{n} {v}" for n, v in versions if v))
    for n in res.notes:
        out.append(f"- {n['note']}: {n['text']}")
    for r in res.failures():
        out.append(f"- failed: {r['section']} / {r['name']}: {r['error']}")
    out.append("")
    out += targets(res, cores)
    seed_section(res, cores, out)
    floor_section(res, cores, out)
    single_section(res, out)
    scaling_section(res, cores, out)
    with open(args.output, "w", encoding="utf-8") as f:
        f.write("\n".join(out).rstrip() + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("ingest-criterion")
    c.add_argument("crit_dir")
    c.add_argument("summary")
    g = sub.add_parser("ingest-generation")
    g.add_argument("crit_dir")
    l = sub.add_parser("ingest-lines")
    l.add_argument("section")
    l.add_argument("tool")
    l.add_argument("path")
    w = sub.add_parser("write")
    w.add_argument("results")
    w.add_argument("output")
    w.add_argument("--python")
    w.add_argument("--parsim")
    w.add_argument("--seconds")
    args = parser.parse_args()
    if args.cmd == "ingest-criterion":
        ingest_criterion(args.crit_dir, args.summary)
    elif args.cmd == "ingest-generation":
        ingest_generation(args.crit_dir)
    elif args.cmd == "ingest-lines":
        ingest_lines(args.section, args.tool, args.path)
    else:
        write(args)


if __name__ == "__main__":
    sys.exit(main())
