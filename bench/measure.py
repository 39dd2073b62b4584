#!/usr/bin/env python3
"""Run a command several times and append one JSON line of measurements to a results file.

Usage: measure.py RESULTS.jsonl --section S --name NAME --tool TOOL --runs K [--warmup W] [--prep SHELL]
                  [--self-timed] [--replications R] -- COMMAND...

First W untimed runs (default 0: caches and the page cache warm, as hyperfine's --warmup), then K timed runs.
Each run: `--prep` (untimed, e.g. removing the previous run's out dir), then COMMAND. Wall time comes from
perf_counter around the child; peak RSS from the child's rusage (os.wait4: ru_maxrss, the figure
`/usr/bin/time -v` prints as "Maximum resident set size", in KiB on Linux, here as MiB) at µs resolution rather
than /usr/bin/time's 10 ms. With --self-timed the command prints a JSON line with "seconds" (the study's own
time, excluding interpreter start-up and imports, as the blog timed it) and that figure is the one reported;
the process wall time is kept beside it. Stdout/stderr of every run go to RESULTS.jsonl's directory/logs/.
A failing run ends the measurement: the line records the error and the script exits non-zero.
"""
import argparse
import json
import os
import subprocess
import sys
import time


def run_once(command, log):
    with open(log, "ab") as out:
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=out)
        stdout = child.stdout.read()
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        out.write(stdout)
    return child.returncode, wall, usage.ru_maxrss / 1024.0, stdout.decode(errors="replace")


def last_json(text):
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise ValueError("no JSON line in the command's output")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("results")
    parser.add_argument("--section", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--tool", required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=0)
    parser.add_argument("--prep")
    parser.add_argument("--self-timed", action="store_true")
    parser.add_argument("--replications", type=int)
    argv = sys.argv[1:]
    if "--" not in argv:
        parser.error("the command to measure follows --")
    split = argv.index("--")
    args = parser.parse_args(argv[:split])
    command = argv[split + 1:]
    logs = os.path.join(os.path.dirname(os.path.abspath(args.results)), "logs")
    os.makedirs(logs, exist_ok=True)
    log = os.path.join(logs, f"{args.section}-{args.name}.log".replace("/", "_").replace(" ", "_"))
    open(log, "wb").close()
    record = {"section": args.section, "name": args.name, "tool": args.tool, "command": " ".join(command),
              "unit": "s", "values": [], "wall": [], "rss_mib": [], "load": os.getloadavg()[0]}
    if args.replications:
        record["replications"] = args.replications
    error = None
    for run in range(args.warmup + args.runs):
        if args.prep:
            subprocess.run(args.prep, shell=True, check=True)
        code, wall, rss, stdout = run_once(command, log)
        if code == 0 and run < args.warmup:
            continue
        if code != 0:
            error = f"exit status {code} (log: {log})"
            break
        value = wall
        if args.self_timed:
            try:
                value = float(last_json(stdout)["seconds"])
            except (ValueError, KeyError) as e:
                error = f"unreadable output: {e} (log: {log})"
                break
        record["values"].append(value)
        record["wall"].append(wall)
        record["rss_mib"].append(rss)
        print(f"  {args.name}: {value:.4f} s (peak RSS {rss:.1f} MiB)", file=sys.stderr)
    if error:
        record["error"] = error
        print(f"  {args.name}: FAILED, {error}", file=sys.stderr)
    with open(args.results, "a") as out:
        out.write(json.dumps(record) + "\n")
    sys.exit(1 if error else 0)


if __name__ == "__main__":
    main()
