"""Run an experiment: scenarios x replications, through an executor, into a results folder.

The runner owns the life of a results folder: manifest first (status ``running``), each task's
result streamed to disk as it finishes, failures recorded without stopping the rest, optional
batches until a precision target is met, then consolidation, ``summary.json`` and status
``complete``. Ctrl-C or SIGTERM leave status ``interrupted`` and a message saying how to resume
(taken at a safe point, see :mod:`sim.experiment.interrupts`; pool workers are terminated);
``kill -9`` leaves ``running``: neither ever looks complete. ``--resume`` re-reads the resolved
scenarios from the manifest (not from the files, which may have changed) and runs only the
missing tasks, so the end result equals an uninterrupted run.
"""

from __future__ import annotations

import contextlib
import math
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..analysis.choice import compare_decision
from ..analysis.summary import build_summary, half_widths, replications_for
from ..background import Background
from ..errors import UsageError
from ..files import DEFAULT_SEED, atomic_write_json, finite_or_none, now, versions
from ..metadata import CompareInfo, SweepInfo, study_info
from ..scenario.draws import Draws
from ..scenario.loader import header_comment, resolved_dict, scenario_hash
from ..scenario.schema import Scenario
from ..terminal import fit
from . import interrupts
from .estimate import plan_seconds
from .folder import damaged_outputs
from .lifecycle import StudyFolder
from .progress import plan_line
from .store import PARTS
from .task import Task


@dataclass
class ExperimentSpec:
    """What to run. ``comparisons`` are (scenario, reference) pairs reported in the summary."""

    scenarios: dict[str, Scenario]
    replications: int = 10
    seed: int = DEFAULT_SEED
    crn: bool = True
    keep_startups: str = "first"  # all | first | none
    comparisons: list[tuple[str, str]] = field(default_factory=list)
    precision: float | None = None
    max_replications: int = 200
    kind: str = "run"
    sources: dict[str, str] = field(default_factory=dict)
    info: CompareInfo | SweepInfo | None = None
    """What the study records about itself for its report (:mod:`sim.metadata`); None for a run."""
    probes: dict[str, str | dict] = field(default_factory=dict)
    """Scenario name -> the name of a probe (:data:`sim.analysis.effects.PROBES`) run with each of
    its tasks, or ``{"name": ..., "parameters": {...}}`` for a probe that takes parameters (as the
    manifest records it); what it returns is kept in ``probes.parquet``."""
    draws: Draws | None = None
    """Posterior draws: replication ``r`` of every scenario runs with draw ``r mod K`` (see
    :mod:`sim.scenario.draws`); None runs every replication at the scenarios' own values."""
    raw: dict[str, dict] = field(default_factory=dict)
    """Scenario name -> its data before validation (what a draw's values are set into)."""
    _at: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        """Check the plan's numbers (a UsageError before anything runs)."""
        if not self.scenarios:
            raise UsageError("an experiment needs at least one scenario.")
        if self.replications < 1:
            raise UsageError("--replications: expected a whole number >= 1, found "
                             f"{self.replications}.")
        if self.keep_startups not in ("all", "first", "none"):
            raise UsageError("--startups: expected all, first or none, found "
                             f"{self.keep_startups!r}.")
        if self.precision is not None and not (
            self.precision > 0 and math.isfinite(self.precision)
        ):
            raise UsageError("precision: expected a positive half-width (a fraction, 0.001 = 0.1 "
                             f"pp), found {self.precision}.")

    def draw_of(self, replication: int) -> int | None:
        """The posterior draw replication ``replication`` runs with (None without draws)."""
        return None if self.draws is None else replication % len(self.draws)

    def _paths(self, scenario: str) -> dict[str, list[list[str]]]:
        if self.draws is None or scenario not in self.raw:
            return {}
        if ("paths", scenario) not in self._at:
            self._at[("paths", scenario)] = self.draws.paths(
                scenario, resolved_dict(self.scenarios[scenario])
            )
        return self._at[("paths", scenario)]

    def applied(self, scenario: str) -> list[str]:
        """The posterior keys a draw changes in ``scenario`` (none without draws)."""
        return list(self._paths(scenario))

    def scenario_at(self, scenario: str, replication: int) -> Scenario:
        """The scenario replication ``replication`` runs: with its draw's values where a draw
        applies."""
        k = self.draw_of(replication)
        paths = self._paths(scenario) if k is not None else {}
        if not paths:
            return self.scenarios[scenario]
        hit = self._at.get((scenario, k))
        if hit is None:
            from ..scenario.loader import validate

            origin = f"{scenario} with posterior draw {k} of {self.draws.file}"
            hit = self._at[(scenario, k)] = validate(
                self.draws.data_for(self.raw[scenario], k, paths), origin
            )
        return hit

    def probe(self, scenario: str):
        """The probe function the scenario's tasks run (None without one)."""
        from ..analysis.effects import PROBES

        probe = self.probes.get(scenario)
        if not probe:
            return None
        if isinstance(probe, str):
            return PROBES[probe]
        import functools

        return functools.partial(PROBES[probe["name"]], **probe.get("parameters", {}))

    def tasks(self, replications: range) -> list[Task]:
        """Replication-major order, so an interrupted run holds whole replications of every
        scenario."""
        names = list(self.scenarios)
        return [Task(i, n, r) for r in replications for i, n in enumerate(names)]

    def keep(self, task: Task) -> bool:
        """Whether ``task`` keeps its start-up table (startups.parquet)."""
        return self.keep_startups == "all" or (
            self.keep_startups == "first" and task.replication == 0
        )


