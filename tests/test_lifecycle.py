"""One lifecycle for every results folder, kept by the Python API as by the command line: one lock
for the folder's whole life (its report included), valleysim's own errors for folders that failed,
are incomplete or damaged, and every check that can be made before a folder exists made before it
(what cannot is recorded: the folder is marked failed, never left "running")."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from procs import env
from robust import invoke, manifest

import sim
from sim.errors import ScenarioError, TasksFailed, UsageError
from sim.scenario import load_scenario
from sim.scenario.loader import resolved_dict

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden" / "scenarios"
PAIR = [str(GOLDEN / "tiny-none.yaml"), str(GOLDEN / "tiny-programme.yaml")]
SMALL = {
    "baseline": None,
    "counterfactual": "tiny-none",
    "replications": 2,
    "fixed": True,
    "executor": "serial",
}

HELD_IN_REPORT = r"""
import json, os, sys, time, pathlib
out, mark = sys.argv[1], pathlib.Path(sys.argv[2])
try:
    import sim.report.pages as pages
except ImportError:  # before the pages had their own module (to check the test fails there)
    import sim.report.document as pages

def held(*args, **kwargs):  # the report phase: the data are final, the pages not yet written
    mark.write_text("report")
    time.sleep(600)

pages.write_pages = held
import sim
sim.compare(sys.argv[3:], baseline=None, counterfactual="tiny-none", replications=2, fixed=True,
            executor="serial", out=out)
"""

SECOND = r"""
import json, sys
import sim
from sim.errors import ValleysimError
try:
    sim.compare(sys.argv[3:], baseline=None, counterfactual="tiny-none", replications=2, fixed=True,
                executor="serial", out=sys.argv[1], force=sys.argv[2] == "force")
    print(json.dumps({"ok": True}))
except ValleysimError as exc:
    print(json.dumps({"ok": False, "type": type(exc).__name__, "message": exc.message}))
