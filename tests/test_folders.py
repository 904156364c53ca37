"""Results folders that cannot lie: one writer at a time, --force only on what valleysim provably
wrote, and damaged files named (by ``report``) and rebuilt (by ``resume``), never read as "n/a"."""

from __future__ import annotations

import json
import signal

import pyarrow.parquet as pq
import pytest
from robust import N_REF, invoke, manifest, same_as_reference, start_cli, stop, wait_until

from sim.errors import Interrupted
from sim.experiment import ExperimentSpec, SerialExecutor, run_experiment
from sim.files import DEFAULT_SEED
from sim.scenario import load_scenario


def _run(tiny, out, *extra):
    return invoke("run", tiny, "-n", N_REF, "--executor", "serial", "--out", out, "-q", *extra)


class StopAfter(SerialExecutor):
    """A serial executor that acts as if Ctrl-C arrived after ``k`` results."""

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


# ---------------------------------------------------------------------------------------------
# one writer at a time
# ---------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_folder_being_written_refuses_a_second_writer_even_with_force(tiny, reference, tmp_path):
    """While one run writes X, a second ``run --out X --force`` and a ``resume X`` are refused with
    one paragraph naming the writer, and change nothing; once the writer is gone, resume finishes X
    with exactly the first run's results (no mix of two runs)."""
    out, mark = tmp_path / "out", tmp_path / "mark"
    proc = start_cli("run", tiny, "-n", N_REF, "--executor", "serial", "--out", out, "-q",
                     hold="before-complete", mark=mark)
    try:
        wait_until(proc, mark.exists)
        before = sorted(p.name for p in out.iterdir())
        for args in (["run", tiny, "-n", 1, "--executor", "serial", "--out", out, "--force", "-q"],
                     ["resume", out, "--executor", "serial", "-q"], ["report", out, "-q"]):
            r = invoke(*args)
            assert r.exit_code == 2, r.output
            assert f"is in use by valleysim process {proc.pid} on " in r.stderr
            assert "--force never takes a folder from a live writer" in r.stderr
            assert "Traceback" not in r.output and len(r.stderr.strip().splitlines()) == 1
        assert sorted(p.name for p in out.iterdir()) == before
        assert manifest(out)["writer"]["pid"] == proc.pid
    finally:
        stop(proc, signal.SIGKILL)
    # the writer is gone (the operating system dropped its lock): the folder can be finished
    r = invoke("resume", out, "--executor", "serial", "-q")
    assert r.exit_code == 0, r.output
    same_as_reference(out, reference)


# ---------------------------------------------------------------------------------------------
# --force deletes only what valleysim provably wrote
# ---------------------------------------------------------------------------------------------
def test_force_keeps_a_users_files_and_names_them(tiny, tmp_path):
    """--force refuses a folder holding a user's file, naming it and touching nothing; without it,
    --force works."""
    out = tmp_path / "out"
    assert _run(tiny, out, "-n", "1").exit_code == 0
    (out / "my-notes.txt").write_text("precious")
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    r = _run(tiny, out, "-n", "1", "--force")
    assert r.exit_code == 2
    assert "my-notes.txt" in r.stderr and "will not touch yours" in r.stderr
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before
    (out / "my-notes.txt").unlink()
    assert _run(tiny, out, "-n", "1", "--force").exit_code == 0
    assert manifest(out)["status"] == "complete"


def test_force_refuses_a_folder_with_a_manifest_that_is_not_valleysims(tiny, tmp_path):
    """A file called manifest.json is not proof: without valleysim's marker nothing is deleted."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text(json.dumps({"status": "complete", "kind": "run"}))
    (out / "summary.json").write_text("{}")
    r = _run(tiny, out, "--force")
    assert (
        r.exit_code == 2 and "not a valleysim results folder" in r.stderr and "marker" in r.stderr
    )
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "summary.json"]


def test_a_new_manifest_carries_the_marker_and_its_writer(tiny, tmp_path):
    """A new manifest carries valleysim's marker, its format version and its writer."""
    out = tmp_path / "out"
    assert _run(tiny, out, "-n", "1").exit_code == 0
    m = manifest(out)
    assert m["format"] == "valleysim-results" and m["format_version"] == 3
    assert {"pid", "host", "since", "command"} <= set(m["writer"])


# ---------------------------------------------------------------------------------------------
# damaged folders
# ---------------------------------------------------------------------------------------------
def _truncate(path, keep: int = 100):
    path.write_bytes(path.read_bytes()[:keep])


DAMAGE = {
    "truncated replications.parquet": ("replications.parquet", _truncate),
    "corrupt startups.parquet": (
        "startups.parquet",
        lambda p: p.write_bytes(b"PAR1" + b"\0" * 64 + b"PAR1"),
    ),
    "empty summary.json": ("summary.json", lambda p: p.write_text("")),
    "missing summary.json": ("summary.json", lambda p: p.unlink()),
    "missing replications.parquet": ("replications.parquet", lambda p: p.unlink()),
    "truncated regions.parquet": ("regions.parquet", _truncate),
}


@pytest.mark.parametrize("case", sorted(DAMAGE))
def test_report_names_a_damaged_file_and_resume_rebuilds_it(case, tiny, reference, tmp_path):
    """``report`` exits 2 naming the damaged file and the resume command; ``resume`` runs the tasks
    again and ends with the same numbers; then ``report`` works. Never "already complete" <->
    "resume"."""
    out = tmp_path / "out"
    assert _run(tiny, out).exit_code == 0
    name, damage = DAMAGE[case]
    damage(out / name)
    r = invoke("report", out, "-q")
    assert r.exit_code == 2, r.output
    assert f"{out / name}: is " in r.stderr and f"python run_sim.py resume {out}" in r.stderr
    assert "Traceback" not in r.output
    r = invoke("resume", out, "--executor", "serial")
    assert r.exit_code == 0, r.output
    assert "data is damaged" in r.stderr and name in r.stderr
    same_as_reference(out, reference)
    assert invoke("report", out, "-q").exit_code == 0
    r = invoke("resume", out, "--executor", "serial", "-q")
    assert r.exit_code == 2 and "already complete and its data files are whole" in r.stderr


def test_resume_reruns_tasks_whose_parts_are_unreadable(tiny, reference, tmp_path):
    """An interrupted run whose task parts were cut short (a metrics part, a start-up part): resume
    runs exactly those tasks again and ends identical to an uninterrupted run."""
    out = tmp_path / "out"
    spec = ExperimentSpec(
        scenarios={"tiny": load_scenario(tiny)}, replications=N_REF, seed=DEFAULT_SEED
    )
    with pytest.raises(Interrupted):
        run_experiment(spec, out, StopAfter(3), progress=False, echo=lambda _m: None)
    parts = sorted((out / "parts").glob("*.parquet"))
    metrics = [p for p in parts if p.name.endswith(".metrics.parquet")]
    startups = [p for p in parts if p.name.endswith(".startups.parquet")]
    assert len(metrics) == 3 and startups
    _truncate(metrics[1], 20)
    _truncate(startups[0], 20)
    said = []
    from sim.experiment import resume_experiment

    resume_experiment(out, SerialExecutor(), progress=True, echo=said.append)
    plan = next(s for s in said if s.startswith("plan: "))
    assert f"plan: {N_REF - 1} tasks (1 already done)" in plan  # the two damaged tasks ran again
    same_as_reference(out, reference)
    assert len(pq.read_table(out / "replications.parquet")) == N_REF