def _git_commit() -> str | None:
    try:
        r = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                           cwd=Path(__file__).resolve().parents[2])
        return r.stdout.strip() or None if r.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def new_manifest(spec: ExperimentSpec, command: list[str] | None) -> dict:
    """The manifest a new experiment folder starts with: everything its report and ``resume`` need
    (each scenario resolved, with its file, hash and the question its file opens with)."""
    return {
        "status": "running",
        "kind": spec.kind,
        "seed": spec.seed,
        "replications": spec.replications,
        "crn": spec.crn,
        "keep_startups": spec.keep_startups,
        "precision": spec.precision,
        "max_replications": spec.max_replications,
        "comparisons": [list(c) for c in spec.comparisons],
        "scenarios": {
            n: {
                "hash": scenario_hash(s),
                "file": spec.sources.get(n),
                "resolved": resolved_dict(s),
                "question": header_comment(spec.sources.get(n)).strip(),
            }
            for n, s in spec.scenarios.items()
        },
        "versions": versions(),
        "git_commit": _git_commit(),
        "command": shlex.join(command or sys.argv),
        "started": now(),
        "ended": None,
        "study": spec.info.to_json() if spec.info is not None else None,
        "probes": spec.probes,
        **({"draws": spec.draws.to_json(), "raw": spec.raw} if spec.draws is not None else {}),
    }


def spec_from_manifest(m: dict, root: Path | str = "manifest.json") -> ExperimentSpec:
    """The experiment a manifest describes (its resolved scenarios, not today's files)."""
    from pydantic import ValidationError

    try:
        return _spec_from_manifest(m)
    except (KeyError, TypeError, ValidationError) as exc:
        raise UsageError(f"{root}: its manifest.json does not describe an experiment this version "
                         f"of valleysim can continue ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0]}). Start a new run instead.") from None


def _spec_from_manifest(m: dict) -> ExperimentSpec:
    return ExperimentSpec(
        scenarios={n: Scenario.model_validate(v["resolved"]) for n, v in m["scenarios"].items()},
        replications=m["replications"], seed=m["seed"], crn=m.get("crn", True),
        keep_startups=m.get("keep_startups", "first"),
        comparisons=[tuple(c) for c in m.get("comparisons", [])], precision=m.get("precision"),
        max_replications=m.get("max_replications", 200), kind=m.get("kind", "run"),
        sources={n: v.get("file") for n, v in m["scenarios"].items()}, info=study_info(m),
        probes=m.get("probes", {}), draws=Draws.from_json(m["draws"]) if m.get("draws") else None,
        raw=m.get("raw", {}))


