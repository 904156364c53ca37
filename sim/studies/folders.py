"""The studies of a results folder that already exists: ``report``, ``resume`` and ``replay``.

Each kind of folder (its manifest's ``kind``) has one way to be resumed and one way to be reported
(:data:`KINDS`); :func:`report` and :func:`resume` dispatch on it. Both hold the folder's lock for
as long as they write: a folder being written belongs to its writer.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..errors import UsageError, ValleysimError
from ..experiment.lifecycle import StudyFolder
from ..experiment.runner import Runner, reopened_spec, spec_from_manifest
from ..experiment.store import ResultsStore
from ..metadata import CompareInfo
from .arguments import amount_krw, echo_for, number, open_executor, whole
from .compare import compared, reports_written, write_compare_report
from .optimize import resume_optimize
from .optimize import rewrite_report as rewrite_optimize_report
from .outcomes import (
    OptimizeOutcome,
    Outcome,
    PosteriorOutcome,
    ReplayOutcome,
    ReportOutcome,
    SweepOutcome,
)
from .posterior import resume_posterior
from .posterior import rewrite_report as rewrite_posterior_report
from .run import outcome_of
from .sweep import finish_sweep, finished_sweep


def _kind(root) -> str:
    return ResultsStore.open(root).read_manifest().get("kind") or "run"


def report(
    root,
    *,
    practical_pp: float | None = None,
    wtp=None,
    progress: bool = False,
    echo=None,
) -> Outcome:
    """Rebuild a results folder's pages from what it holds, without rerunning anything.

    A run's or comparison's report.html and report.md (``practical_pp`` overrides the threshold it
    was run with, ``wtp`` the willingness to pay its decision is read at: KRW per additional unit),
    a sweep's analysis and pages, an optimisation's or a posterior's pages. The folder is locked
    while they are written.
    """
    root = Path(root)
    practical_pp = number(practical_pp, "practical", 0.0, 100.0, optional=True)
    wtp = amount_krw(wtp, "wtp", optional=True)
    kind = _kind(root)
    _wtp_applies(kind, wtp)
    echo = echo_for(progress, echo)
    with StudyFolder.hold(root):
        if kind == "sweep":
            done = finish_sweep(root, echo=echo if progress else None)
            return SweepOutcome(root=root, analysis=done["analysis"], report=done["paths"])
        if kind == "optimize":
            return OptimizeOutcome(root=root, result=rewrite_optimize_report(root))
        if kind == "posterior":
            return PosteriorOutcome(root=root, result=rewrite_posterior_report(root))
        paths = write_compare_report(
            root, echo=echo if progress else None, practical_pp=practical_pp, wtp_krw=wtp
        )
        return ReportOutcome(root=root, report=paths)


def _wtp_applies(kind: str, wtp: float | None) -> None:
    """``--wtp`` reads a comparison's decision; any other folder refuses it (an optimisation keeps
    the willingness to pay it searched with)."""
    if wtp is not None and kind != "compare":
        raise UsageError(f"--wtp: reads a comparison's decision; this folder holds a {kind} "
                         "(an optimisation keeps the --wtp it was started with).")


def resume(
    root,
    *,
    workers: int | None = None,
    executor: str = "processes",
    scheduler: str | None = None,
    start_method: str | None = "fork",
    wtp=None,
    progress: bool = False,
    echo=None,
) -> Outcome:
    """Continue an interrupted study in ``root`` (whatever its kind): run only what is missing, then
    finish it as an uninterrupted run would (the same numbers). A complete folder whose data files
    are damaged is rebuilt; a comparison killed between its data and its report gets its report.
    ``wtp`` (a comparison's): the willingness to pay its decision is read at from now on (recorded
    in its manifest). The record returned is the study's own (a comparison's, a sweep's, ...)."""
    root = Path(root)
    wtp = amount_krw(wtp, "wtp", optional=True)
    kind = _kind(root)
    _wtp_applies(kind, wtp)
    echo = echo_for(progress, echo)
    manifest = ResultsStore.open(root).read_manifest()
    if kind == "compare" and manifest.get("status") == "complete" and not reports_written(root):
        # killed between the data and the report: the data is final, only the report is missing
        with StudyFolder.hold(root):
            return ReportOutcome(
                root=root,
                report=write_compare_report(root, echo=echo if progress else None,
                                            wtp_krw=wtp),
                label="report: ",
            )
    ex = open_executor(executor, workers, scheduler, start_method)
    if kind == "optimize":
        return OptimizeOutcome(
            root=root, result=resume_optimize(root, ex, progress=progress, echo=echo)
        )
    if kind == "posterior":
        return PosteriorOutcome(
            root=root, result=resume_posterior(root, ex, progress=progress, echo=echo)
        )
    with StudyFolder.reopen(root, executor=ex, progress=progress, echo=echo) as folder:
        spec = reopened_spec(folder)
        if wtp is not None and isinstance(spec.info, CompareInfo):
            spec.info = dataclasses.replace(spec.info, wtp_krw=wtp)
            folder.update(study=spec.info.to_json())
        done = Runner(spec, folder).run()
        if kind == "sweep":
            return finished_sweep(folder, done)
        if kind == "compare":
            paths = None
            if not done.failures:
                paths = write_compare_report(folder.root, echo=echo if progress else None)
            return compared(spec, done, paths)
        return outcome_of(done, spec)


def replay(root, *, scenario: str, replication: int) -> ReplayOutcome:
    """Run one task of an experiment again in this process, exactly as it ran (same resolved
    scenario, posterior draw, seed and code path); nothing in the folder changes. A failure comes
    back with its full traceback."""
    from ..experiment.task import Task, run_task
    from ..scenario.loader import resolved_dict, scenario_hash

    root = Path(root)
    spec = spec_from_manifest(ResultsStore.open(root).read_manifest(), root)
    if scenario not in spec.scenarios:
        raise UsageError(f"--scenario: expected one of {sorted(spec.scenarios)}, found "
                         f"{scenario!r}.")
    if not isinstance(replication, int) or isinstance(replication, bool) or replication < 0:
        raise UsageError(f"--replication: expected a whole number >= 0, found {replication}.")
    whole(replication, "--replication", 0, 10**9)
    # with its posterior draw, if the experiment has draws
    sc = spec.scenario_at(scenario, replication)
    task = Task(list(spec.scenarios).index(scenario), scenario, replication)
    result = run_task(resolved_dict(sc), scenario_hash(sc), task, spec.seed, spec.crn, False)
    if "error" in result:
        return ReplayOutcome(
            root=root,
            scenario=scenario,
            replication=replication,
            error=result["error"],
            traceback=result["traceback"],
        )
    m = result["metrics"]
    return ReplayOutcome(
        root=root,
        scenario=scenario,
        replication=replication,
        startups=result["startups_count"],
        events=result["events"],
        seconds=result["seconds"],
        survival_5y=m.get("survival_5y", float("nan")),
    )


def replay_failed(outcome: ReplayOutcome) -> ValleysimError:
    """The error a failed replay ends with (exit code 1)."""
    return ValleysimError(f"replay of {outcome.scenario} replication {outcome.replication} failed "
                          f"again: {outcome.error}")
