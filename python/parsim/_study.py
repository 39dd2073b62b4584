"""Studies from Python: load and check a study file, look at its data sets, run it, read its results."""

from __future__ import annotations

import io
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Union

import pandas as pd

from . import _methods, _parsim

PathLike = Union[str, "os.PathLike[str]"]


def _read_csv(text_or_path: Any) -> pd.DataFrame:
    """A CSV parsim wrote, its numbers the very doubles written (parsim writes the shortest text that
    reads back as the same double; pandas before 3 parses exactly only when asked to)."""
    return pd.read_csv(text_or_path, keep_default_na=False, na_values=[""], **_EXACT)


# pandas 3 parses floats exactly by default and deprecates the option.
_EXACT: Dict[str, Any] = (
    {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}
)


class Check:
    """What :meth:`Study.check` found: ``print()`` it for the report of ``parsim check``."""

    def __init__(self, text: str, terms: List[Any], warnings: List[str]) -> None:
        #: The report's text.
        self.text = text
        #: The terms each method estimates, by method.
        self.terms: Dict[str, List[str]] = {m: list(t) for m, t in terms}
        #: Things that are allowed but worth knowing.
        self.warnings = list(warnings)

    def __repr__(self) -> str:
        return self.text


class Results:
    """A run's results directory: its estimates, their summary and its fits."""

    def __init__(self, out: Path, report: Optional[Dict[str, Any]] = None) -> None:
        #: The results directory (holds results.sqlite, results.csv, summary.csv, summary.md).
        self.out = Path(out)
        #: What the run did: units_total, units_already_stored, units_completed, seconds, jobs,
        #: failures [(method, status, count, example message)], summary (the table's text).
        self.report: Dict[str, Any] = dict(report or {})
        self._estimates: Optional[pd.DataFrame] = None

    @property
    def estimates(self) -> pd.DataFrame:
        """Every estimate, as ``results.csv``: condition, the design factors, replication, method,
        term, kind, status, estimate, se, df, ci_lower, ci_upper, p_value, truth (numbers exact)."""
        if self._estimates is None:
            self._estimates = _read_csv(self.out / "results.csv")
        return self._estimates.copy()

    def summary(
        self,
        level: Optional[float] = None,
        alpha: Optional[float] = None,
        reference: Optional[str] = None,
    ) -> pd.DataFrame:
        """The performance measures with Monte Carlo SEs, as ``summary.csv``; ``level``, ``alpha``
        and ``reference`` override the study's ``[summary]`` settings (as ``parsim summary``)."""
        text = _parsim.summary_csv(os.fspath(self.out), level, alpha, reference)
        return _read_csv(io.StringIO(text))

    @property
    def fits(self) -> pd.DataFrame:
        """One row per fit: condition, replication, method, status, message, iterations, seconds."""
        names = ["condition", "replication", "method", "status", "message", "iterations", "seconds"]
        return pd.DataFrame(dict(zip(names, _parsim.fits(os.fspath(self.out)))))

    def __repr__(self) -> str:
        table = self.report.get("summary")
        return table if table else f"parsim.Results({str(self.out)!r})"


class _Progress:
    """The run's observer: tqdm's bar when tqdm is installed (a notebook widget in Jupyter), else a
    line on stderr rewritten in a terminal or printed every few seconds in a log."""

    INTERVAL = 5.0

    def __init__(self) -> None:
        self._bar: Any = None
        self._total = 0
        self._last = 0.0
        self._started = 0.0

    def started(self, pending: int, stored: int) -> None:
        if stored:
            print(f"resuming: {stored} replications already stored, {pending} to run", file=sys.stderr)
        self._total, self._started = pending, time.monotonic()
        try:
            from tqdm.auto import tqdm  # type: ignore[import-untyped]

            self._bar = tqdm(total=pending, unit="rep", desc="replications")
        except ImportError:
            self._bar = None

    def progress(self, done: int, failures: int) -> None:
        if self._bar is not None:
            self._bar.update(done - self._bar.n)
            self._bar.set_postfix(failures=failures, refresh=False)
            return
        now = time.monotonic()
        tty = sys.stderr.isatty()
        if tty or now - self._last >= self.INTERVAL:
            self._last = now
            rate = done / max(now - self._started, 1e-9)
            line = f"{done}/{self._total} replications, {rate:.0f}/s, failures {failures}"
            print(("\r" + line) if tty else line, end="" if tty else "\n", file=sys.stderr, flush=True)

    def finished(self, done: int) -> None:
        if self._bar is not None:
            self._bar.update(done - self._bar.n)
            self._bar.close()
            return
        seconds = time.monotonic() - self._started
        line = f"{done}/{self._total} replications in {seconds:.2f} s"
        print(("\r" + line) if sys.stderr.isatty() else line, file=sys.stderr)


