"""Helpers shared by the robustness tests (fuzzing, extreme worlds, interruptions, the disk):
answers the loader and the CLI must give, a scaled-down shipped scenario and its uninterrupted
reference run (fixtures ``tiny`` and ``reference``, in conftest.py), checks that a killed run never
looks complete and resumes to identical results, and a CLI run held at a chosen moment."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck
from procs import env
from rows import metric_rows, table_rows

from sim.cli import cli
from sim.errors import ScenarioError
from sim.files import DEFAULT_SEED
from sim.scenario import Scenario, load_scenario
from sim.scenario.schema import MAX_STARTUPS

ROOT = Path(__file__).resolve().parents[1]
RUN_SIM = str(ROOT / "run_sim.py")
SHIPPED = sorted((ROOT / "scenarios").glob("*.yaml"))
SHIPPED_TEXT = {p.name: p.read_text(encoding="utf-8") for p in SHIPPED}
FUZZ = int(os.environ.get("VALLEYSIM_FUZZ_EXAMPLES", "0")) or None


def examples(n: int) -> int:
    """``n`` examples, or VALLEYSIM_FUZZ_EXAMPLES for a longer hunt."""
    return FUZZ or n


FUZZ_SETTINGS = dict(
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
PER_CASE_SECONDS = 10.0
"""A hostile file must be answered in seconds, never by a hang (generous: CI machines are slow)."""


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def outcome_of(path: Path, overrides=()) -> Scenario | ScenarioError:
    """load_scenario's answer: a Scenario or a ScenarioError, never anything else, in seconds."""
    start = time.perf_counter()
    try:
        result = load_scenario(path, overrides)
    except ScenarioError as exc:
        result = exc
        assert exc.message.strip(), "an error must say something"
        assert "Traceback" not in exc.message
    elapsed = time.perf_counter() - start
    assert elapsed < PER_CASE_SECONDS, f"{path}: took {elapsed:.1f} s"
    if isinstance(result, Scenario):
        # a valid scenario is also a bounded amount of work: never a memory blow-up later
        assert result.expected_startups() * result.sampling.simulated_share() <= MAX_STARTUPS
    return result


def invoke(*args, **env_extra):
    """Run the CLI in this process with ``args`` (and environment ``env_extra``)."""
    return CliRunner().invoke(cli, [str(a) for a in args], env=env_extra or None)


def clean_cli_result(result, codes=(0, 2)) -> None:
    """A CliRunner result that ended by an exit code (no stray exception) without a traceback."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert result.exit_code in codes, result.output
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        assert result.stderr.startswith("error: ")


def manifest(folder: Path) -> dict:
    """A results folder's manifest."""
    return json.loads((Path(folder) / "manifest.json").read_text())



BASE = ROOT / "scenarios" / "ccei-announced.yaml"
COUNTERFACTUAL = ROOT / "scenarios" / "no-programme.yaml"


def scaled(path: Path, factor: float) -> list[str]:
    """--set overrides multiplying every region's founding rate by ``factor``."""
    sc = load_scenario(path)
    return [f"regions.{r}.founding_rate_per_year={reg.founding_rate_per_year * factor:.6g}"
            for r, reg in sc.regions.items()]


def every(section: str, key: str, value, path: Path = BASE) -> list[str]:
    """``--set`` texts setting ``key`` of every entry of ``section`` in the scenario at ``path``."""
    sc = load_scenario(path)
    return [f"{section}.{n}.{key}={value}" for n in getattr(sc, section)]


def strict_json(path: Path):
    """The JSON at ``path``, failing on NaN or Infinity (not standard JSON)."""
    def no_constants(name):
        raise AssertionError(f"{path}: {name} is not JSON")

    return json.loads(path.read_text(), parse_constant=no_constants)


# ---------------------------------------------------------------------------------------------
# shared by 3-6: a tiny scenario and its uninterrupted, in-process, serial reference run
# ---------------------------------------------------------------------------------------------
NAME = "tiny"
SEED = DEFAULT_SEED
N_REF = 4
DATA_OUTPUTS = ("summary.json", "replications.parquet", "regions.parquet", "startups.parquet")


def parts(folder: Path) -> list[Path]:
    """A folder's metrics parts (the tasks finished so far)."""
    d = Path(folder) / "parts"
    return sorted(d.glob("*.metrics.parquet")) if d.is_dir() else []


def same_as_reference(folder: Path, reference: dict, n: int = N_REF) -> None:
    """The folder's rows, regions, start-ups and summary equal the reference run's (its first ``n``
    replications)."""
    assert metric_rows(folder) == [r for r in reference["rows"] if r["replication"] < n]
    assert table_rows(folder, "regions.parquet") == [
        r for r in reference["regions"] if r["replication"] < n
    ]
    assert table_rows(folder, "startups.parquet") == reference["startups"]
    if n == N_REF:
        assert (
            json.loads((folder / "summary.json").read_text())["scenarios"] == reference["summary"]
        )


