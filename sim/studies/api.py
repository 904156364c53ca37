"""valleysim from Python: ``sim.run`` and ``sim.compare`` for notebooks and scripts.

    import sim
    res = sim.compare(replications=10)                     # the whole policy library
    res.summary["comparisons"][0]                          # means, CIs, p-values
    res.replications.groupby("scenario").survival_5y.mean()  # pandas DataFrames
    one = sim.run("ccei-announced", replications=5, overrides={"centres.*.seats": 40})

Both run exactly what the command line runs (the same experiment layer, results folder and report),
and return a :class:`Results` whose tables are pandas DataFrames read from that folder. They work
from a plain script or a notebook without an ``if __name__ == "__main__":`` guard: the worker
processes are forked from the caller, so they never re-import its script.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UsageError
from ..experiment.executors import make_executor
from ..experiment.folder import default_out
from ..experiment.runner import ExperimentSpec, run_experiment
from ..files import DEFAULT_SEED, read_json
from ..scenario.loader import SHIPPED
from .compare import load_all, plan_compare, write_compare_report


@dataclass
class Results:
    """A finished results folder, as Python objects.

    ``summary`` is summary.json (means with 95 % CIs per scenario, paired comparisons);
    ``replications``, ``regions`` and ``startups`` are its Parquet files as pandas DataFrames, read
    on first use (``startups`` holds the kept replications' start-ups only). Units and definitions:
    docs/data-dictionary.md.
    """

    root: Path
    summary: dict
    manifest: dict
    report: dict | None = None
    """Paths of report.html and report.md (a comparison), else None."""
    _frames: dict = field(default_factory=dict, repr=False)

    def _frame(self, name: str):
        import pandas as pd

        if name not in self._frames:
            path = self.root / name
            self._frames[name] = pd.read_parquet(path) if path.is_file() else pd.DataFrame()
        return self._frames[name]

    @property
    def replications(self):
        """One row per (scenario, replication), one column per metric."""
        return self._frame("replications.parquet")

    @property
    def regions(self):
        """One row per (scenario, replication, region)."""
        return self._frame("regions.parquet")

    @property
    def startups(self):
        """One row per start-up of the kept replications."""
        return self._frame("startups.parquet")

    @property
    def scenarios(self) -> list[str]:
        return list(self.summary.get("scenarios", {}))

    @classmethod
    def open(cls, root) -> Results:
        """The results of an earlier run or comparison (a folder the CLI or the API wrote)."""
        root = Path(root)
        summary, manifest = read_json(root / "summary.json"), read_json(root / "manifest.json")
        if summary is None or manifest is None:
            raise UsageError(f"{root}: has no readable summary.json and manifest.json; give a finished results "
                             "folder (python run_sim.py resume DIR finishes an interrupted one).")
        report = {"html": root / "report.html", "markdown": root / "report.md"}
        return cls(root, summary, manifest, report if report["html"].is_file() else None)


def _file(scenario) -> Path:
    """A scenario file from a path or a shipped scenario's name ("ccei-announced")."""
    p = Path(scenario)
    if p.is_file():
        return p
    if (SHIPPED / f"{scenario}.yaml").is_file():
        return SHIPPED / f"{scenario}.yaml"
    raise UsageError(f"{scenario!r}: no such scenario file, and no shipped scenario of that name (they are: "
                     f"{', '.join(sorted(q.stem for q in SHIPPED.glob('*.yaml')))}).")


def _overrides(overrides) -> list[str]:
    """``{"centres.*.seats": 40}`` (or already ``["centres.*.seats=40"]``) -> ``--set`` texts."""
    if overrides is None:
        return []
    if isinstance(overrides, dict):
        return [f"{k}={json.dumps(v)}" for k, v in overrides.items()]
    return [str(o) for o in overrides]


def _out(out, name: str) -> Path:
    return Path(out) if out is not None else default_out(name)


def _executor(executor: str, workers: int | None, scheduler: str | None):
    if executor == "processes" and scheduler is None:
        from ..experiment.executors import ProcessExecutor

        return ProcessExecutor(workers, start_method="fork")
    return make_executor(executor, workers, scheduler)


def _echo(progress: bool):
    import sys

    return (lambda m: print(m, file=sys.stderr, flush=True)) if progress else (lambda _m: None)


def run(scenario, *, replications: int = 10, seed: int = DEFAULT_SEED, overrides=None, out=None,
        force: bool = False, workers: int | None = None, executor: str = "processes", scheduler: str | None = None,
        startups: str = "first", progress: bool = False) -> Results:
    """Replications of one scenario (a file path or a shipped scenario's name), like ``run_sim.py run``.

    ``overrides`` maps dotted keys to values (``{"centres.*.seats": 40}``), as ``--set``. Results go
    to ``out`` (default ``results/<name>-<timestamp>/``).
    """
    scenarios, sources = load_all([_file(scenario)], _overrides(overrides))
    name = next(iter(scenarios))
    spec = ExperimentSpec(scenarios=scenarios, replications=replications, seed=seed, keep_startups=startups,
                          kind="run", sources=sources)
    outcome = run_experiment(spec, _out(out, name), _executor(executor, workers, scheduler), force=force,
                             progress=progress, command=["sim.run", name], echo=_echo(progress))
    return Results.open(outcome.root)


def compare(scenarios=(), *, baseline: str | None = "ccei-announced", counterfactual: str = "no-programme",
            replications: int | None = None, seed: int = DEFAULT_SEED, overrides=None, out=None, force: bool = False,
            workers: int | None = None, executor: str = "processes", scheduler: str | None = None,
            startups: str = "first", report: bool = True, progress: bool = False, posterior=None,
            draws: int | None = None, fixed: bool = False) -> Results:
    """Policy variants against the counterfactual and the baseline, like ``run_sim.py compare``.

    With no ``scenarios``, the whole policy library. As on the command line, replication r runs with
    draw r mod ``draws`` of ``posterior`` (default: the shipped posterior), unless ``fixed``. Writes
    report.html and report.md unless ``report`` is False (and only when every task succeeded).
    """
    from ..scenario.draws import SHIPPED_POSTERIOR

    if fixed and posterior is not None:
        raise UsageError("compare: fixed runs without a posterior; give fixed=True or posterior=..., not both.")
    spec = plan_compare([_file(s) for s in scenarios], baseline=baseline, counterfactual=counterfactual,
                        overrides=_overrides(overrides), replications=replications, seed=seed,
                        keep_startups=startups, posterior=None if fixed else (posterior or SHIPPED_POSTERIOR),
                        draws=draws)
    outcome = run_experiment(spec, _out(out, "compare"), _executor(executor, workers, scheduler), force=force,
                             progress=progress, command=["sim.compare"], echo=_echo(progress))
    if report and not outcome.failures:
        write_compare_report(outcome.root)
    return Results.open(outcome.root)
