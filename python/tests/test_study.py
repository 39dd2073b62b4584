"""parsim.Study from Python: the seed study equals the CLI's, data sets are numpy's, callables as
methods do not depend on the number of workers, Ctrl-C stops and resumes, bad input raises."""

import filecmp
import io
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import parsim

import helper_methods

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "examples" / "seed-study.toml"

TWO_GROUPS = textwrap.dedent(
    """\
    [study]
    name = "two-groups"
    replications = {replications}
    seed = 7

    [parameters]
    delta = [0.0, 1.0]
    n = 30

    [data]
    program = \"\"\"
    treated = arange(n) >= 10
    y = normal(delta * treated, where(treated, 1.0, 2.0), n)
    \"\"\"

    [methods.student]
    model = "ols"
    formula = "y ~ treated"

    [estimands]
    treated = "delta"
    """
)


@pytest.fixture(scope="module")
def seed_runs(tmp_path_factory, parsim_bin):
    """The seed study run by the CLI and from Python, into two directories."""
    base = tmp_path_factory.mktemp("seed")
    cli, py = base / "cli", base / "py"
    subprocess.run([parsim_bin, "run", str(SEED), "--out", str(cli), "--quiet"], check=True)
    res = parsim.Study(SEED).run(out=py, jobs=2, progress=False)
    return cli, py, res


def test_seed_study_equals_the_cli_byte_for_byte(seed_runs):
    cli, py, res = seed_runs
    for name in ["results.csv", "summary.csv", "summary.md", "study.toml"]:
        assert filecmp.cmp(cli / name, py / name, shallow=False), name
    assert res.report["units_completed"] == 500 and not res.report["interrupted"]


def test_estimates_are_results_csv_exactly(seed_runs):
    cli, _, res = seed_runs
    est = res.estimates
    lines = (cli / "results.csv").read_text().splitlines()
    assert list(est.columns) == lines[0].split(",")
    assert len(est) == len(lines) - 1
    # Every number as written, parsed by Python's float: the frame holds the very same doubles.
    columns = lines[0].split(",")
    for i in range(0, len(lines) - 1, 97):
        for name, text in zip(columns, lines[i + 1].split(",")):
            got = est[name].iloc[i]
            if text == "":
                assert pd.isna(got), (i, name)
            elif name in ("method", "term", "kind", "status"):
                assert got == text
            else:
                assert float(got) == float(text), (i, name, got, text)


def test_summary_equals_the_cli(seed_runs, parsim_bin):
    cli, _, res = seed_runs
    pd.testing.assert_frame_equal(res.summary(), parsim.results(cli).summary())
    # summary() is summary.csv: the same text, read by the same reader.
    pd.testing.assert_frame_equal(res.summary(), parsim._study._read_csv(cli / "summary.csv"))
    text = subprocess.run(
        [parsim_bin, "summary", str(cli), "--format", "csv", "--level", "0.9"],
        check=True, capture_output=True, text=True,
    ).stdout
    want = pd.read_csv(io.StringIO(text))
    got = res.summary(level=0.9)
    assert list(got.columns) == list(want.columns)
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-15)
    with pytest.raises(ValueError, match="level"):
        res.summary(level=1.5)


def test_fits_has_one_row_per_fit(seed_runs):
    fits = seed_runs[2].fits
    assert list(fits.columns) == ["condition", "replication", "method", "status", "message", "iterations", "seconds"]
    assert len(fits) == 1500
    assert list(fits["method"][:3]) == ["random_intercept", "random_slope", "ols"]
    assert set(fits["status"]) <= {"ok", "singular"}
    assert (fits["seconds"] >= 0).all() and (fits["iterations"] >= 0).all()
    assert list(fits["replication"][::3]) == list(range(500))


