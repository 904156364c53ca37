"""Experiments end to end: executors, crash safety, resume, failures, precision.

Every test runs a *tiny* scenario: the shipped ``ccei-announced`` (all its centres and
conglomerates) with every region's founding rate scaled down 20-fold, so one replication takes
a fraction of a second. The reference is an in-process serial run; every other way of running
(process pools, Dask, killed-and-resumed, interrupted-and-resumed, failed-and-resumed) must give
exactly its metric rows (all columns but the timing column ``seconds``).

Subprocess tests run ``python run_sim.py`` in its own session so signals reach its whole process
group (the parent, the forkserver and the pool workers) and never the test runner.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from procs import dask_cluster as start_dask_cluster
from procs import env, free_port, kill_group
from rows import metric_rows, table_rows
from scipy import stats

from sim.analysis.summary import half_widths
from sim.cli import cli
from sim.errors import Interrupted
from sim.experiment import (
    ExperimentSpec,
    ProcessExecutor,
    SerialExecutor,
    make_executor,
    resume_experiment,
    run_experiment,
)
from sim.experiment.executors import ExecutorLost
from sim.experiment.task import Task, injected_failures, run_task
from sim.scenario import load_scenario
from sim.scenario.loader import resolved_dict, scenario_hash

ROOT = Path(__file__).resolve().parents[1]
RUN_SIM = str(ROOT / "run_sim.py")
SHIPPED = ROOT / "scenarios" / "ccei-announced.yaml"
NAME = "tiny"
SEED = 20140902
N_REF = 10  # replications in the reference run
N_SMALL = 4  # replications in the executor comparisons
N_MON = 6  # replications in the monitored CLI run


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def summary_means(folder: Path) -> dict:
    """Each scenario's means in a folder's summary.json."""
    s = json.loads((Path(folder) / "summary.json").read_text())  # NaN is stored as null
    return {(sc, m): v["mean"] for sc, d in s["scenarios"].items() for m, v in d["metrics"].items()}


def manifest(folder: Path) -> dict:
    """A folder's manifest."""
    return json.loads((Path(folder) / "manifest.json").read_text())


def parts(folder: Path) -> list[Path]:
    """A folder's metrics parts (the tasks finished so far)."""
    d = Path(folder) / "parts"
    return sorted(d.glob("*.metrics.parquet")) if d.is_dir() else []


