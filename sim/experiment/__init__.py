"""Experiments: plans of (scenario, replication) tasks, executors, the results store."""

from .executors import DaskExecutor, ProcessExecutor, SerialExecutor, make_executor
from .runner import ExperimentSpec, Outcome, resume_experiment, run_experiment
from .store import ResultsStore

__all__ = ["DaskExecutor", "ExperimentSpec", "Outcome", "ProcessExecutor", "ResultsStore", "SerialExecutor",
           "make_executor", "resume_experiment", "run_experiment"]
