"""The same analysis as parsim runs, by hand: a method's function on CSV files written by `parsim data`,
with the stream built from numpy's own SeedSequence. Prints each estimate's and se's bits.

usage: python3 by_hand.py FILE FUNCTION METHOD SEED < lines "condition replication name=value,... csv stream"
(stream: the condition's stream key, the first spawn key of its streams)
"""

import hashlib
import importlib.util
import struct
import sys

import numpy as np

# The method's own print() output goes to standard error, as in parsim's worker.
out, sys.stdout = sys.stdout, sys.stderr
path, function, method, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
spec = importlib.util.spec_from_file_location("method", path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
if hasattr(module, "setup"):
    module.setup()
key = int.from_bytes(hashlib.sha256(method.encode()).digest()[:4], "little")


def bits(x):
    return "none" if x is None else str(struct.unpack("<Q", struct.pack("<d", float(x)))[0])


for line in sys.stdin:
    c, r, params, csv, stream = line.split()
    condition = {k: float(v) for k, v in (p.split("=") for p in params.split(","))}
    table = np.genfromtxt(csv, delimiter=",", names=True)
    data = {name: np.asarray(table[name], dtype=float) for name in table.dtype.names}
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(int(stream), int(r), key)))
    rows = getattr(module, function)(data, condition, rng)
    for row in rows:
        print(c, r, row["term"], bits(row["estimate"]), bits(row.get("se")), file=out)