def test_data_are_numpys_draws():
    """Replication r of the seed study is the blog's gen_data with numpy's default_rng(r)."""
    study = parsim.Study(SEED)
    for r in (0, 3):
        df = study.data(replication=r)
        rng = np.random.default_rng(r)
        x = rng.normal(loc=0.0, scale=1.0, size=5000)
        group = rng.integers(low=0, high=5, size=5000)
        intercepts = rng.normal(loc=0.0, scale=1, size=5)
        slopes = rng.normal(loc=0.0, scale=0.25, size=5)
        noise = rng.normal(loc=0.0, scale=1, size=5000)
        response = 10 + intercepts[group] + (-0.5 + slopes[group]) * x + noise
        assert np.array_equal(df["X"].to_numpy(), x)
        assert np.array_equal(df["group"].to_numpy(), group)
        assert df["group"].dtype == np.int64
        assert np.array_equal(df["response"].to_numpy(), response)


def test_check_and_design():
    study = parsim.Study(SEED)
    check = study.check()
    assert repr(check).startswith("study `seed-mixed-model`")
    assert check.terms["ols"] == ["(Intercept)", "X"]
    assert any("does not estimate" in w for w in check.warnings)
    assert list(study.methods["method"]) == ["random_intercept", "random_slope", "ols"]
    assert study.conditions.shape == (1, 8)
    assert study.replications == 500 and study.name == "seed-mixed-model"


def run_two_groups(tmp_path, out, replications=40, **kwargs):
    study = parsim.Study.from_toml(TWO_GROUPS.format(replications=replications), tmp_path / "two.toml")
    return study.run(out=tmp_path / out, progress=False, **kwargs)


def test_callables_on_two_workers_equal_one(tmp_path):
    methods = {"welch": helper_methods.welch}
    one = run_two_groups(tmp_path, "one", jobs=1, methods=methods)
    two = run_two_groups(tmp_path, "two", jobs=2, methods=methods)
    assert filecmp.cmp(tmp_path / "one" / "results.csv", tmp_path / "two" / "results.csv", shallow=False)
    est = one.estimates
    assert set(est["method"]) == {"student", "welch"}
    assert len(est[(est.method == "welch") & (est.term == "noise")]) == 80
    assert (one.fits["status"] == "ok").all()
    # The method is named by its file and function in the study as run.
    stored = (tmp_path / "one" / "study.toml").read_text()
    assert f'file = "{helper_methods.__file__}"' in stored and 'function = "welch"' in stored


def test_a_rerun_resumes_nothing_to_do(tmp_path):
    methods = {"welch": helper_methods.welch}
    run_two_groups(tmp_path, "out", methods=methods)
    again = run_two_groups(tmp_path, "out", methods=methods)
    assert again.report["units_completed"] == 0 and again.report["units_already_stored"] == 80


def test_lambda_needs_cloudpickle(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "cloudpickle", None)  # import cloudpickle raises ImportError
    with pytest.raises(TypeError, match="cannot be imported by the worker processes.*cloudpickle"):
        run_two_groups(tmp_path, "out", methods={"m": lambda data, condition, rng: {"treated": 0.0}})


def test_lambda_by_value_with_cloudpickle(tmp_path):
    pytest.importorskip("cloudpickle")
    welch = helper_methods.welch
    by_value = run_two_groups(tmp_path, "lambda", methods={"welch": lambda d, c, r: welch(d, c, r)})
    by_reference = run_two_groups(tmp_path, "file", methods={"welch": welch})
    pd.testing.assert_frame_equal(by_value.estimates, by_reference.estimates)


def test_failing_callable_is_stored_as_an_error(tmp_path):
    res = run_two_groups(tmp_path, "out", methods={"bad": helper_methods.failing})
    fits = res.fits
    bad = fits[fits.method == "bad"]
    assert (bad["status"] == "error").all()
    assert bad["message"].str.contains("this method always fails").all()
    assert res.report["failures"][0][:3] == ("bad", "error", 80)


def test_method_name_clash_raises(tmp_path):
    with pytest.raises(ValueError, match="method 'student' is already declared"):
        run_two_groups(tmp_path, "out", methods={"student": helper_methods.welch})


