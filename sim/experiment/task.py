"""One task = one replication of one scenario, run in whatever process the executor chooses.

:func:`run_task` is a top-level function of plain arguments (the resolved scenario as JSON-able
data, a seed, a replication index) so that it pickles to a process pool or a Dask worker.
It never raises: an exception becomes an ``error`` entry in the result, so one bad task cannot
kill an experiment.

Fault injection (for tests and for rehearsing failure handling): the environment variable
``VALLEYSIM_FAIL_TASKS="SCENARIO:REPLICATION,..."`` makes :func:`run_task` raise a
``RuntimeError`` for exactly those tasks, e.g. ``VALLEYSIM_FAIL_TASKS="ccei-announced:2"``.
Environment variables reach process-pool workers, so the failure happens where a real one would.
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..analysis.ledger import year_columns
from ..analysis.metrics import region_metrics, replication_metrics
from ..categorical import Categorical
from ..model import simulate
from ..model.codes import CAUSES, OUTCOMES
from ..scenario.schema import STAGES, Scenario

_CACHE: dict[str, Scenario] = {}


@dataclass(frozen=True)
class Task:
    """Replication ``replication`` of the scenario at position ``scenario_index`` in the plan."""

    scenario_index: int
    scenario: str
    replication: int

    @property
    def key(self) -> str:
        """The task's name in the parts folder, e.g. ``s003-r000007``."""
        return f"s{self.scenario_index:03d}-r{self.replication:06d}"


FAIL_TASKS_ENV = "VALLEYSIM_FAIL_TASKS"


def injected_failures(value: str | None = None) -> set[tuple[str, int]]:
    """The (scenario, replication) pairs named in ``VALLEYSIM_FAIL_TASKS`` (empty when unset)."""
    value = os.environ.get(FAIL_TASKS_ENV, "") if value is None else value
    out = set()
    for item in value.split(","):
        name, sep, rep = item.strip().rpartition(":")
        if sep and name and rep.strip().isdigit():
            out.add((name.strip(), int(rep)))
    return out


def _scenario(resolved: dict, digest: str) -> Scenario:
    sc = _CACHE.get(digest)
    if sc is None:
        if len(_CACHE) >= 64:  # a calibration or a sweep passes many scenarios through one worker
            _CACHE.clear()
        sc = _CACHE[digest] = Scenario.model_validate(resolved)
    return sc


def ordinary_pages() -> None:
    """Stop numpy asking the kernel for transparent huge pages in this process (once).

    numpy advises huge pages for every array of 4 MB or more; where the kernel then compacts memory
    at the page fault (THP ``defrag`` set to ``madvise``, as on the development VM), a worker's
    later replications stalled on their fresh arrays: filling the economy's row table took 0.19-0.23
    s instead of 0.04-0.05 s and a whole world 1.15-1.19 s instead of 0.85-0.86 s (five worlds in
    one process, each way twice), and a worker's first bundle of the main job 9.95 / 10.01 s of CPU
    instead of 8.48 / 8.54 s (six bundles in one process: 53.3 / 51.0 s against 49.5 / 49.2 s). A
    worker's arrays live for one replication. (Called by :func:`run_task`: every executor's
    workers, and the parent when it runs the tasks itself.)"""
    if _PAGES["ordinary"]:
        return
    _PAGES["ordinary"] = True
    try:
        from numpy._core.multiarray import _set_madvise_hugepage
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _set_madvise_hugepage
    _set_madvise_hugepage(False)


_PAGES = {"ordinary": False}


