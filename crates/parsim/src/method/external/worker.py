# parsim's worker for `model = "python"` methods: the worker side of the protocol in docs/methods.md.
# parsim runs it as `python3 -c <this source>` (it is inside the parsim binary; nothing to install), sends
# a hello frame naming the user's file and function, then one fit frame per data set.
import os
import struct
import sys
import traceback
import warnings

STATUSES = ("ok", "singular", "not_converged")
FIELDS = ("se", "df", "ci_lower", "ci_upper", "p_value")
KEYS = ("term", "estimate") + FIELDS + ("status", "kind")
# Mask bits of a result row (see protocol.rs): which of se, df, ci_lower, ci_upper, p_value are given.
BITS = (1, 2, 4, 8, 16)
VARIANCE = 32
# A result row: its mask, then estimate, se, df, ci_lower, ci_upper, p_value.
ROW = struct.Struct("<B6d")
VERSION = 1
# The hello frame's descriptor when parsim offers no shared memory file; the ready frame's flag that
# takes it up.
NO_SHARED = 0xFFFFFFFF
SHARED = 1
# Where a fit frame's payload leaves the unit (type, 9 u64) for the parameters and the columns.
UNIT_END = 73


class Malformed(Exception):
    """The user's function returned something that is not a result."""


def frame(kind, *parts):
    payload = kind + b"".join(parts)
    return struct.pack("<I", len(payload)) + payload


def text(s):
    b = s.encode("utf-8", "replace")
    return struct.pack("<I", len(b)) + b


# An outcome frame's status "ok" and empty message, before its rows.
PLAIN_HEAD = text("ok") + text("")


class Frames:
    """Reads frames into one reused buffer: a fresh 240 kB bytes object per data set would cost more
    (page faults) than the rest of the call. The columns are copied out of it, so nothing the user's
    code keeps refers to the buffer."""

    def __init__(self, inp):
        self.inp = inp
        self.buffer = bytearray(1 << 16)

    def read(self):
        head = self.inp.read(4)
        if len(head) < 4:
            return None
        (n,) = struct.unpack("<I", head)
        if n > len(self.buffer):
            self.buffer = bytearray(max(n, 2 * len(self.buffer)))
        view = memoryview(self.buffer)[:n]
        got = 0
        while got < n:
            k = self.inp.readinto(view[got:])
            if not k:
                return None
            got += k
        return view


def describe(exc):
    """The exception's own line, then the traceback's last frames in the user's code."""
    head = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    # The worker's own frames are "<string>" (it runs from -c), importlib's "<frozen ...>": only the
    # user's frames are shown.
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith("<")]
    if not frames:
        return head
    lines = "".join(traceback.format_list(frames[-6:])).rstrip()
    return head + "\nTraceback (most recent call last):\n" + lines


