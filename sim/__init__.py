"""valleysim: a discrete-event simulator of start-ups crossing the death valley.

Data flows one way: scenario file -> :mod:`sim.scenario` (validated, frozen Scenario) ->
:mod:`sim.model` (SimPy processes, per-replication records) -> :mod:`sim.analysis` (statistics)
-> :mod:`sim.experiment` (tasks, executors, results store) and :mod:`sim.report` (pages) ->
:mod:`sim.studies` (compare, calibrate, validate, sweep, optimize) -> :mod:`sim.cli`.

From Python (a notebook or a script)::

    import sim
    res = sim.compare(replications=10)
    res.replications.groupby("scenario").survival_5y.mean()

Every study is here (``sim.run``, ``sim.compare``, ``sim.sweep``, ``sim.optimize``,
``sim.calibrate``, ``sim.discover``, ``sim.validation``, ``sim.write_report``, ``sim.resume``), the
very functions the command line calls, with ``sim.Results`` to read a folder back. They load on
first use (:mod:`sim.studies.api`), so importing :mod:`sim` stays cheap for worker processes.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"
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


def __getattr__(name: str):
    """The study functions and ``Results``, imported on first use."""
    if name in __all__:
        value = getattr(importlib.import_module("sim.studies.api"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
