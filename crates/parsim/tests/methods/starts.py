"""Counts the worker processes a run starts: setup() appends the process id to `starts.txt` in its
working directory, which is the study file's."""

import os


def setup():
    with open("starts.txt", "a") as f:
        f.write(f"{os.getpid()}\n")


def analyse(data, condition, rng):
    return {"n": float(len(data["y"]))}
