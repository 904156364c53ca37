"""The main job: policy variants against the programme as announced and against no programme.

:func:`plan_compare` turns scenario files into an :class:`~sim.experiment.runner.ExperimentSpec`
whose comparisons are every scenario against the counterfactual and every variant against the
baseline (paired, common random numbers); :func:`write_compare_report` writes the report of a
finished comparison through :mod:`sim.report`.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ScenarioError, UsageError
from ..experiment.runner import ExperimentSpec
from ..files import DEFAULT_SEED
from ..report import write_reports
from ..scenario.loader import SHIPPED, header_comment, load_scenario

COMPARE_REPLICATIONS = 10
"""Default replications of ``compare``. With common random numbers, 10 replications put every
library variant's 5-year survival difference against the counterfactual within the precision
target (95% CI half-width at most a tenth of the difference, or 0.1 point under 1 point): when
measured, the worst was 0.88 of its target (stronger-selection), and the paired SDs say 8 would
miss it. Time is proportional: one replication of the 14-scenario library is about 50 CPU-seconds
at the current model speed. Use --precision or -n for other trade-offs."""


def load_all(files, overrides) -> tuple[dict, dict]:
    """Load scenario files; names must be unique. Returns (scenarios, sources)."""
    scenarios, sources = {}, {}
    for f in files:
        sc = load_scenario(f, overrides)
        if sc.name in scenarios:
            raise ScenarioError(f"{f}: scenario name {sc.name!r} is also the name of {sources[sc.name]}; "
                                "names must be unique in one experiment (set `name:` in the file).")
        scenarios[sc.name] = sc
        sources[sc.name] = str(f)
    return scenarios, sources


def _library_file(name: str) -> Path | None:
    f = SHIPPED / f"{name}.yaml"
    return f if f.is_file() else None


def plan_compare(files, *, baseline: str | None = "ccei-announced", counterfactual: str = "no-programme",
                 overrides=(), replications: int | None = None, seed: int = DEFAULT_SEED, crn: bool = True,
                 keep_startups: str = "first", precision: float | None = None,
                 max_replications: int = 200) -> ExperimentSpec:
    """The comparison as an experiment. With no ``files``, the whole library (every scenarios/*.yaml).

    The counterfactual and the baseline come from the library when they are not among ``files``;
    the order is counterfactual, baseline, then the variants as given.
    """
    files = list(files) or sorted(SHIPPED.glob("*.yaml"))
    if not files:
        raise UsageError(f"compare: no scenario files given and none found in {SHIPPED}.")
    scenarios, sources = load_all(files, overrides)
    for role, name in (("--counterfactual", counterfactual), ("--baseline", baseline)):
        if name is None or name in scenarios:
            continue
        lib = _library_file(name)
        if lib is None:
            raise UsageError(f"compare {role}: expected the name of a scenario among {sorted(scenarios)} or in "
                             f"{SHIPPED}, found {name!r}.")
        more, more_src = load_all([lib], overrides)
        scenarios.update(more)
        sources.update(more_src)
    if baseline == counterfactual:
        baseline = None
    order = [counterfactual] + ([baseline] if baseline else [])
    order += [n for n in scenarios if n not in order]
    scenarios = {n: scenarios[n] for n in order}
    comparisons = [(n, counterfactual) for n in order if n != counterfactual]
    if baseline:
        comparisons += [(n, baseline) for n in order if n not in (counterfactual, baseline)]
    extra = {"counterfactual": counterfactual, "baseline": baseline,
             "questions": {n: header_comment(sources.get(n)).strip() for n in order}}
    return ExperimentSpec(scenarios=scenarios, replications=replications or COMPARE_REPLICATIONS, seed=seed,
                          crn=crn, keep_startups=keep_startups, comparisons=comparisons, precision=precision,
                          max_replications=max_replications, kind="compare", sources=sources, extra=extra)


def reports_written(root) -> bool:
    """Whether a comparison's report (HTML and Markdown) is on disk."""
    return all((Path(root) / f).is_file() for f in ("report.html", "report.md"))


def write_compare_report(root: Path, echo=None) -> dict:
    """report.html, report.md and figures of a finished comparison (or run) in ``root``."""
    return write_reports(Path(root), echo=echo)
