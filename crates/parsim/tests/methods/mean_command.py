"""A `model = "command"` method that speaks parsim's protocol itself (docs/methods.md), without parsim's
worker module: the mean of column y with its standard error. Any language can do the same."""

import math
import struct
import sys

inp, out = sys.stdin.buffer, sys.stdout.buffer


def read_frame():
    head = inp.read(4)
    if len(head) < 4:
        return None
    return inp.read(struct.unpack("<I", head)[0])


def send(payload):
    out.write(struct.pack("<I", len(payload)) + payload)
    out.flush()


def string(s):
    b = s.encode()
    return struct.pack("<I", len(b)) + b


class Reader:
    def __init__(self, body):
        self.body, self.at = body, 1  # after the message type

    def take(self, fmt):
        values = struct.unpack_from(fmt, self.body, self.at)
        self.at += struct.calcsize(fmt)
        return values

    def string(self):
        (n,) = self.take("<I")
        self.at += n
        return self.body[self.at - n : self.at].decode()


hello = read_frame()
assert hello[:1] == b"H"
send(b"R" + string("mean_command.py"))
while (body := read_frame()) is not None:
    r = Reader(body)
    r.take("<9Q")  # seed, condition, replication, key, PCG64 state and increment, integer seed
    (count,) = r.take("<I")
    for _ in range(count):
        r.string(), r.take("<d")
    rows, ncols = r.take("<QI")
    columns = {}
    for _ in range(ncols):
        name = r.string()
        (kind,) = r.take("<B")
        if kind == 2:
            columns[name] = [r.string() for _ in range(rows)]
        else:
            columns[name] = r.take(f"<{rows}{'d' if kind == 0 else 'q'}")
    y = columns["y"]
    mean = sum(y) / len(y)
    se = math.sqrt(sum((v - mean) ** 2 for v in y) / (len(y) - 1) / len(y))
    row = string("mean") + struct.pack("<B6d", 1 | 2, mean, se, len(y) - 1, 0, 0, 0)
    send(b"O" + string("ok") + string("") + struct.pack("<I", 1) + row)
