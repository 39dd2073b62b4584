"""Shared fixtures: the repository's paths and the `parsim` binary the CLI comparisons run."""

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def parsim_bin() -> str:
    """The CLI built from this repository (.ci/run builds it with cargo test), or PARSIM_BIN."""
    candidate = os.environ.get("PARSIM_BIN") or str(ROOT / "target" / "release" / "parsim")
    if not Path(candidate).is_file():
        candidate = shutil.which("parsim") or candidate
    assert Path(candidate).is_file(), f"no parsim binary at {candidate}: cargo build --release -p parsim-cli"
    return candidate