def test_bad_study_raises_study_error_with_its_place(tmp_path):
    text = TWO_GROUPS.format(replications=10).replace('formula = "y ~ treated"', 'formula = "y ~ treatd"')
    with pytest.raises(parsim.StudyError) as e:
        parsim.Study.from_toml(text, tmp_path / "bad.toml")
    message = str(e.value)
    assert f"┌─ {tmp_path / 'bad.toml'}:18:16" in message and "treatd" in message and "^" in message
    with pytest.raises(parsim.StudyError, match="cannot read"):
        parsim.Study(tmp_path / "missing.toml")
    with pytest.raises(parsim.StudyError):
        parsim.Study.from_toml("[study\nname = 1", "broken.toml")
    with pytest.raises(ValueError, match="condition 5 does not exist"):
        parsim.Study(SEED).data(condition=5)
    with pytest.raises(parsim.StudyError, match="no results store"):
        parsim.results(tmp_path).summary()


def test_a_directory_of_another_study_is_refused(tmp_path):
    run_two_groups(tmp_path, "out", replications=5)
    study = parsim.Study.from_toml(TWO_GROUPS.format(replications=5).replace("seed = 7", "seed = 8"), tmp_path / "t.toml")
    with pytest.raises(parsim.StudyError):
        study.run(out=tmp_path / "out", progress=False)
    study.run(out=tmp_path / "out", progress=False, fresh=True)


INTERRUPTED = """
import sys
sys.path.insert(0, {tests!r})
import helper_methods, parsim
study = parsim.Study.from_toml({text!r}, {path!r})
study.run(out={out!r}, jobs=2, methods={{"slow": helper_methods.slow_mean}}, progress=False)
"""


def test_ctrl_c_stops_cleanly_and_the_next_run_resumes(tmp_path):
    text = TWO_GROUPS.format(replications=150)
    path, out = str(tmp_path / "t.toml"), str(tmp_path / "out")
    script = INTERRUPTED.format(tests=str(Path(__file__).parent), text=text, path=path, out=out)
    child = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE, text=True)
    # Wait for the first replications to be stored, then press Ctrl-C.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        time.sleep(0.2)
        try:
            if len(parsim.results(out).fits) >= 10:
                break
        except parsim.StudyError:
            pass  # no store yet
    child.send_signal(signal.SIGINT)
    _, stderr = child.communicate(timeout=60)
    assert child.returncode != 0
    assert "KeyboardInterrupt" in stderr and "run() again to resume" in stderr, stderr
    stored = parsim.results(out).fits
    assert 0 < len(stored) < 2 * 300, len(stored)
    # Whole replications only: both methods of every stored unit.
    assert (stored.groupby(["condition", "replication"]).size() == 2).all()

    study = parsim.Study.from_toml(text, path)
    resumed = study.run(out=out, jobs=2, methods={"slow": helper_methods.slow_mean}, progress=False)
    assert resumed.report["units_already_stored"] == len(stored) // 2
    whole = study.run(out=tmp_path / "whole", jobs=2, methods={"slow": helper_methods.slow_mean}, progress=False)
    assert filecmp.cmp(Path(out) / "results.csv", tmp_path / "whole" / "results.csv", shallow=False)
    assert len(whole.estimates) == len(resumed.estimates)


def test_progress_without_tqdm_prints_lines(tmp_path, monkeypatch, capfd):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    study = parsim.Study.from_toml(TWO_GROUPS.format(replications=40), tmp_path / "t.toml")
    study.run(out=tmp_path / "out")
    assert "80/80 replications in " in capfd.readouterr().err


def test_an_error_in_the_progress_observer_stops_the_run(tmp_path, monkeypatch):
    def fail(self, done, failures):
        raise ValueError("observer failed")

    monkeypatch.setattr(parsim._study._Progress, "progress", fail)
    study = parsim.Study.from_toml(TWO_GROUPS.format(replications=100), tmp_path / "t.toml")
    with pytest.raises(ValueError, match="observer failed"):
        study.run(out=tmp_path / "out", methods={"slow": helper_methods.slow_mean})
    # What was stored is whole replications; the next run completes the study.
    fits = parsim.results(tmp_path / "out").fits
    assert (fits.groupby(["condition", "replication"]).size() == 2).all() and len(fits) < 400
    monkeypatch.undo()
    res = study.run(out=tmp_path / "out", methods={"slow": helper_methods.slow_mean}, progress=False)
    assert res.report["units_already_stored"] + res.report["units_completed"] == 200
