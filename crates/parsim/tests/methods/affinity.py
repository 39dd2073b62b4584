"""Reports the CPUs the worker process may run on: how many, and the first."""

import os


def analyse(data, condition, rng):
    cpus = sorted(os.sched_getaffinity(0))
    return {"cpus": float(len(cpus)), "first": float(cpus[0])}