class Worker:
    def __init__(self, np, pd):
        self.np = np
        self.pd = pd
        # One generator, put at each unit's state: numpy's default_rng(SeedSequence(seed, spawn_key=
        # (condition, replication, key))) is this PCG64 state, which parsim computes; building a new
        # SeedSequence per fit would cost some 35 microseconds.
        self.bits = np.random.PCG64(np.random.SeedSequence(0))
        self.rng = np.random.Generator(self.bits)
        self.function = None
        # pandas' public constructor spends some 50 microseconds per data set inferring what parsim
        # already knows (1-D float or int columns of one length) and then copies the columns once more
        # into one 2-D block per dtype. The Blocks class below builds those blocks straight from the
        # frame, once checked against the public constructor; any failure falls back to it for good.
        self.blocks = Blocks(pd) if pd is not None else None
        self.shared = None
        # The layout of the last fit frame, while it can be reused (see Layout).
        self.last = None

    def hello(self, body):
        at = 1
        (version,) = struct.unpack_from("<I", body, at)
        at += 4
        fields = []
        for _ in range(3):
            (n,) = struct.unpack_from("<I", body, at)
            fields.append(str(body[at + 4 : at + 4 + n], "utf-8"))
            at += 4 + n
        _name, path, function = fields
        if len(body) >= at + 4:
            (fd,) = struct.unpack_from("<I", body, at)
            if fd != NO_SHARED:
                self.shared = Shared.take(fd)
        if version != VERSION:
            return frame(b"E", text(f"the worker speaks protocol {VERSION}, parsim sent {version}"))
        import importlib.util

        directory = os.path.dirname(path)
        if directory not in sys.path:
            sys.path.insert(0, directory)
        module_name = os.path.splitext(os.path.basename(path))[0]
        try:
            spec = importlib.util.spec_from_file_location(module_name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            spec.loader.exec_module(module)
        except BaseException as exc:  # noqa: BLE001 - any failure of the user's file is reported
            return frame(b"E", text(f"{os.path.basename(path)} failed to load: " + describe(exc)))
        fn = getattr(module, function, None)
        if not callable(fn):
            what = "defines no function" if fn is None else "has a non-function"
            return frame(b"E", text(f"{os.path.basename(path)} {what} `{function}`"))
        self.function = fn
        setup = getattr(module, "setup", None)
        if callable(setup):
            try:
                setup()
            except BaseException as exc:  # noqa: BLE001
                return frame(b"E", text("setup() failed: " + describe(exc)))
        self.warnings = Warnings()
        pandas = self.pd.__version__ if self.pd else "absent (data is a dict of numpy arrays)"
        about = f"python {sys.version.split()[0]}, numpy {self.np.__version__}, pandas {pandas}"
        return frame(b"R", text(about), bytes([SHARED if self.shared else 0]))

    def layout(self, body):
        """The layout of a fit frame: the last one when the frame repeats it byte for byte."""
        last = self.last
        if last is not None and len(body) - UNIT_END == len(last.tail):
            if bytes(body[UNIT_END:]) == last.tail:
                return last
        layout = Layout(body, self.shared, self.np)
        self.last = layout if layout.tail is not None else None
        return layout

    def fit(self, body):
        layout = self.layout(body)
        lease = self.shared.lease(layout.end) if layout.end else None
        try:
            return self.call(body, layout, lease)
        finally:
            # After the call, when nothing of it but what the user's code kept refers to the columns.
            if lease is not None:
                self.shared.settle(lease)

    def call(self, body, layout, lease):
        s_hi, s_lo, i_hi, i_lo = struct.unpack_from("<4Q", body, 33)
        condition = dict(layout.condition)
        data = None
        if self.blocks is not None and not layout.texts:
            data = self.blocks.frame(layout, lease)
        if data is None:
            rows = layout.rows
            data = {
                name: layout.texts[name] if kind == 2 else column(self.np, buffer, kind, offset, rows, lease)
                for name, kind, buffer, offset in layout.columns
            }
            if self.pd is not None:
                data = self.pd.DataFrame(data)
        self.bits.state = {
            "bit_generator": "PCG64",
            "state": {"state": (s_hi << 64) | s_lo, "inc": (i_hi << 64) | i_lo},
            "has_uint32": 0,
            "uinteger": 0,
        }
        caught = self.warnings.start()
        try:
            result = self.function(data, condition, self.rng)
        except BaseException as exc:  # noqa: BLE001 - the user's failure is the fit's error
            return frame(b"E", text(describe(exc)))
        finally:
            self.warnings.stop()
        try:
            return (not caught and plain(result)) or self.outcome(result, caught)
        except Malformed as exc:
            return frame(b"E", text(f"{self.function.__name__}() returned {exc}"))

    def outcome(self, result, caught):
        status = 0
        notes = []
        for category, message in caught:
            note = f"{category.__name__}: {message}"
            if note not in notes:
                notes.append(note)
            if any(c.__name__ == "ConvergenceWarning" for c in category.__mro__):
                status = 2
        parts = []
        rows = self.rows(result)
        for row in rows:
            term = row.get("term")
            if not isinstance(term, str):
                raise Malformed(f"a row whose term is {term!r}, not a string")
            unknown = [k for k in row if k not in KEYS]
            if unknown:
                raise Malformed(
                    f"a row for `{term}` with the key(s) {', '.join(map(str, unknown))}; "
                    f"a row may have {', '.join(KEYS)}"
                )
            estimate = self.number(row.get("estimate"), "estimate", term)
            if estimate is None:
                raise Malformed(f"a row for `{term}` without an estimate")
            mask = 0
            values = [estimate]
            for field, bit in zip(FIELDS, BITS):
                v = self.number(row.get(field), field, term)
                if v is not None:
                    mask |= bit
                values.append(0.0 if v is None else v)
            kind = row.get("kind")
            if kind == "variance":
                mask |= VARIANCE
            elif kind not in (None, "fixed") and not self.missing(kind):
                raise Malformed(f"kind {kind!r} for `{term}`; it must be \"fixed\" or \"variance\"")
            row_status = row.get("status")
            if row_status is not None and not self.missing(row_status):
                if row_status not in STATUSES:
                    raise Malformed(
                        f"status {row_status!r} for `{term}`; it must be one of {', '.join(STATUSES)}"
                    )
                status = max(status, STATUSES.index(row_status))
            parts.append(text(term))
            parts.append(ROW.pack(mask, *values))
        head = text(STATUSES[status]) + text("; ".join(notes)) + struct.pack("<I", len(rows))
        return frame(b"O", head, *parts)

    def rows(self, result):
        if self.pd is not None and isinstance(result, self.pd.DataFrame):
            result = result.to_dict("records")
        if isinstance(result, dict):
            rows = []
            for term, value in result.items():
                if isinstance(value, (tuple, list)):
                    if not 1 <= len(value) <= 3:
                        raise Malformed(
                            f"{len(value)} values for `{term}`; give estimate, (estimate, se) "
                            "or (estimate, se, df)"
                        )
                    rows.append(dict(zip(("estimate", "se", "df"), value), term=term))
                else:
                    rows.append({"term": term, "estimate": value})
            return rows
        if isinstance(result, (list, tuple)) and all(isinstance(r, dict) for r in result):
            return result
        raise Malformed(
            f"a {type(result).__name__}; return a dict term -> estimate (or (estimate, se) or "
            "(estimate, se, df)), a DataFrame or a list of dicts with term and estimate"
        )

    def missing(self, v):
        return isinstance(v, float) and v != v

    def number(self, v, field, term):
        if v is None:
            return None
        if isinstance(v, (str, bytes)) or not hasattr(v, "__float__"):
            raise Malformed(f"{shown(v)} as the {field} of `{term}`, not a number")
        try:
            x = float(v)
        except (OverflowError, TypeError, ValueError) as exc:
            raise Malformed(f"{shown(v)} as the {field} of `{term}`, which is not a double ({exc})") from None
        # NaN in an optional column (a DataFrame row without a df, say) means "not given".
        return None if x != x and field != "estimate" else x


class Warnings:
    """Records every warning raised during a call, whatever the filters outside it, as
    `catch_warnings(record=True)` with `simplefilter("always")` around each call would, at a fraction of
    its cost (a few microseconds a call): the "always" filter and the recording hook stay installed
    between calls, and are put back after a call only when it changed them."""

    ALWAYS = ("always", None, Warning, None, 0)

    def __init__(self):
        self.caught = []
        # The filters the calls see: "always" before those outside the calls (the user's module and
        # setup() may have added some).
        self.filters = [self.ALWAYS] + list(warnings.filters)
        self.hook = self.record
        self.install()

    def record(self, message, category, filename, lineno, file=None, line=None):
        self.caught.append((category, message))

    def install(self):
        warnings.filters = list(self.filters)
        warnings.showwarning = self.hook
        # The warnings module caches what its filters decide; this private function (3.8-3.13)
        # clears the cache, as catch_warnings does.
        mutated = getattr(warnings, "_filters_mutated", None)
        if mutated is not None:
            mutated()

    def start(self):
        """A fresh list the call's warnings go to, as (category, message)."""
        self.caught = []
        return self.caught

    def stop(self):
        """After a call: the filters and the hook as before it."""
        if warnings.showwarning is not self.hook or warnings.filters != self.filters:
            self.install()


class Layout:
    """What a fit frame says after its unit: the condition's parameters, the number of rows and each
    column's (name, kind, buffer, offset of the values); text columns are decoded into `texts`. A
    column in the shared file has buffer None: its values are in each call's Lease, up to `end`. Values
    in the frame are copied into the arrays the user's code receives, so nothing it keeps refers to the
    reused frame buffer.

    When every column is in the shared file, this part of the frame is the same bytes for every data
    set of a condition (names, types and offsets do not change), so the worker keeps it in `tail` and
    decodes it only when it changes; a frame with columns inline carries values and is never reused
    (`tail` is None)."""

    def __init__(self, body, shared, np):
        at = UNIT_END
        self.end = 0
        (count,) = struct.unpack_from("<I", body, at)
        at += 4
        self.condition = {}
        for _ in range(count):
            (n,) = struct.unpack_from("<I", body, at)
            name = str(body[at + 4 : at + 4 + n], "utf-8")
            at += 4 + n
            (self.condition[name],) = struct.unpack_from("<d", body, at)
            at += 8
        rows, ncols = struct.unpack_from("<QI", body, at)
        at += 12
        self.rows = rows
        self.columns = []
        self.texts = {}
        inline = False
        for _ in range(ncols):
            (n,) = struct.unpack_from("<I", body, at)
            name = str(body[at + 4 : at + 4 + n], "utf-8")
            at += 4 + n
            kind = body[at]
            at += 1
            if kind >= 3:
                (offset,) = struct.unpack_from("<Q", body, at)
                at += 8
                if shared is None:
                    raise ValueError(f"column {name} is in a shared file this worker did not take")
                if rows:
                    self.columns.append((name, kind - 3, None, offset))
                    self.end = max(self.end, offset + 8 * rows)
                else:
                    # An empty data set may come before anything was written to the (then empty) file.
                    self.columns.append((name, kind - 3, b"", 0))
                continue
            inline = True
            self.columns.append((name, kind, body, at))
            if kind == 2:
                values = []
                for _ in range(rows):
                    (n,) = struct.unpack_from("<I", body, at)
                    values.append(str(body[at + 4 : at + 4 + n], "utf-8"))
                    at += 4 + n
                self.texts[name] = np.array(values, dtype=object)
            else:
                at += 8 * rows
        self.tail = None if inline else bytes(body[UNIT_END:])


def plain(result):
    """The outcome frame of the commonest result, a dict term -> number with no warnings raised, as
    Worker.outcome would encode it but a third of its cost; None for any other result, which
    Worker.outcome checks and encodes."""
    if type(result) is not dict:
        return None
    parts = [PLAIN_HEAD, struct.pack("<I", len(result))]
    for term, value in result.items():
        if type(term) is not str or not isinstance(value, (float, int)):
            return None
        try:
            row = ROW.pack(0, float(value), 0.0, 0.0, 0.0, 0.0, 0.0)
        except OverflowError:
            return None
        parts.append(text(term))
        parts.append(row)
    return frame(b"O", *parts)


def shown(v):
    """A value as an error message quotes it: its repr, cut short when long (an int of 400 digits)."""
    r = repr(v)
    return r if len(r) <= 60 else r[:40] + "..." + r[-10:]


def column(np, buffer, kind, offset, rows, lease):
    """One numeric column (kind 0: float64, 1: int64) of a frame's buffer, or of the shared file's lease
    when buffer is None."""
    return numbers(np, buffer, "<f8" if kind == 0 else "<i8", rows, offset, lease)


def numbers(np, buffer, dtype, count, offset, lease):
    """`count` values from `offset` of a buffer: a view of the lease's pages when it lends them, else a
    fresh copy (the frame buffer is reused for the next frame, and parsim writes the next data set over
    the shared file)."""
    if buffer is None:
        buffer = lease.pages
        if lease.lends:
            return np.frombuffer(buffer, dtype=dtype, count=count, offset=offset)
    return np.frombuffer(buffer, dtype=dtype, count=count, offset=offset).copy()


class Group:
    """The columns of one dtype ((name, kind, buffer, offset) each), which pandas keeps as one 2-D block
    at `placement` (their positions in the frame)."""

    def __init__(self, np, columns, dtype, rows, placement):
        self.np = np
        self.columns = columns
        self.dtype = dtype
        self.rows = rows
        self.placement = placement
        # Side by side in one buffer (as parsim puts them in the shared file): one 2-D view (or copy).
        _, _, first, start = columns[0]
        side_by_side = all(c[2] is first and c[3] == start + 8 * rows * k for k, c in enumerate(columns))
        self.span = (first, start) if side_by_side else None

    def values(self, lease):
        """A 2-D array of the columns' values, one row per column (see `numbers`)."""
        np, n, rows = self.np, len(self.columns), self.rows
        if self.span is not None:
            buffer, start = self.span
            return numbers(np, buffer, self.dtype, rows * n, start, lease).reshape(n, rows)
        values = np.empty((n, rows), dtype=self.dtype)
        for row, (_, _, buffer, offset) in enumerate(self.columns):
            source = lease.pages if buffer is None else buffer
            values[row] = np.frombuffer(source, dtype=self.dtype, count=rows, offset=offset)
        return values


class Shared:
    """The shared memory file parsim offers in the hello frame (docs/methods.md), mapped read-write and
    shared. The file only grows; it is mapped again when a fit frame points past the mapping.

    Its pages are lent to the user's code without a copy: the arrays it receives are views of the file,
    which it may write to (parsim only writes the file between a reply and the next fit frame, and
    reads nothing back). What the code still refers to when it returns (a data set kept in a global, a
    model holding a view) is given private pages at the same addresses before the reply (Pager), so
    parsim's next data set cannot change it. Without a Pager (no ctypes), the columns are copied."""

    def __init__(self, fd, pager):
        self.fd = fd
        self.pager = pager
        self.map = None
        self.doomed = False

    @classmethod
    def take(cls, fd):
        """The file at descriptor fd, or None when it cannot be used (the columns then come in the
        frames)."""
        try:
            os.fstat(fd)
        except OSError:
            return None
        return cls(fd, Pager.find())

    def view(self, end):
        """The mapping, at least `end` bytes long."""
        if self.map is None or len(self.map) < end:
            import mmap

            size = os.fstat(self.fd).st_size
            if size < end:
                raise ValueError(f"the shared file has {size} bytes, a column ends at {end}")
            # The old mapping is left to the garbage collector: a view of it may still be alive.
            prot = mmap.PROT_READ | mmap.PROT_WRITE
            self.map = mmap.mmap(self.fd, size, flags=mmap.MAP_SHARED, prot=prot)
        return self.map

    def lease(self, end):
        """The file's first `end` bytes for one call."""
        return Lease(self.view(end), end, self.pager)

    def settle(self, lease):
        """After a call: the pages the user's code kept are made private, and the file is mapped afresh
        for the next data set. When that fails, the worker ends after its reply (`doomed`): parsim
        starts another, and what the code kept is never overwritten under it."""
        if lease.lends and lease.kept():
            lease.pages = None
            try:
                self.pager.privatise(lease.mapping, lease.end)
            except OSError as exc:
                print(f"parsim worker: cannot keep a data set the method refers to: {exc}", file=sys.stderr)
                self.doomed = True
            if self.map is lease.mapping:
                self.map = None


class Lease:
    """One call's columns in the shared file: `pages`, the file's first `end` bytes. When it `lends`
    them, the user's arrays are views of `pages` (a ctypes array of its own, so that every such view,
    however derived, holds a reference to it: `kept` counts them)."""

    __slots__ = ("mapping", "pages", "end", "lends")

    def __init__(self, mapping, end, pager):
        self.mapping = mapping
        self.end = end
        self.lends = pager is not None
        self.pages = pager.pages(mapping, end) if self.lends else mapping

    def kept(self):
        """Whether anything but this lease refers to its pages (getrefcount counts its own argument)."""
        return sys.getrefcount(self.pages) > 2


class Pager:
    """Replaces pages of a shared mapping with private anonymous ones holding the same bytes, at the
    same addresses (mmap with MAP_FIXED through ctypes: Python's mmap module cannot place a mapping)."""

    # MAP_FIXED is 0x10 on every Linux architecture; the shared file exists on Linux only.
    MAP_FIXED = 0x10

    def __init__(self, ctypes, mmap_call):
        import mmap

        self.ctypes = ctypes
        self.mmap = mmap
        self.call = mmap_call

    @classmethod
    def find(cls):
        """A Pager, or None where ctypes or libc's mmap cannot be had."""
        try:
            import ctypes

            call = ctypes.CDLL(None, use_errno=True).mmap
            call.restype = ctypes.c_void_p
            call.argtypes = (
                ctypes.c_void_p,
                ctypes.c_size_t,
                ctypes.c_int,
                ctypes.c_int,
                ctypes.c_int,
                ctypes.c_long,
            )
            return cls(ctypes, call)
        except Exception:  # noqa: BLE001 - no ctypes or no libc: the columns are copied instead
            return None

    def pages(self, mapping, end):
        """The mapping's first `end` bytes as a fresh object whose buffer they are."""
        return (self.ctypes.c_char * end).from_buffer(mapping)

    def privatise(self, mapping, end):
        """Gives the pages under the mapping's first `end` bytes private copies."""
        ctypes, mmap = self.ctypes, self.mmap
        size = -(-end // mmap.PAGESIZE) * mmap.PAGESIZE
        saved = mapping[:end]
        probe = ctypes.c_char.from_buffer(mapping)
        address = ctypes.addressof(probe)
        del probe
        flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | self.MAP_FIXED
        got = self.call(address, size, mmap.PROT_READ | mmap.PROT_WRITE, flags, -1, 0)
        if got != address:
            errno = ctypes.get_errno()
            raise OSError(errno, f"mmap: {os.strerror(errno)}")
        ctypes.memmove(address, saved, end)


class Blocks:
    """Builds a data set's DataFrame as pandas stores it, one 2-D block per dtype, filled straight from
    the frame. This uses pandas internals (BlockManager, new_block, BlockPlacement), so it checks itself
    on the first data set against the public constructor and is switched off for good on any
    difference or failure; the public constructor is then used, as with any other pandas."""

    def __init__(self, pd):
        self.pd = pd
        self.checked = False
        self.broken = False
        # The column names and kinds of the last data set, and what is built from them once; the
        # Layout the groups were planned for.
        self.shape = None
        self.rows = None
        self.planned = None
        try:
            from pandas._libs.internals import BlockPlacement
            from pandas.core.internals import BlockManager
            from pandas.core.internals.blocks import new_block

            self.parts = (BlockPlacement, BlockManager, new_block)
            self.from_mgr = pd.DataFrame._from_mgr
        except Exception:  # noqa: BLE001 - another pandas: the public constructor it is
            self.broken = True

    def frame(self, layout, lease):
        """The DataFrame of a Layout's numeric columns, or None."""
        if self.broken:
            return None
        try:
            frame = self.build(layout, lease)
            if not self.checked:
                self.check(frame, layout, lease)
            return frame
        except Exception:  # noqa: BLE001 - an internal API that may change: use the public one
            self.broken = True
            return None

    def plan(self, layout):
        """The blocks' groups of a layout, and the frame's column and row indexes."""
        import numpy as np

        BlockPlacement = self.parts[0]
        shape = tuple((name, kind) for name, kind, _, _ in layout.columns)
        if shape != self.shape:
            self.shape = shape
            self.columns = self.pd.Index([name for name, _ in shape])
        if layout.rows != self.rows:
            self.rows, self.index = layout.rows, self.pd.RangeIndex(layout.rows)
        # A placement is never changed in place (pandas gives a block a new one when columns move, and
        # a frame's copy shares its blocks' placements), so one serves every data set of the layout.
        self.groups = []
        for kind, dtype in ((0, "<f8"), (1, "<i8")):
            where = [i for i, (_, k) in enumerate(shape) if k == kind]
            if where:
                columns = [layout.columns[i] for i in where]
                placement = BlockPlacement(np.array(where, dtype=np.intp))
                self.groups.append(Group(np, columns, dtype, layout.rows, placement))
        self.planned = layout

    def build(self, layout, lease):
        _, BlockManager, new_block = self.parts
        if layout is not self.planned:
            self.plan(layout)
        blocks = tuple(new_block(g.values(lease), placement=g.placement, ndim=2) for g in self.groups)
        # Fresh index objects per data set, so that one the user renames is its own; as views they
        # share the (immutable) labels and pandas' lookup tables built on them, which a copy would
        # build again on the first column the user reads.
        axes = [self.columns._view(), self.index._view()]
        manager = BlockManager(blocks, axes, verify_integrity=False)
        return self.from_mgr(manager, axes=manager.axes)

    def check(self, frame, layout, lease):
        import numpy as np

        rows = layout.rows
        public = self.pd.DataFrame(
            {
                name: column(np, buffer, kind, offset, rows, lease)
                for name, kind, buffer, offset in layout.columns
            }
        )
        if not (frame.equals(public) and list(frame.dtypes) == list(public.dtypes)):
            raise ValueError("the block-built frame differs from pandas' own")
        self.checked = True


def main():
    # Frames go to a private copy of fd 1; fd 1 itself and sys.stdout then point at stderr, so that
    # print() in the user's code (and C libraries writing to fd 1) cannot corrupt the protocol.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    # Likewise the frames come in on a private copy of fd 0, and the user's code reads an empty stdin.
    frames = Frames(os.fdopen(os.dup(0), "rb"))
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    sys.stdin = open(os.devnull)
    body = frames.read()
    if body is None or body[:1] != b"H":
        return
    try:
        import numpy as np
    except ImportError:
        out.write(frame(b"E", text(f"numpy is not installed for {sys.executable} (pip install numpy)")))
        out.flush()
        return
    try:
        import pandas as pd
    except ImportError:
        pd = None
    worker = Worker(np, pd)
    reply = worker.hello(body)
    out.write(reply)
    out.flush()
    if reply[4:5] != b"R":
        return
    while True:
        body = frames.read()
        if body is None:
            return
        if body[:1] == b"F":
            try:
                reply = worker.fit(body)
            except Exception as exc:  # noqa: BLE001 - a frame the worker cannot read
                reply = frame(b"E", text(f"the worker could not read the data set: {exc!r}"))
        else:
            reply = frame(b"E", text(f"unexpected message type {bytes(body[:1])!r}"))
        out.write(reply)
        out.flush()
        if worker.shared is not None and worker.shared.doomed:
            return


main()