def bundled(tasks: list[Task], argsets: list[tuple], workers: int) -> list[list[tuple]]:
    """The tasks' argument sets in bundles a worker runs one after another.

    Each replication's tasks go together (so its economy is drawn once, by one worker), split into
    smaller bundles when whole replications would leave workers idle: a bundle holds at most
    ``len(tasks) // (2 * workers)`` tasks, so there are always at least two bundles per worker.
    """
    size = max(1, len(tasks) // (2 * max(1, workers)))
    out: list[list[tuple]] = []
    current: list[tuple] = []
    last = None
    for t, args in zip(tasks, argsets, strict=True):
        if current and (t.replication != last or len(current) >= size):
            out.append(current)
            current = []
        current.append(args)
        last = t.replication
    if current:
        out.append(current)
    return out


@dataclass
class Outcome:
    """A finished experiment: its folder, summary, failed tasks, replications and run time."""
    root: Path
    summary: dict
    failures: list[dict]
    replications: int
    seconds: float


class Runner:
    """Runs an experiment's tasks in its :class:`~sim.experiment.lifecycle.StudyFolder` and finishes
    it."""

    def __init__(self, spec: ExperimentSpec, folder: StudyFolder):
        """The runner of ``spec`` in ``folder`` (its store, executor and progress)."""
        self.spec = spec
        self.folder = folder
        self.store = folder.store
        self.executor = folder.executor
        self.progress = folder.progress
        self.echo = folder.echo
        self.failures: list[dict] = []
        self.half_width: float | None = None
        self.decision_seconds: float | None = None
        """Seconds the comparison's decision analysis took (written to the manifest)."""

    def _argsets(self, tasks: list[Task]):
        done: dict[tuple[str, int | None], tuple[dict, str]] = {}
        for t in tasks:
            key = (t.scenario, self.spec.draw_of(t.replication))
            if key not in done:
                sc = self.spec.scenario_at(t.scenario, t.replication)
                done[key] = (resolved_dict(sc), scenario_hash(sc))
            resolved, digest = done[key]
            yield (
                resolved,
                digest,
                t,
                self.spec.seed,
                self.spec.crn,
                self.spec.keep(t),
                self.spec.probe(t.scenario),
            )

    def _record(self, result: dict) -> None:
        """Journal one finished task: its parts, or its failure (the rest go on)."""
        if "error" in result:
            t = result["task"]
            self.failures.append({"scenario": t.scenario, "replication": t.replication,
                                  "error": result["error"], "traceback": result["traceback"]})
            self._write_failures()
        else:
            self.store.write_task(result)

    def _run_batch(self, replications: range) -> None:
        tasks = self.spec.tasks(replications)
        done = self.store.completed()
        todo = [t for t in tasks if t.key not in done]
        if not todo:
            return
        per_task = {n: s.expected_startups() * s.sampling.simulated_share()
                    for n, s in self.spec.scenarios.items()}
        lifecycles = sum(per_task[t.scenario] for t in todo)
        if self.progress:  # --quiet silences the plan and the progress, not warnings
            # priced at this machine's speed now (a calibration probe of about 0.1 s)
            eta = plan_seconds(lifecycles, self.executor.workers)
            self.echo(plan_line(len(todo), len(tasks) - len(todo), lifecycles,
                                self.executor.workers, self.executor.name, eta))
        argsets = list(self._argsets(todo))
        self.folder.run_tasks(
            bundled(todo, argsets, self.executor.workers), self._record, total=len(todo)
        )

    def _failure_rows(self) -> list[dict]:
        root = self.store.root
        return [{**f, "replay": f"python run_sim.py replay {shlex.quote(str(root))} --scenario "
                                f"{shlex.quote(f['scenario'])} --replication {f['replication']}"}
                for f in self.failures]

    def _write_failures(self) -> None:
        atomic_write_json(self.store.root / "failures.json", self._failure_rows())

    def _precision_met(self, n: int) -> tuple[bool, int]:
        """Is the target met by replications 0..n-1? If not, how many replications to aim for.

        Only replications below ``n`` count, even if a resumed run finds later ones on disk, so
        a resumed experiment takes exactly the decisions an uninterrupted one took.
        """
        spec = self.spec
        cols = self.store.read_metrics(below=n).to_pydict()
        hw = half_widths(cols, list(spec.scenarios), spec.comparisons) if cols else {}
        finite = [v for v in hw.values() if v is not None and math.isfinite(v)]
        worst = max(finite) if finite and len(finite) == len(hw) else math.inf
        self.half_width = worst
        if self.progress:
            self.echo(fit(f"precision: worst 95% CI half-width of 5-year survival after {n} "
                          f"replications = {100 * worst:.3f} pp (target "
                          f"{100 * spec.precision:.3f} pp)"))
        if worst <= spec.precision:
            return True, n
        needed = replications_for(cols, list(spec.scenarios), spec.comparisons, spec.precision)
        return False, min(
            spec.max_replications, max(n + 1, needed if needed is not None else 2 * n)
        )

    def run(self) -> Outcome:
        """Every missing task (in batches until a precision target is met), then :meth:`finish`."""
        spec = self.spec
        t0 = time.perf_counter()
        n = spec.replications
        self._run_batch(range(n))
        if spec.precision is not None:
            met, target = self._precision_met(n)
            while not met and n < spec.max_replications:
                self._run_batch(range(n, target))
                interrupts.check()
                n = target
                self.store.update_manifest(replications=n)
                met, target = self._precision_met(n)
            if not met:
                self.echo(fit(f"precision: target {100 * spec.precision:.3f} pp not reached "
                              f"within --max-replications {spec.max_replications}; stopping "
                              "there."))
            self.store.update_manifest(
                precision_met=met, precision_half_width=finite_or_none(self.half_width)
            )
        interrupts.check()
        self.folder.close_executor()
        return self.finish(n, time.perf_counter() - t0)

    def summary(self, cols: dict) -> dict:
        """summary.json's statistics of the replications table ``cols``
        (:func:`sim.analysis.summary.build_summary`). A block a study adds to it (a comparison's
        decision) is computed by a pure function of ``cols`` in :mod:`sim.analysis`, called here
        when ``self.spec.info`` says it is that study."""
        spec = self.spec
        if not cols:
            return {"scenarios": {}}
        out = build_summary(cols, list(spec.scenarios), spec.comparisons,
                            draws=len(spec.draws) if spec.draws is not None else None,
                            varied=[n for n in spec.scenarios if spec.applied(n)])
        info = spec.info
        if isinstance(info, CompareInfo) and info.counterfactual in spec.scenarios:
            t0 = time.perf_counter()
            try:
                out["decision"] = compare_decision(
                    cols, list(spec.scenarios), info.counterfactual, baseline=info.baseline,
                    draws=spec.draws.to_json() if spec.draws is not None else None,
                    applied={n: spec.applied(n) for n in spec.scenarios},
                    wtp_krw=info.wtp_krw, outcome=info.outcome)
            except ValueError as exc:  # e.g. no replication every option finished
                out["decision"] = None
                out["decision_why_not"] = str(exc)
            self.decision_seconds = round(time.perf_counter() - t0, 3)
        return out

    def finish(self, n: int, seconds: float) -> Outcome:
        """Consolidate the parts, write summary.json, then (last) the final status.

        The parts are deleted only after the manifest says ``complete``: a crash at any point
        before leaves a folder that ``resume`` finishes without rerunning anything.
        """
        spec = self.spec
        root = self.store.root
        self.store.update_manifest(replications=n)
        # the final files are assembled (Arrow, off the GIL) while the statistics are computed from
        # the parts' metrics (Python: a comparison's decision is seconds of regressions); the
        # summary is written only once the files are in place
        files = Background(self.store.consolidate, spec.tasks(range(n)),
                           name="valleysim-consolidate")
        cols = self.store.read_metrics(below=n).to_pydict()
        summary = self.summary(cols)
        files.result()
        summary["seed"] = spec.seed
        summary["failures"] = [{k: f[k] for k in ("scenario", "replication", "error", "replay")}
                               for f in self._failure_rows()]
        atomic_write_json(root / "summary.json", summary)
        status = "failed" if self.failures else "complete"
        if not self.failures:
            with contextlib.suppress(OSError):
                # left by an earlier attempt whose failures are now fixed
                (root / "failures.json").unlink()
        timing = {} if self.decision_seconds is None else {
            "decision_seconds": self.decision_seconds}
        self.folder.finish(status, seconds=round(seconds, 2), failures=len(self.failures),
                           cleanup=None if self.failures else self.store.drop_parts, **timing)
        return Outcome(root, summary, self.failures, n, seconds)


def run_experiment(spec: ExperimentSpec, out: Path, executor, *, force: bool = False,
                   progress: bool = True, command: list[str] | None = None, echo=print) -> Outcome:
    """Run ``spec`` into a new results folder ``out`` and return its :class:`Outcome`."""
    with StudyFolder.create(
        out,
        new_manifest(spec, command),
        executor=executor,
        force=force,
        progress=progress,
        echo=echo,
    ) as folder:
        return Runner(spec, folder).run()


def resume_experiment(root: Path, executor, *, progress: bool = True, echo=print) -> Outcome:
    """Continue an interrupted experiment, or rebuild a finished one whose data files are damaged.

    Only missing tasks run (a task whose part is unreadable counts as missing). A complete folder
    whose summary.json or Parquet files are missing, empty or unreadable runs its tasks again (the
    parts were deleted when it finished); the numbers come out identical.
    """
    with StudyFolder.reopen(root, executor=executor, progress=progress, echo=echo) as folder:
        spec = reopened_spec(folder)
        return Runner(spec, folder).run()


def reopened_spec(folder: StudyFolder) -> ExperimentSpec:
    """The experiment of a reopened folder, set running again: a complete one only if its data is
    damaged (then the damaged files go and its tasks run again), else a usage error."""
    root = folder.root
    m = folder.manifest()
    spec = spec_from_manifest(m, root)
    if m.get("status") == "complete":
        damaged = damaged_outputs(Path(root), m)
        if not damaged:
            raise UsageError(f"{root}: this experiment is already complete and its data files are "
                             "whole; nothing to resume. Rebuild its report with: python "
                             f"run_sim.py report {shlex.quote(str(root))}")
        folder.echo("resume: the finished experiment's data is damaged ("
                    + "; ".join(f"{k} {v}" for k, v in damaged.items())
                    + "); running its tasks again to rebuild it (the numbers come out identical)")
        for name in damaged:
            with contextlib.suppress(OSError):
                (Path(root) / name).unlink()
        (Path(root) / PARTS).mkdir(exist_ok=True)
    folder.store.remove_stale_temporaries()
    folder.begin()
    return spec