class Study:
    """A simulation study, from its study file (see docs/study-file.md).

    >>> study = parsim.Study("examples/seed-study.toml")
    >>> res = study.run()
    """

    def __init__(self, path: PathLike) -> None:
        """Read and validate the study file at ``path``; raises :class:`StudyError` with the file,
        line and column of each problem."""
        self._native = _parsim.Study.load(os.fspath(path))

    @classmethod
    def from_toml(cls, text: str, path: PathLike = "study.toml") -> "Study":
        """A study given as text. ``path`` names it in messages, and its directory is where the
        methods' files are looked up (by default the current directory)."""
        study = cls.__new__(cls)
        study._native = _parsim.Study.from_toml(text, os.fspath(path))
        return study

    @property
    def name(self) -> str:
        """``[study] name`` (default: the file's name without extension)."""
        return self._native.name

    @property
    def path(self) -> Path:
        """The study file."""
        return Path(self._native.path)

    @property
    def source(self) -> str:
        """The study file's text."""
        return self._native.source

    @property
    def replications(self) -> int:
        """Replications per condition."""
        return self._native.replications

    @property
    def conditions(self) -> pd.DataFrame:
        """The design grid: one row per condition, its index and every parameter's value."""
        rows = [{"condition": i, **dict(values)} for i, values in self._native.conditions()]
        return pd.DataFrame(rows)

    @property
    def methods(self) -> pd.DataFrame:
        """The methods: name, model and description."""
        return pd.DataFrame(self._native.methods(), columns=["method", "model", "description"])

    def check(self) -> Check:
        """What ``parsim check`` verifies: replication 0 of every condition generates, and every
        estimand's term is estimated. Raises :class:`StudyError` otherwise."""
        return Check(*self._native.check())

    def data(self, replication: int = 0, condition: int = 0) -> pd.DataFrame:
        """Replication ``replication`` of condition ``condition``: every variable with the data
        set's length, drawn from the same stream as in a run (numpy's, bit for bit)."""
        return pd.DataFrame(dict(self._native.data(int(condition), int(replication))))

    def run(
        self,
        jobs: Optional[int] = None,
        out: Optional[PathLike] = None,
        replications: Optional[int] = None,
        methods: Optional[Mapping[str, Callable[..., Any]]] = None,
        fresh: bool = False,
        progress: bool = True,
    ) -> Results:
        """Run the study on ``jobs`` workers (default: every core) into ``out`` (default
        ``results/<name>``), resuming what an earlier run of the same study stored there.

        ``methods`` adds Python callables as methods, each ``analyse(data, condition, rng)`` as in
        docs/methods.md, run in worker processes of this interpreter (see docs/python.md).
        ``replications`` overrides the study's; ``fresh`` sets aside a store of another study in
        ``out`` instead of refusing. Ctrl-C (KeyboardInterrupt) stops the run once the replications
        in flight are stored; the next ``run()`` resumes it.
        """
        out_dir = Path(out) if out is not None else Path("results") / self.name
        native = self._native
        if methods:
            declared = {m: d for m, _, d in native.methods()}
            tables = _methods.method_tables(methods, declared, out_dir)
            source = native.source
            source = source + ("" if source.endswith("\n") else "\n") + tables
            native = _parsim.Study.from_toml(source, os.fspath(native.path))
        observer = _Progress() if progress else None
        try:
            report = native.run(os.fspath(out_dir), jobs, replications, fresh, observer)
        except KeyboardInterrupt:
            print(
                f"interrupted: the finished replications are stored in {out_dir}; "
                "run() again to resume",
                file=sys.stderr,
            )
            raise
        return Results(out_dir, report)

    def __repr__(self) -> str:
        return f"parsim.Study({str(self.path)!r})"


def results(out: PathLike) -> Results:
    """The results a run stored in ``out``."""
    return Results(Path(out))