def assert_never_falsely_complete(folder: Path, reference: dict, n: int = N_REF) -> str:
    """The folder's state after a kill: whatever it is, it does not claim to be complete unless it
    is.

    Returns the status ("missing" when no manifest was written yet)."""
    if not (folder / "manifest.json").exists():
        return "missing"
    status = manifest(folder)["status"]  # always parses: the manifest is replaced atomically
    assert status in ("running", "interrupted", "failed", "complete")
    if status == "complete":
        for name in DATA_OUTPUTS:
            assert (folder / name).is_file(), f"complete, but {name} is missing"
        same_as_reference(folder, reference, n)
    return status


def finish_after_kill(folder: Path, tiny: Path, reference: dict) -> None:
    """Whatever a kill left: resume it (or start again if no manifest was written) -> identical
    results."""
    status = assert_never_falsely_complete(folder, reference)
    if status == "missing":  # killed before the manifest: nothing to resume, start again
        r = invoke(
            "run", tiny, "-n", N_REF, "--executor", "serial", "--out", folder, "--force", "-q"
        )
    elif status == "complete":
        r = invoke("resume", folder, "--executor", "serial", "-q")
        assert r.exit_code == 2 and "already complete" in r.stderr
        return
    else:
        r = invoke("resume", folder, "--executor", "serial", "-q")
    assert r.exit_code == 0, r.output
    assert manifest(folder)["status"] == "complete"
    assert not list(folder.glob(".*.tmp-*")) and not (folder / "parts").exists()
    same_as_reference(folder, reference)


# -- a CLI run held at a chosen moment, in its own session (for kills and second writers) --
HOLD_WRAPPER = r'''
import os, sys, time, pathlib
hold, mark = os.environ["VALLEYSIM_TEST_HOLD"], pathlib.Path(os.environ["VALLEYSIM_TEST_MARK"])
from sim.experiment import store

def wait_here():
    mark.write_text(hold)
    time.sleep(600)

if hold == "consolidate":  # in the middle of writing replications.parquet
    import pyarrow.parquet as pq
    class Held(pq.ParquetWriter):
        def write_table(self, *a, **k):
            super().write_table(*a, **k)
            wait_here()
    pq.ParquetWriter = Held
elif hold == "before-complete":  # summary.json written, the manifest not yet "complete"
    update = store.ResultsStore.update_manifest
    def held_update(self, **changes):
        if changes.get("status") == "complete":
            wait_here()
        return update(self, **changes)
    store.ResultsStore.update_manifest = held_update
elif hold == "after-complete":  # the manifest says "complete", the parts are not deleted yet
    drop = store.ResultsStore.drop_parts
    def held_drop(self):
        wait_here()
        return drop(self)
    store.ResultsStore.drop_parts = held_drop
from sim.cli import main
sys.argv[0] = "run_sim.py"
main()
'''


def start_cli(*args, hold: str | None = None, mark: Path | None = None,
              sigint: str | None = None) -> subprocess.Popen:
    """The CLI in its own session (so the test can signal all of it), optionally held at a point.

    ``sigint`` "default" or "ignored" starts it with that SIGINT disposition (a shell's ``trap``,
    kept across ``exec`` as a real inherited one is); None inherits the test runner's, which is
    "ignored" when the runner is a background job of a non-interactive shell (a CI script)."""
    extra = {"VALLEYSIM_TEST_HOLD": hold, "VALLEYSIM_TEST_MARK": mark} if hold else {}
    cmd = [sys.executable, "-c", HOLD_WRAPPER] if hold else [sys.executable, RUN_SIM]
    if sigint is not None:
        trap = {"default": "trap - INT", "ignored": "trap '' INT"}[sigint]
        cmd = ["sh", "-c", f'{trap}; exec "$0" "$@"', *cmd]
    return subprocess.Popen(
        [*cmd, *map(str, args)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(**extra),
        start_new_session=True,
    )


def stop(proc: subprocess.Popen, sig: int) -> tuple[str, str]:
    """SIGKILL the whole process group (kill -9, the OOM killer) or SIGTERM the parent (`kill
    PID`)."""
    with contextlib.suppress(ProcessLookupError):
        if sig == signal.SIGKILL:
            os.killpg(proc.pid, sig)
        else:
            os.kill(proc.pid, sig)
    try:
        return proc.communicate(timeout=60)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def wait_until(proc: subprocess.Popen, condition, timeout: float = 120) -> None:
    """Wait until ``condition()`` holds, failing if ``proc`` ends first or it takes longer than
    ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            _, err = proc.communicate()
            pytest.fail(f"the run ended (rc {proc.returncode}) too early:\n{err}")
        if time.monotonic() > deadline:
            stop(proc, signal.SIGKILL)
            pytest.fail("timed out waiting for the run")
        time.sleep(0.01)
