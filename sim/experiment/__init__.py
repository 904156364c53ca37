"""Experiments: plans of (scenario, replication) tasks, executors, the results store.

The public names load on first use (PEP 562), so that a worker importing
:mod:`sim.experiment.task` pays only for the model and its metrics, not for the runner, the
statistics and Parquet.
"""

from __future__ import annotations

import importlib

_WHERE = {
    "DaskExecutor": "executors", "ProcessExecutor": "executors", "SerialExecutor": "executors",
    "make_executor": "executors", "ExperimentSpec": "runner", "Outcome": "runner",
    "resume_experiment": "runner", "run_experiment": "runner", "ResultsStore": "store",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