def run_task(resolved: dict, digest: str, task: Task, seed: int, crn: bool = True,
             keep_startups: bool = False, probe: Callable | None = None) -> dict:
    """Simulate one task and reduce it to metrics (plus the start-up table when asked).

    This is the one way every study runs the model. ``probe``, a picklable function of
    ``(records, scenario)`` (a module-level function, or a ``functools.partial`` of one), adds
    what a study needs beyond the metrics (calibration's target curves, validation's twins) as
    ``result["probe"]``; the records themselves never leave the worker.
    """
    t0 = time.perf_counter()
    ordinary_pages()
    try:
        if (task.scenario, task.replication) in injected_failures():
            raise RuntimeError(f"injected failure for {task.scenario}:{task.replication} "
                               f"({FAIL_TASKS_ENV} is set)")
        scenario = _scenario(resolved, digest)
        records = simulate(scenario, seed, task.replication, crn=crn)
        metrics = replication_metrics(records, scenario.calendar)
        regions = region_metrics(records, scenario.calendar)
        out = {"task": task, "metrics": metrics, "regions": regions,
               "years": year_columns(records, scenario.calendar), "events": records.events,
               "startups_count": len(records), "centres": records.centres}
        if keep_startups:
            out["startups"] = startup_table(records)
        if probe is not None:
            out["probe"] = probe(records, scenario)
        out["seconds"] = time.perf_counter() - t0
        return out
    except Exception as exc:  # noqa: BLE001 - recorded, reported, replayable
        return {"task": task, "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(), "seconds": time.perf_counter() - t0}


def run_tasks(argsets: list[tuple]) -> list[dict]:
    """Several tasks in one worker, one after another (:func:`run_task` on each).

    The runner bundles the scenarios of one replication this way when there are tasks enough to
    keep every worker busy: the worker then draws that replication's economy once and reuses it for
    every scenario (:mod:`sim.model.reuse`), instead of two workers each drawing it.
    """
    return [run_task(*args) for args in argsets]


STORED_APPLICANT_SHARE = 10
"""startups.parquet keeps every supported start-up, the weighted sample of never-applicants, and one
in this many of the other applicants (weight multiplied by it): a bounded table an analyst can open
in pandas, still weighted to the whole economy."""


def stored_rows(startups: dict) -> np.ndarray:
    """Which records go into startups.parquet (see :data:`STORED_APPLICANT_SHARE`). The choice is a
    hash of the firm's name (region, serial), so the same firms are kept in every scenario."""
    key = startups["region"].astype(np.uint64) << np.uint64(40) ^ startups["serial"].astype(
        np.uint64
    )
    with np.errstate(over="ignore"):  # splitmix64: wrapping arithmetic is the point
        z = key + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    picked = z % np.uint64(STORED_APPLICANT_SHARE) == 0
    return startups["supported"] | (startups["weight"] != 1.0) | picked


def startup_table(records) -> dict[str, np.ndarray | list]:
    """The per-start-up columns of the stored rows (:func:`stored_rows`), for startups.parquet: text
    columns as :class:`~sim.categorical.Categorical` codes; ``weight`` is how many start-ups of the
    economy each row stands for."""
    full = records.startups
    keep = stored_rows(full)
    s = {k: v[keep] for k, v in full.items()}
    thinned = ~s["supported"] & (s["weight"] == 1.0)
    weight = np.where(thinned, float(STORED_APPLICANT_SHARE), s["weight"])
    return {
        "region": Categorical.of(s["region"], records.region_names),
        "serial": s["serial"],
        "weight": weight,
        "sector": Categorical.of(s["sector"], records.sector_names),
        "founded_month": s["founded"],
        "cohort_year": s["cohort_year"],
        "quality": s["quality"],
        "team": s["team"],
        "supported": s["supported"],
        "centre": Categorical.of(s["centre"], records.centre_names),
        "support_month": s["support_time"],
        "grant_krw": s["grant_krw"],
        "private_krw": s["private_krw"],
        "equity_krw": s["equity_krw"],
        "debt_krw": s["debt_krw"],
        "bridge_rounds": s["bridge_rounds"],
        "conglomerate_krw": s["conglomerate_krw"],
        "subcontract": s["subcontract"],
        "stage_reached": Categorical.of(s["stage_reached"], (*STAGES, "crossed")),
        "crossed_valley": s["crossed"],
        "outcome": Categorical.of(s["outcome"], OUTCOMES),
        "cause": Categorical.of(s["cause"], [c or None for c in CAUSES]),
        "outcome_month": s["outcome_time"],
        "jobs": s["jobs"],
    }
