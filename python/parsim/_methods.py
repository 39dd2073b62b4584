"""Python callables as a study's methods.

A method runs in long-lived worker processes beside parsim's workers (the study file's ``model =
"python"``), so callables never share the caller's GIL: each becomes a ``[methods.NAME]`` table of
that kind, appended to the study's text. A function defined at the top level of an importable
module file is named by its file and name; anything else (a function in a notebook or in the
``__main__`` script, a lambda, a closure, a callable object) is pickled with cloudpickle, when it is
installed, into the results directory beside a small module that loads it.
"""

from __future__ import annotations

import inspect
import json
import os
import pickle
import sys
from pathlib import Path
from typing import Any, Callable, Dict, Mapping, Tuple

#: Where pickled callables and their loader modules go, inside the results directory.
METHODS_DIR = ".parsim-methods"

_LOADER = """# Written by parsim for the method {name!r}: loads the pickled callable beside this file.
import pickle
import sys

# What the callable imports by name (cloudpickle pickles importable modules' functions by
# reference) is found where the process that pickled it found it.
sys.path[:0] = [p for p in {paths!r} if p not in sys.path]

with open({pickle_path!r}, "rb") as f:
    _method = pickle.load(f)


def analyse(data, condition, rng):
    return _method(data, condition, rng)
"""


def _by_reference(fn: Callable[..., Any]) -> Tuple[str, str] | None:
    """(file, function) when the worker can import ``fn`` from its module's file by its name."""
    if not inspect.isfunction(fn) or fn.__module__ == "__main__":
        return None
    module = sys.modules.get(fn.__module__)
    path = getattr(module, "__file__", None)
    if not path or not str(path).endswith(".py"):
        return None
    if fn.__qualname__ != fn.__name__ or getattr(module, fn.__name__, None) is not fn:
        return None  # nested, a method of a class, or shadowed in its module
    return os.path.abspath(path), fn.__name__


def _pickled(name: str, fn: Callable[..., Any], out: Path) -> Tuple[str, str]:
    """Pickle ``fn`` by value into ``out`` with a loader module; (loader file, its function)."""
    try:
        import cloudpickle  # type: ignore[import-not-found]
    except ImportError:
        raise TypeError(
            f"method {name!r}: {fn!r} cannot be imported by the worker processes (it is defined in a "
            "notebook or the __main__ script, or it is a lambda, a closure or a callable object). "
            "Define it at the top level of a .py file and import it from there, or install "
            "cloudpickle (pip install cloudpickle) to send it by value."
        ) from None
    directory = (out / METHODS_DIR).absolute()
    directory.mkdir(parents=True, exist_ok=True)
    pickle_path = directory / f"{name}.pkl"
    loader = directory / f"{name}.py"
    data = cloudpickle.dumps(fn, protocol=pickle.DEFAULT_PROTOCOL)
    # Written only when changed, so a resumed run sees the same files.
    if not pickle_path.exists() or pickle_path.read_bytes() != data:
        pickle_path.write_bytes(data)
    paths = [os.path.abspath(p) if p else os.getcwd() for p in sys.path]
    text = _LOADER.format(name=name, pickle_path=str(pickle_path), paths=paths)
    if not loader.exists() or loader.read_text() != text:
        loader.write_text(text)
    return str(loader), "analyse"


def _toml_string(s: str) -> str:
    # JSON's string escapes are a subset of TOML's basic strings'.
    return json.dumps(s, ensure_ascii=False)


def method_tables(
    methods: Mapping[str, Callable[..., Any]], declared: Dict[str, str], out: Path
) -> str:
    """The TOML text of ``[methods.NAME]`` tables that run ``methods``' callables, each with the
    contract ``analyse(data, condition, rng)`` of docs/methods.md, in this interpreter."""
    tables = []
    for name, fn in methods.items():
        if not isinstance(name, str) or not name:
            raise TypeError(f"method names must be non-empty strings, got {name!r}")
        if name in declared:
            raise ValueError(
                f"method {name!r} is already declared in the study file ({declared[name]}); "
                "give the callable another name"
            )
        if not callable(fn):
            raise TypeError(f"method {name!r}: expected a callable analyse(data, condition, rng), got {fn!r}")
        file, function = _by_reference(fn) or _pickled(name, fn, out)
        tables.append(
            f"\n[methods.{_toml_string(name)}]\n"
            'model = "python"\n'
            f"file = {_toml_string(file)}\n"
            f"function = {_toml_string(function)}\n"
            f"python = {_toml_string(os.path.abspath(sys.executable))}\n"
        )
    return "".join(tables)
