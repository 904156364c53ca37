"""valleysim from Python: every study as a function, for notebooks and scripts.

    import sim
    res = sim.compare(replications=10)                     # the whole policy library
    res.summary["comparisons"][0]                          # means, CIs, p-values
    res.replications.groupby("scenario").survival_5y.mean()  # pandas DataFrames
    one = sim.run("ccei-announced", replications=5, overrides={"centres.*.seats": 40})
    sens = sim.sweep("ccei-announced", ["centres.*.seats=10:80"], samples=16)

:func:`run` and :func:`compare` are the study functions of :mod:`sim.studies.run` and
:mod:`sim.studies.compare` (what the command line calls too: the same checks, lock, results
folder and report), returning the folder they wrote as :class:`Results`, whose tables are pandas
DataFrames; a folder whose tasks failed, or that is incomplete or damaged, raises valleysim's own
error instead (:class:`~sim.errors.TasksFailed`, :class:`~sim.errors.UsageError`). The other
studies (:func:`sweep`, :func:`optimize`, :func:`calibrate`, :func:`discover`, :func:`validation`,
:func:`write_report` (``report DIR``; ``sim.report`` is the report layer), :func:`resume`) are the
study functions themselves and return their records
(:mod:`sim.studies.outcomes`). They work from a plain script or a notebook without an
``if __name__ == "__main__":`` guard: the worker processes are forked from the caller.
"""

from __future__ import annotations

from ..analysis.folder import Results
from .calibrate import calibrate
from .compare import compare as _compare_study
from .discover import discover
from .folders import report as write_report
from .folders import resume
from .optimize import optimize
from .run import run as _run_study
from .sweep import sweep
from .validation import validation

__all__ = [
    "Results",
    "calibrate",
    "compare",
    "discover",
    "optimize",
    "resume",
    "run",
    "sweep",
    "validation",
    "write_report",
]


def run(scenario, **options) -> Results:
    """Replications of one scenario (a file or a shipped scenario's name), like ``run_sim.py run``.

    The options are :func:`sim.studies.run.run`'s (``replications``, ``seed``, ``overrides`` such as
    ``{"centres.*.seats": 40}``, ``out``, ``force``, ``workers``, ``executor``, ...). Returns the
    folder as :class:`Results`; raises :class:`~sim.errors.TasksFailed` if some tasks failed.
    """
    return Results.open(_run_study(scenario, **options).root)


def compare(scenarios=(), **options) -> Results:
    """Policy variants against the counterfactual and the baseline, like ``run_sim.py compare``.

    With no ``scenarios``, the whole policy library, over the shipped posterior unless ``fixed``.
    The options are :func:`sim.studies.compare.compare`'s; ``report=False`` skips report.html and
    report.md. Returns the folder as :class:`Results`; raises :class:`~sim.errors.TasksFailed` if
    some tasks failed (the report is then not written).
    """
    return Results.open(_compare_study(scenarios, **options).root)