"""


def _python(code: str, *args, **popen):
    return [sys.executable, "-c", code, *map(str, args)], {
        "cwd": ROOT,
        "env": env(),
        "text": True,
        **popen,
    }


@pytest.mark.slow
def test_one_lock_for_a_compare_s_whole_life_its_report_included(tmp_path):
    """While ``sim.compare(out=X)`` writes X's report, a second ``sim.compare(out=X)`` in another
    process is refused with the very message the command line gives, and so is ``force=True`` (API
    and CLI): the folder belongs to its writer until its last page, and nothing in it changes
    meanwhile."""
    out, mark = tmp_path / "out", tmp_path / "mark"
    cmd, kw = _python(HELD_IN_REPORT, out, mark, *PAIR)
    holder = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, **kw
    )
    try:
        deadline = time.monotonic() + 300
        while not mark.exists():
            assert holder.poll() is None, holder.communicate()
            assert time.monotonic() < deadline, "the first compare never reached its report"
            time.sleep(0.05)
        # the data are final; the report is being written
        assert manifest(out)["status"] == "complete"
        before = sorted((p.name, p.stat().st_mtime_ns) for p in out.iterdir())
        for force in ("no-force", "force"):
            cmd, kw = _python(SECOND, out, force, *PAIR)
            api = json.loads(
                subprocess.run(cmd, capture_output=True, timeout=300, **kw).stdout.splitlines()[-1]
            )
            cli = invoke(
                "compare",
                *PAIR,
                "--baseline",
                "none",
                "--counterfactual",
                "tiny-none",
                "-n",
                "2",
                "--fixed",
                "--executor",
                "serial",
                "--out",
                out,
                "-q",
                *(["--force"] if force == "force" else []),
            )
            assert not api["ok"] and api["type"] == "UsageError", api
            assert cli.exit_code == 2
            # the CLI's message, word for word
            assert cli.stderr.strip() == f"error: {api['message']}"
            expected = "is in use by valleysim process" if force == "force" else ("already holds "
                                                                                  "results")
            assert expected in api["message"], api["message"]
        assert f"process {holder.pid} on " in api["message"]
        assert sorted((p.name, p.stat().st_mtime_ns) for p in out.iterdir()) == before
    finally:
        holder.kill()
        holder.communicate()


def test_the_api_raises_for_a_study_whose_every_task_failed(tmp_path, monkeypatch):
    """``sim.run(seed=-1)`` is bad input (before any folder); a run whose tasks all fail raises
    TasksFailed (exit code 1, each failure with its replay command), never a Results of nothing."""
    with pytest.raises(UsageError, match="seed: expected a whole number from 0"):
        sim.run(PAIR[0], seed=-1, executor="serial", out=tmp_path / "seed")
    assert not (tmp_path / "seed").exists()
    monkeypatch.setenv("VALLEYSIM_FAIL_TASKS", "tiny-none:0,tiny-none:1")
    with pytest.raises(TasksFailed) as exc:
        sim.run(PAIR[0], replications=2, executor="serial", out=tmp_path / "failed")
    assert exc.value.exit_code == 1 and "2 task(s) failed" in exc.value.message
    assert (
        f"python run_sim.py replay {tmp_path / 'failed'} --scenario tiny-none --replication 0"
        in exc.value.message
    )
    assert manifest(tmp_path / "failed")["status"] == "failed"
    with pytest.raises(TasksFailed):
        sim.Results.open(tmp_path / "failed")


@pytest.fixture
def finished(tmp_path) -> Path:
    """A finished run of the tiny counterfactual."""
    out = tmp_path / "done"
    sim.run(PAIR[0], replications=2, executor="serial", out=out)
    return out


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:200])


@pytest.mark.parametrize("damage, what", [
    (lambda p: (p / "replications.parquet").unlink(), "replications.parquet: is missing"),
    (lambda p: _truncate(p / "replications.parquet"), "replications.parquet: is unreadable"),
    (lambda p: _truncate(p / "regions.parquet"), "regions.parquet: is unreadable"),
    (lambda p: (p / "summary.json").write_text(""), "summary.json: is empty"),
])
def test_results_open_names_a_missing_or_damaged_file(finished, damage, what):
    """``sim.Results.open`` on a folder with a missing or truncated file: one paragraph naming the
    file and the command that rebuilds it (exit code 2), not an empty DataFrame or a pyarrow
    error."""
    damage(finished)
    with pytest.raises(UsageError) as exc:
        sim.Results.open(finished)
    assert what in exc.value.message and f"python run_sim.py resume {finished}" in exc.value.message


@pytest.mark.parametrize("status", ["running", "interrupted"])
def test_results_open_refuses_a_folder_that_is_not_complete(finished, status):
    """``sim.Results.open`` refuses a folder still running or interrupted, saying how to finish it.
    """
    m = manifest(finished)
    (finished / "manifest.json").write_text(json.dumps({**m, "status": status}))
    with pytest.raises(UsageError, match=f"is not complete \\(status '{status}'\\).*resume "
                                         f"{finished}"):
        sim.Results.open(finished)


def test_api_arguments_are_checked_before_any_folder_exists(tmp_path):
    """replications=1.5 or draws=0 are a UsageError naming the argument, and nothing is written."""
    cases = [(sim.compare, {"replications": 1.5}, "replications: expected a whole number"),
             (sim.compare, {"draws": 0, "fixed": False}, "draws: expected a whole number from 1"),
             (sim.run, {"replications": 0}, "replications: expected a whole number from 1"),
             (sim.compare, {"practical_pp": float("nan")}, "practical: expected a number"),
             (sim.compare, {"startups": "some"}, "startups: expected one of")]
    for i, (study, bad, message) in enumerate(cases):
        out = tmp_path / f"out{i}"
        with pytest.raises(UsageError, match=message):
            if study is sim.run:
                study(PAIR[0], out=out, executor="serial", **bad)
            else:
                study(PAIR, out=out, **{**SMALL, **bad})
        assert not out.exists(), bad


def _posterior(folder: Path, values: list[float]) -> Path:
    """A posterior over one key the tiny scenarios hold at its calibrated value, with ``values``."""
    key = "centres.Daejeon.selection_noise"
    held = resolved_dict(load_scenario(GOLDEN / "tiny-programme.yaml"))["centres"]["Daejeon"][
        "selection_noise"
    ]
    folder.mkdir()
    pq.write_table(
        pa.table({key: values, "weight": [1.0] * len(values)}), folder / "posterior.parquet"
    )
    (folder / "posterior.json").write_text(
        json.dumps(
            {
                "scenario": "tiny-programme",
                "targets_name": "test",
                "parameters": [{"key": key, "scenario_value": held}],
            }
        )
    )
    return folder / "posterior.parquet"


@pytest.mark.parametrize("bad", [-1.0, float("inf")])
def test_posterior_values_outside_the_schema_stop_before_the_folder(bad, tmp_path):
    """A posterior draw no scenario can take (outside the schema, or infinite) is exit 2 naming the
    draw, before the results folder exists (so --out stays free)."""
    post = _posterior(tmp_path / "post", [bad, bad])
    out = tmp_path / "out"
    r = invoke(
        "compare",
        *PAIR,
        "--baseline",
        "none",
        "--counterfactual",
        "tiny-none",
        "-n",
        "2",
        "--draws",
        "2",
        "--posterior",
        post,
        "--executor",
        "serial",
        "--out",
        out,
        "-q",
    )
    assert r.exit_code == 2, r.output
    # outside the schema: the draw's scenario is invalid; infinite: the posterior file is damaged
    says = "with posterior draw 0 of" if bad == -1.0 else "expected a finite number in every row"
    assert says in r.stderr and "selection_noise" in r.stderr and "Traceback" not in r.output
    assert not out.exists()
    with pytest.raises(ScenarioError):
        sim.compare(PAIR, **{**SMALL, "fixed": False}, posterior=post, draws=2, out=out)
    assert not out.exists()


def test_history_matching_needs_points_enough_for_its_emulator_and_says_so_up_front(tmp_path):
    """--points 8 with the shipped targets' 7 priors: exit 2 before anything runs (the emulator
    needs 9: the number of parameters + 2), and --help states that minimum."""
    out = tmp_path / "out"
    r = invoke(
        "calibrate",
        ROOT / "scenarios" / "ccei-as-opened.yaml",
        "--targets",
        ROOT / "scenarios" / "targets" / "programme.yaml",
        "--method",
        "history-matching",
        "--points",
        "8",
        "--executor",
        "serial",
        "--out",
        out,
        "-q",
    )
    assert r.exit_code == 2, r.output
    # programme.yaml's 11 open parameters: at least 13 points a wave
    assert "--points 8: the emulator of 11 parameter(s) needs at least 13 design points" in r.stderr
    assert not out.exists() and "Traceback" not in r.output
    assert "at least the number of parameters + 2" in " ".join(
        invoke("calibrate", "--help").output.split()
    )


LATE = r"""
import sys
import sim
from sim.errors import ScenarioError
from sim.experiment.store import ResultsStore