def cli_run(*args, timeout: float = 120, **env_extra) -> subprocess.CompletedProcess:
    """The CLI in a subprocess (a clean environment plus ``env_extra``)."""
    return subprocess.run([sys.executable, RUN_SIM, *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env=env(**env_extra))


def invoke(*args, **env_extra):
    """The CLI in this process (no interpreter start-up); env values of None unset a variable."""
    return CliRunner().invoke(cli, [str(a) for a in args], env=env_extra or None)


def cli_start(*args, **env_extra) -> subprocess.Popen:
    """Start the CLI in its own session (process group), so the test can signal all of it."""
    return subprocess.Popen(
        [sys.executable, RUN_SIM, *map(str, args)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(**env_extra),
        start_new_session=True,
    )


def wait_for_first_part(proc: subprocess.Popen, folder: Path, timeout: float = 90) -> None:
    """Wait until the run in ``proc`` has finished its first task."""
    deadline = time.monotonic() + timeout
    while not parts(folder):
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the run ended (rc {proc.returncode}) before writing any part:\n{err}")
        if time.monotonic() > deadline:
            kill_group(proc)
            pytest.fail("no part file appeared in time")
        time.sleep(0.005)


def same_as_reference(folder: Path, reference: dict, replications: range | None = None) -> None:
    """The folder's rows equal the reference run's (for ``replications``, default all)."""
    reps = set(replications if replications is not None else range(N_REF))
    expected = [r for r in reference["rows"] if r["replication"] in reps]
    got = metric_rows(folder)
    assert [r["replication"] for r in got] == sorted(reps)
    assert got == expected


# ---------------------------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """A small purpose-built scenario that extends the shipped file by absolute path."""
    base = load_scenario(SHIPPED)
    doc = {
        "extends": str(SHIPPED),
        "name": NAME,
        "regions": {r: {"founding_rate_per_year": round(reg.founding_rate_per_year / 20.0, 3)}
                    for r, reg in base.regions.items()},
    }
    path = tmp_path_factory.mktemp("scenario") / "tiny.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def reference(tiny, tmp_path_factory) -> dict:
    """The uninterrupted, in-process, serial run every other run must reproduce."""
    out = tmp_path_factory.mktemp("reference") / "run"
    spec = ExperimentSpec(scenarios={NAME: load_scenario(tiny)}, replications=N_REF, seed=SEED,
                          sources={NAME: str(tiny)})
    outcome = run_experiment(spec, out, SerialExecutor(), progress=False, echo=lambda _m: None)
    assert not outcome.failures
    return {
        "dir": out,
        "rows": metric_rows(out),
        "means": summary_means(out),
        "regions": table_rows(out, "regions.parquet"),
        "startups": table_rows(out, "startups.parquet"),
    }


@pytest.fixture(scope="module")
def monitored_run(tiny, reference, tmp_path_factory) -> dict:
    """``run -j 1`` as a subprocess, watching the parts folder fill up while it runs."""
    out = tmp_path_factory.mktemp("monitored") / "run"
    proc = cli_start("run", tiny, "-n", N_MON, "-j", 1, "--out", out, VALLEYSIM_PROGRESS_SECONDS=0)
    seen = []
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        n = len(parts(out))
        if not seen or n != seen[-1]:
            seen.append(n)
        time.sleep(0.005)
    stdout, stderr = proc.communicate(timeout=30)
    return {"dir": out, "rc": proc.returncode, "stdout": stdout, "stderr": stderr, "seen": seen}


# ---------------------------------------------------------------------------------------------
# reproducibility across executors and worker counts
# ---------------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("kind,workers", [("processes", 1), ("processes", 2), ("dask", 2)],
                         ids=["processes-1", "processes-2", "dask-localcluster"])
def test_executors_give_identical_rows(kind, workers, tiny, reference, tmp_path):
    """Serial, process-pool and Dask executors give the reference run's rows exactly."""
    if kind == "dask":
        pytest.importorskip("distributed")
    executor = make_executor(kind, workers)
    assert executor.workers == workers
    spec = ExperimentSpec(scenarios={NAME: load_scenario(tiny)}, replications=N_SMALL, seed=SEED)
    outcome = run_experiment(spec, tmp_path / "out", executor, progress=False, echo=lambda _m: None)
    assert not outcome.failures
    same_as_reference(tmp_path / "out", reference, range(N_SMALL))
    # the per-region and per-start-up tables too (start-ups are kept for replication 0)
    assert table_rows(tmp_path / "out", "startups.parquet") == reference["startups"]
    ref_regions = [r for r in reference["regions"] if r["replication"] < N_SMALL]
    assert table_rows(tmp_path / "out", "regions.parquet") == ref_regions


@pytest.fixture
def dask_cluster():
    """A real ``dask scheduler`` and one ``dask worker`` on loopback, as separate processes."""
    with start_dask_cluster(1) as (address, _workers):
        yield address


@pytest.mark.slow
def test_real_dask_scheduler_and_worker_give_identical_rows(
    dask_cluster, tiny, reference, tmp_path
):
    """A real Dask scheduler with a worker gives the reference run's rows exactly."""
    out = tmp_path / "out"
    executor = make_executor("processes", scheduler=dask_cluster)  # --scheduler implies dask
    assert executor.name == "dask" and executor.workers == 1  # waited for the worker to join
    spec = ExperimentSpec(scenarios={NAME: load_scenario(tiny)}, replications=N_SMALL, seed=SEED)
    outcome = run_experiment(spec, out, executor, progress=False, echo=lambda _m: None)
    assert not outcome.failures
    assert manifest(out)["status"] == "complete"
    same_as_reference(out, reference, range(N_SMALL))
    assert table_rows(out, "startups.parquet") == reference["startups"]


@pytest.mark.slow
def test_unreachable_scheduler_fails_fast_with_a_clear_message(tiny, tmp_path):
    """An unreachable --scheduler is exit 2 within seconds, with a clear message."""
    pytest.importorskip("distributed")
    address = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    r = invoke("run", tiny, "-n", 1, "--scheduler", address, "--out", tmp_path / "out")
    assert r.exit_code == 2
    assert f"--scheduler {address}: cannot reach the Dask scheduler within 5 s" in r.stderr
    assert "Traceback" not in r.output
    assert not (tmp_path / "out").exists()


def test_dask_without_distributed_gives_a_clear_message(tiny, tmp_path, monkeypatch):
    """--executor dask without the distributed package: exit 2 saying how to install it."""
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if the extra were not installed
    result = CliRunner().invoke(cli, ["run", str(tiny), "-n", "1", "--executor", "dask",
                                      "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "pip install -e '.[dask]'" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not (tmp_path / "out").exists()


def test_common_random_numbers_across_scenarios(tiny, tmp_path):
    """Replication r of every scenario draws the same streams: identical twins give identical
    rows."""
    sc = load_scenario(tiny)
    twin = load_scenario(tiny, ["name=twin"])
    rows = {}
    for crn in (True, False):
        spec = ExperimentSpec(
            scenarios={NAME: sc, "twin": twin},
            replications=1,
            seed=SEED,
            crn=crn,
            keep_startups="none",
            comparisons=[("twin", NAME)],
        )
        out = tmp_path / f"crn-{crn}"
        run_experiment(spec, out, SerialExecutor(), progress=False, echo=lambda _m: None)
        rows[crn] = metric_rows(out)

    def strip(r):
        return {k: v for k, v in r.items() if k != "scenario"}

    a = [strip(r) for r in rows[True] if r["scenario"] == NAME]
    b = [strip(r) for r in rows[True] if r["scenario"] == "twin"]
    assert a == b
    a = [strip(r) for r in rows[False] if r["scenario"] == NAME]
    b = [strip(r) for r in rows[False] if r["scenario"] == "twin"]
    assert a != b


# ---------------------------------------------------------------------------------------------
# the plain CLI run: same rows, a complete manifest, streamed parts, progress lines
# ---------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_cli_run_matches_reference_and_writes_a_complete_manifest(monitored_run, reference, tiny):
    """A CLI run gives the reference rows and a complete manifest (status, versions, command,
    hashes)."""
    out = monitored_run["dir"]
    assert monitored_run["rc"] == 0, monitored_run["stderr"]
    same_as_reference(out, reference, range(N_MON))
    m = manifest(out)
    assert m["status"] == "complete"
    assert m["replications"] == N_MON and m["seed"] == SEED
    sc = load_scenario(tiny)
    assert m["scenarios"][NAME]["hash"] == scenario_hash(sc)
    assert m["scenarios"][NAME]["resolved"] == resolved_dict(sc)
    assert {"python", "numpy", "simpy"} <= set(m["versions"])
    assert "git_commit" in m and m["started"] and m["ended"]
    assert "run" in m["command"] and str(tiny) in m["command"]
    assert not (out / "parts").exists()  # consolidated, then the parts are dropped
    assert f"results: {out}" in monitored_run["stdout"]


@pytest.mark.slow
def test_results_stream_to_disk_one_task_at_a_time(monitored_run):
    """Parts appear one by one while the run goes (nothing is held back until the end)."""
    seen = monitored_run["seen"]
    intermediate = [n for n in seen if 0 < n < N_MON]
    assert len(intermediate) >= 3, seen
    grown = [n for n in seen if n > 0]
    if N_MON in grown:  # after the run completes the parts folder is deleted, file by file
        grown = grown[: grown.index(N_MON) + 1]
    assert grown == sorted(grown), seen  # only ever grows, task by task, while the run goes


@pytest.mark.slow
def test_progress_prints_plan_and_plain_lines_when_not_a_tty(monitored_run):
    """Not on a terminal, progress is a plan line and plain periodic lines."""
    err = monitored_run["stderr"]
    assert re.search(rf"^plan: {N_MON} tasks \(0 already done\), ~[\d,.]+( M)? start-ups to "
                     r"simulate, 1 worker\(s\) \[processes\], ~[\d,]+ s$", err, re.M), err
    lines = re.findall(rf"^  (\d+)/{N_MON} tasks, [\d,]+ s elapsed, [\d,]+ start-ups/s, ~[\d,]+ s "
                       rf"left$", err, re.M)
    assert [int(n) for n in lines] == list(range(1, N_MON + 1)), err  # VALLEYSIM_PROGRESS_SECONDS=0
    assert "\r" not in err and "\x1b[" not in err  # no progress bar when stderr is not a terminal


def test_progress_default_interval_prints_first_and_last(tiny, tmp_path):
    """At the default interval, progress prints the first and the last task."""
    result = invoke("run", tiny, "-n", 2, "--executor", "serial", "--out", tmp_path / "out",
                    VALLEYSIM_PROGRESS_SECONDS=None)
    assert result.exit_code == 0, result.output
    assert "plan: 2 tasks" in result.stderr
    assert re.findall(r"^  (\d+)/2 tasks", result.stderr, re.M) == ["1", "2"]


# ---------------------------------------------------------------------------------------------
# crash safety: kill -9, Ctrl-C, SIGTERM, then resume
# ---------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_kill_9_mid_run_then_resume_gives_identical_results(tiny, reference, tmp_path):
    """kill -9 mid-run leaves the folder running; resume gives results identical to an uninterrupted
    run."""
    out = tmp_path / "out"
    proc = cli_start("run", tiny, "-n", N_REF, "-j", 1, "--out", out, "-q")
    try:
        wait_for_first_part(proc, out)
        assert proc.poll() is None, "the run finished before it could be killed"
        assert manifest(out)["status"] == "running"
        kill_group(proc, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        kill_group(proc)
    assert proc.returncode == -signal.SIGKILL
    m = manifest(out)
    assert m["status"] != "complete"
    done = len(parts(out))
    assert 1 <= done < N_REF
    assert not (out / "summary.json").exists()

    r = invoke("resume", out, "-j", 2)
    assert r.exit_code == 0, r.output
    assert f"plan: {N_REF - done} tasks ({done} already done)" in r.stderr
    assert manifest(out)["status"] == "complete"
    same_as_reference(out, reference)
    assert summary_means(out) == reference["means"]
    assert table_rows(out, "startups.parquet") == reference["startups"]
    assert not list(out.glob(".*.tmp-*"))


@pytest.mark.slow
@pytest.mark.parametrize("how", ["SIGINT-to-group", "SIGTERM-to-parent"])
def test_interrupt_marks_interrupted_says_how_to_resume_and_resume_completes(
    how, tiny, reference, tmp_path
):
    """SIGINT marks the folder interrupted, says how to resume, and resume completes it identically.
    """
    out = tmp_path / "out"
    proc = cli_start("run", tiny, "-n", N_REF, "-j", 2, "--out", out, "-q")
    try:
        wait_for_first_part(proc, out)
        assert proc.poll() is None, "the run finished before it could be interrupted"
        if how == "SIGINT-to-group":  # what Ctrl-C in a terminal does
            os.killpg(proc.pid, signal.SIGINT)
        else:  # what `kill PID` does: the parent must stop its workers itself
            os.kill(proc.pid, signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    finally:
        kill_group(proc)
    assert proc.returncode == 130, stderr
    assert "Interrupted" in stderr
    assert f"python run_sim.py resume {out}" in stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    assert manifest(out)["status"] == "interrupted"
    assert len(parts(out)) < N_REF

    r = invoke("run", "--resume", out, "-j", 2, "-q")
    assert r.exit_code == 0, r.output
    assert manifest(out)["status"] == "complete"
    same_as_reference(out, reference)
    assert summary_means(out) == reference["means"]


class StopAfter(SerialExecutor):
    """A serial executor that acts as if Ctrl-C arrived after ``k`` results (deterministic)."""

    def __init__(self, k: int):
        """Interrupt after ``k`` results."""
        self.left = k

    def run(self, fn, argsets):
        """The serial executor's results, until the ``k``-th."""
        for result in super().run(fn, argsets):
            if self.left == 0:
                raise KeyboardInterrupt
            self.left -= 1
            yield result


def test_in_process_interrupt_then_resume(tiny, reference, tmp_path):
    """An interruption in this process (not a signal) is resumable to identical results."""
    out = tmp_path / "out"
    spec = ExperimentSpec(scenarios={NAME: load_scenario(tiny)}, replications=5, seed=SEED)
    with pytest.raises(Interrupted) as exc:
        run_experiment(spec, out, StopAfter(2), progress=False, echo=lambda _m: None)
    assert exc.value.exit_code == 130
    assert f"python run_sim.py resume {out}" in exc.value.message
    assert manifest(out)["status"] == "interrupted"
    assert len(parts(out)) == 2
    outcome = resume_experiment(out, SerialExecutor(), progress=False, echo=lambda _m: None)
    assert outcome.replications == 5 and not outcome.failures
    same_as_reference(out, reference, range(5))


def test_resume_of_a_complete_experiment_refuses(monitored_run):
    """resume of a complete, whole experiment is refused (exit 2), pointing to report."""
    before = (monitored_run["dir"] / "manifest.json").read_bytes()
    result = CliRunner().invoke(cli, ["resume", str(monitored_run["dir"])])
    assert result.exit_code == 2
    assert "already complete" in result.stderr
    assert (monitored_run["dir"] / "manifest.json").read_bytes() == before


# ---------------------------------------------------------------------------------------------
# failures: recorded, the rest completes, replayable, then resumable
# ---------------------------------------------------------------------------------------------
def test_fault_injection_hook_parses_and_fails_only_named_tasks(tiny, monkeypatch):
    """VALLEYSIM_FAIL_TASKS parses its list and fails exactly the tasks it names."""
    assert injected_failures("a:1, b-c:2,weird:name:3,bad,x:y") == {
        ("a", 1),
        ("b-c", 2),
        ("weird:name", 3),
    }
    sc = load_scenario(tiny)
    monkeypatch.setenv("VALLEYSIM_FAIL_TASKS", f"{NAME}:1")
    args = (resolved_dict(sc), scenario_hash(sc))
    bad = run_task(*args, Task(0, NAME, 1), SEED)
    assert bad["error"].startswith("RuntimeError: injected "
                                   "failure") and "Traceback" in bad["traceback"]
    good = run_task(*args, Task(0, NAME, 0), SEED)
    assert "error" not in good and good["metrics"]["startups"] > 0


@pytest.mark.slow
def test_failing_task_is_recorded_rest_completes_replay_and_resume(tiny, reference, tmp_path):
    """A failing task is recorded with its replay command, the rest completes, replay shows it,
    resume finishes."""
    out = tmp_path / "out"
    r = cli_run("run", tiny, "-n", 4, "-j", 2, "--out", out, "-q", VALLEYSIM_FAIL_TASKS=f"{NAME}:2")
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr
    assert "1 task(s) failed; the rest completed" in r.stderr
    replay = f"python run_sim.py replay {out} --scenario {NAME} --replication 2"
    assert replay in r.stderr and f"python run_sim.py resume {out}" in r.stderr

    failures = json.loads((out / "failures.json").read_text())
    assert len(failures) == 1
    f = failures[0]
    assert (f["scenario"], f["replication"]) == (NAME, 2)
    assert f["error"].startswith("RuntimeError: injected failure")
    assert f["replay"] == replay
    m = manifest(out)
    assert m["status"] == "failed" and m["failures"] == 1
    same_as_reference(out, reference, [0, 1, 3])  # the rest completed, identically
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scenarios"][NAME]["replications"] == 3
    assert [(x["scenario"], x["replication"]) for x in summary["failures"]] == [(NAME, 2)]

    # replay reruns exactly that task: it fails again while the fault is injected...
    argv = shlex.split(f["replay"])
    assert argv[:3] == ["python", "run_sim.py", "replay"]
    again = invoke(*argv[2:], VALLEYSIM_FAIL_TASKS=f"{NAME}:2")
    assert again.exit_code == 1
    assert "RuntimeError: injected failure" in again.stderr and "Traceback" in again.stderr
    # ...and passes once the cause is gone
    ok = invoke(*argv[2:], VALLEYSIM_FAIL_TASKS=None)
    assert ok.exit_code == 0, ok.output
    assert f"replayed {NAME} replication 2" in ok.stdout and "ok" in ok.stdout

    # resume reruns only the failed task and completes the experiment
    res = invoke("resume", out, "--executor", "serial", VALLEYSIM_FAIL_TASKS=None)
    assert res.exit_code == 0, res.output
    assert "plan: 1 tasks (3 already done)" in res.stderr
    assert manifest(out)["status"] == "complete"
    assert not (out / "failures.json").exists()
    same_as_reference(out, reference, range(4))
    assert json.loads((out / "summary.json").read_text())["failures"] == []


# ---------------------------------------------------------------------------------------------
# never overwrite results without --force
# ---------------------------------------------------------------------------------------------
def _snapshot(folder: Path) -> dict:
    return {
        p.relative_to(folder): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file()
    }


def test_existing_results_folder_is_never_overwritten_without_force(tiny, tmp_path):
    """An existing results folder is never overwritten without --force; nothing in it changes."""
    out = tmp_path / "out"
    (out / "parts").mkdir(parents=True)
    (out / "manifest.json").write_text(
        json.dumps(
            {
                "format": "valleysim-results",
                "format_version": 1,
                "status": "complete",
                "note": "old",
            }
        )
    )
    (out / "replications.parquet").write_bytes(b"old results")
    (out / "parts" / "keep.txt").write_text("old part")
    before = _snapshot(out)

    args = ["run", str(tiny), "-n", "1", "--executor", "serial", "--out", str(out), "-q"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert f"{out}: already holds results" in result.stderr and "--force" in result.stderr
    assert "--resume" in result.stderr
    assert "Traceback" not in result.output
    assert _snapshot(out) == before  # untouched

    result = CliRunner().invoke(cli, [*args, "--force"])
    assert result.exit_code == 0, result.output
    assert manifest(out)["status"] == "complete" and "note" not in manifest(out)
    assert len(metric_rows(out)) == 1
    assert not (out / "parts").exists()


def test_force_refuses_to_delete_a_folder_that_is_not_a_results_folder(tiny, tmp_path):
    """--force refuses to delete a folder that is not a valleysim results folder."""
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    result = CliRunner().invoke(
        cli, ["run", str(tiny), "-n", "1", "--executor", "serial", "--out", str(out), "--force"]
    )
    assert result.exit_code == 2
    assert "not a valleysim results folder" in result.stderr
    assert (out / "thesis.tex").read_text() == "precious"


# ---------------------------------------------------------------------------------------------
# --precision
# ---------------------------------------------------------------------------------------------
def _survival_hw(rows: list[dict], n: int) -> float:
    cols = {
        k: [r[k] for r in rows if r["replication"] < n]
        for k in ("scenario", "replication", "survival_5y")
    }
    return half_widths(cols, [NAME], [])[NAME]


def test_precision_in_a_comparison_targets_the_paired_differences():
    """With comparisons, --precision asks for the differences' half-widths, which common random
    numbers keep far below each scenario's own; without, for each scenario's level."""
    rng = np.random.default_rng(SEED)
    # noisy level, shared by both scenarios (common random numbers)
    level = rng.normal(0.4, 0.02, 12)
    cols = {"scenario": ["a"] * 12 + ["b"] * 12, "replication": [*range(12), *range(12)],
            "survival_5y": [*level, *(level + 0.01 + rng.normal(0, 0.001, 12))]}
    paired = half_widths(cols, ["a", "b"], [("b", "a")])
    alone = half_widths(cols, ["a", "b"], [])
    assert set(paired) == {"b - a"} and set(alone) == {"a", "b"}
    diff = np.asarray(cols["survival_5y"][12:]) - level
    expected = stats.t.ppf(0.975, 11) * diff.std(ddof=1) / np.sqrt(12)
    assert paired["b - a"] == pytest.approx(expected)
    assert alone["a"] == pytest.approx(stats.t.ppf(0.975, 11) * level.std(ddof=1) / np.sqrt(12))
    assert paired["b - a"] < alone["a"] / 5


def test_precision_met_in_batches_from_the_cli(tiny, reference, tmp_path):
    """--precision adds replications in batches until met, from the CLI, with the reference's rows.
    """
    rows = reference["rows"]
    hw = {n: _survival_hw(rows, n) for n in range(2, 5)}
    # the first count of replications whose half-width is below every smaller count's: a target just
    # above it is met there and missed before (which count that is depends on the data)
    met = next(n for n in (3, 4) if hw[n] * 1.01 < min(hw[k] for k in range(2, n)))
    target = round(hw[met] * 1.01, 6)
    out = tmp_path / "out"
    result = invoke("run", tiny, "-n", 2, "--precision", 100 * target, "--max-replications", 4,
                    "--executor", "serial", "--out", out)
    assert result.exit_code == 0, result.output
    # a first batch of 2, then more batches until the target is met (each planned from the t-based
    # count for the half-width seen so far, so how many batches depends on the data)
    assert 2 <= len(re.findall(r"^plan: ", result.stderr, re.M)) <= 3
    m = manifest(out)
    assert m["replications"] == met and m["precision_met"] is True
    assert m["precision_half_width"] == pytest.approx(hw[met])
    assert metric_rows(out) == [r for r in rows if r["replication"] < met]
    assert json.loads((out / "summary.json").read_text())["scenarios"][NAME]["replications"] == met


def test_precision_stops_at_max_replications(tiny, tmp_path):
    """--precision stops at --max-replications and says so."""
    out = tmp_path / "out"
    result = invoke("run", tiny, "-n", 2, "--precision", "0.000001", "--max-replications", 3,
                    "--executor", "serial", "--out", out)
    assert result.exit_code == 0, result.output
    assert "not reached within --max-replications 3" in result.stderr
    m = manifest(out)
    assert m["replications"] == 3 and m["precision_met"] is False
    assert len(metric_rows(out)) == 3


@pytest.mark.slow
def test_precision_run_interrupted_mid_batch_resumes_to_the_same_end(tiny, reference, tmp_path):
    """A resumed precision run takes the same decisions, ignoring later replications on disk.

    First batch 3 replications; the target (the 3-replication half-width / 2.2) asks for 6 in all
    (stats.replications_needed: t_5 sd / sqrt(6) = 1.05 sd is the first under 4.30 sd / sqrt(3) /
    2.2
    = 1.13 sd). Interrupted after 5, the resumed run must decide from the first 3 again (as the
    uninterrupted run did), not from the 5 it finds on disk.
    """
    target = round(_survival_hw(reference["rows"], 3) / 2.2, 6)
    spec = ExperimentSpec(
        scenarios={NAME: load_scenario(tiny)},
        replications=3,
        seed=SEED,
        precision=target,
        max_replications=6,
    )
    said = []
    full = run_experiment(
        spec, tmp_path / "full", SerialExecutor(), progress=True, echo=said.append
    )
    # batches continued until the target was met (or the maximum reached), and the manifest says so
    assert full.replications == 6
    assert len([x for x in said if x.startswith("plan: ")]) == 2
    m = manifest(tmp_path / "full")
    assert m["replications"] == 6
    if m["precision_met"]:
        assert m["precision_half_width"] <= target
        assert full.summary["scenarios"][NAME]["metrics"]["survival_5y"]["half_width"] <= target
    assert metric_rows(tmp_path / "full") == [r for r in reference["rows"] if r["replication"] < 6]
    with pytest.raises(Interrupted):
        run_experiment(spec, tmp_path / "cut", StopAfter(5), progress=False, echo=lambda _m: None)
    assert manifest(tmp_path / "cut")["replications"] == 3  # still the finished batch
    assert len(parts(tmp_path / "cut")) == 5  # ...plus two replications of the unfinished one
    resumed = resume_experiment(
        tmp_path / "cut", SerialExecutor(), progress=False, echo=lambda _m: None
    )
    assert resumed.replications == full.replications
    assert manifest(tmp_path / "cut")["replications"] == manifest(tmp_path / "full")["replications"]
    assert metric_rows(tmp_path / "cut") == metric_rows(tmp_path / "full")
    assert summary_means(tmp_path / "cut") == summary_means(tmp_path / "full")


# ---------------------------------------------------------------------------------------------
# the executor interface itself
# ---------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_dead_worker_process_is_reported_not_a_traceback():
    """A worker process that dies is a clear ExecutorLost, not a traceback."""
    with pytest.raises(ExecutorLost) as exc:
        list(ProcessExecutor(1).run(os._exit, [(9,)]))  # the worker dies under its task
    assert "worker process died" in exc.value.message


class LostAfter(SerialExecutor):
    """An executor that loses its workers after ``k`` results (as a killed pool or cluster
    would)."""

    def __init__(self, k: int):
        """Lose the executor after ``k`` results."""
        self.left = k

    def run(self, fn, argsets):
        """The serial executor's results, then a lost executor."""
        for result in super().run(fn, argsets):
            if self.left == 0:
                raise ExecutorLost("a worker process died abruptly.")
            self.left -= 1
            yield result


def test_lost_executor_leaves_a_resumable_experiment(tiny, reference, tmp_path):
    """A lost executor leaves a resumable, interrupted folder; resume gives identical results."""
    out = tmp_path / "out"
    spec = ExperimentSpec(scenarios={NAME: load_scenario(tiny)}, replications=3, seed=SEED)
    with pytest.raises(ExecutorLost) as exc:
        run_experiment(spec, out, LostAfter(1), progress=False, echo=lambda _m: None)
    assert f"continue with: python run_sim.py resume {out}" in exc.value.message
    assert manifest(out)["status"] == "interrupted"
    resume_experiment(out, SerialExecutor(), progress=False, echo=lambda _m: None)
    same_as_reference(out, reference, range(3))


def test_process_executor_abort_terminates_busy_workers():
    """Ctrl-C must not wait for running tasks: abort() terminates the pool's workers."""
    ex = ProcessExecutor(2)
    ex._pool = pool = ex._start()
    futures = [pool.submit(time.sleep, 60) for _ in range(3)]
    deadline = time.monotonic() + 60
    while not (futures[0].running() and futures[1].running()):
        assert time.monotonic() < deadline, "the pool did not start"
        time.sleep(0.05)
    procs = list(pool._processes.values())
    assert len(procs) == 2 and all(p.is_alive() for p in procs)
    ex.abort()
    for p in procs:
        p.join(timeout=10)
    assert not any(p.is_alive() for p in procs)
    assert ex._pool is None
    ex.close()  # harmless after abort


def test_every_results_column_carries_its_unit_and_definition(tiny, tmp_path):
    """Each column of replications, regions and startups.parquet has dictionary metadata in the file
    itself."""
    import pyarrow.parquet as pq

    from sim.analysis.dictionary import columns

    out = tmp_path / "out"
    spec = ExperimentSpec(scenarios={NAME: load_scenario(tiny)}, replications=1, seed=SEED)
    run_experiment(spec, out, SerialExecutor(), progress=False, echo=lambda _m: None)
    for file in ("replications.parquet", "regions.parquet", "startups.parquet"):
        schema = pq.read_schema(out / file)
        known = columns(file)
        # no column without a dictionary entry, none missing
        assert set(schema.names) == set(known), file
        for name in schema.names:
            meta = schema.field(name).metadata
            assert (
                meta[b"definition"].decode() == known[name][1]
                and meta[b"kind"].decode() == known[name][2]
            )
    surv = pq.read_schema(out / "replications.parquet").field("survival_5y").metadata
    assert surv[b"unit"] == b"fraction (0-1)" and b"cohort window" in surv[b"definition"]


def test_bundles_keep_a_replication_together_and_fail_task_by_task():
    """The runner hands a worker a replication's tasks together (its economy is drawn once), never
    fewer than two bundles per worker; a bundle lost with its worker fails each of its tasks."""
    from sim.experiment.executors import _lost_task
    from sim.experiment.runner import bundled

    tasks = [Task(i, f"s{i}", r) for r in range(10) for i in range(14)]
    args = [(None, None, t) for t in tasks]
    two = bundled(tasks, args, workers=2)
    assert len(two) == 10 and all(len({a[2].replication for a in b}) == 1 for b in two)
    many = bundled(tasks, args, workers=50)  # a big cluster: one task a bundle, every worker busy
    assert len(many) == 140
    split = bundled(tasks[:28], args[:28], workers=2)  # two replications, two workers: bundles of 7
    assert [len(b) for b in split] == [7, 7, 7, 7]
    assert [a for b in two for a in b] == args  # nothing lost, nothing reordered
    lost = _lost_task((two[0],), RuntimeError("worker died"))
    assert [r["task"] for r in lost] == tasks[:14] and all(
        "worker died" in r["error"] for r in lost
    )


def test_a_task_runs_on_ordinary_pages():
    """A task turns numpy's transparent-huge-page advice off in its process (a worker's later
    replications stalled on compaction at their fresh arrays' faults), once."""
    try:
        from numpy._core.multiarray import _set_madvise_hugepage
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _set_madvise_hugepage
    from sim.experiment import task

    before = _set_madvise_hugepage(True)
    try:
        task._PAGES["ordinary"] = False
        task.ordinary_pages()
        assert _set_madvise_hugepage(True) is False  # the advice was off
        task.ordinary_pages()  # once per process: not turned off again
        assert _set_madvise_hugepage(True) is True
    finally:
        _set_madvise_hugepage(before)
        task._PAGES["ordinary"] = False