def late(self, result):  # bad input only a simulation could reveal
    raise ScenarioError("a value the model found impossible (a test's late error).")

ResultsStore.write_task = late
try:
    sim.run(sys.argv[1], replications=1, executor="serial", out=sys.argv[2])
except ScenarioError as exc:
    print(exc.message)
import time; time.sleep(600)  # a notebook that lives on
"""


@pytest.mark.slow
def test_an_error_found_after_the_folder_exists_marks_it_failed_and_frees_it(tmp_path):
    """An error only the run itself finds marks the folder failed with the error (never "running"),
    says so, and leaves the folder to the next run with --force even while the caller's process
    lives on."""
    out = tmp_path / "out"
    cmd, kw = _python(LATE, PAIR[0], out)
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, **kw
    )
    try:
        deadline = time.monotonic() + 300
        while not (out / "manifest.json").exists() or manifest(out)["status"] == "running":
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.05)
        m = manifest(out)
        assert m["status"] == "failed" and "a test's late error" in m["error"]
        r = invoke("run", PAIR[0], "-n", "1", "--executor", "serial", "--out", out, "--force", "-q")
        assert r.exit_code == 0, r.output
        assert manifest(out)["status"] == "complete"
    finally:
        proc.kill()
        said, _ = proc.communicate()
    assert f"{out} is marked failed (nothing in it counts as done)" in said
