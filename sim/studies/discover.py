"""``python run_sim.py discover DIR --condition TEXT``: under which conditions a policy fails or
wins.

The cases are the parameter sets of a finished results folder: the posterior draws of a compare
(``compare --draws K``; replication ``r`` ran with draw ``r mod K``) or the design points of a
sweep. The condition is evaluated on each case, and PRIM (:mod:`sim.analysis.discovery`) finds
the box of parameter values where it holds. Conditions:

- ``cost-per-survivor>X`` (compare): public cost of the cohort window per additional 5-year
  survivor of ``--scenario`` (default: the baseline) against the counterfactual, above ``X`` KRW;
  a draw in which the scenario adds no survivor counts as above any ``X``.
- ``beats:VARIANT`` (compare): the variant's 5-year survival above the baseline's.
- ``METRIC>X`` or ``METRIC<X``: in a compare, ``--scenario``'s difference in ``METRIC`` against
  the counterfactual (``survival_5y<0.001``: the programme adds less than 0.1 pp); in a sweep, the
  design point's mean ``METRIC``.

Writes ``discover.json``, ``discover.md`` and ``discover.png`` (the peeling trajectory) into the
folder; a compare's report shows the box too (``python run_sim.py report DIR`` rebuilds it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..analysis import discovery
from ..analysis.folder import columns
from ..analysis.metrics import METRICS
from ..analysis.summary import by_scenario, cost_per_survivor_by_draw, draw_means, paired_series
from ..errors import UsageError
from ..experiment.lifecycle import StudyFolder
from ..experiment.store import ResultsStore
from ..files import atomic_write_json, json_clean
from ..metadata import DiscoverInfo, study_info
from ..report.discovery import write_discovery_report
from ..scenario.draws import Draws
from .arguments import number
from .compare import write_compare_report
from .outcomes import DiscoverOutcome

_COND = re.compile(
    r"^\s*(?:(cost-per-survivor)\s*([<>])\s*(\S+)|beats:\s*(\S+)|([a-z0-9_]+)\s*([<>])\s*(\S+))\s*$"
)


@dataclass
class Cases:
    """The cases of a discovery: each parameter's value per case, and whether the condition holds.
    """
    columns: dict[str, np.ndarray]  # parameter -> value per case
    y: np.ndarray  # the condition per case
    words: str  # the condition in words
    unit: str  # "posterior draw" or "design point"


def _number(text: str, condition: str) -> float:
    try:
        return float(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise UsageError(f"--condition {condition!r}: expected a number after the comparison, "
                         f"found {text!r}.") from None


def parse(condition: str) -> tuple[str, str | None, str | None, float | None]:
    """(kind, argument, operator, value): ``("cost", None, ">", 1.5e8)``, ``("beats", "V", None,
    None)`` or ``("metric", "survival_5y", "<", 0.001)``."""
    m = _COND.match(condition or "")
    if not m:
        raise UsageError(f"--condition {condition!r}: expected cost-per-survivor>KRW, "
                         "beats:VARIANT, or METRIC>VALUE / METRIC<VALUE (e.g. "
                         "cost-per-survivor>150e6, beats:double-grants, survival_5y<0.001).")
    if m.group(1):
        return "cost", None, m.group(2), _number(m.group(3), condition)
    if m.group(4):
        return "beats", m.group(4), None, None
    metric = m.group(5)
    if metric not in METRICS:
        raise UsageError(f"--condition {condition!r}: {metric!r} is not a metric; expected one of "
                         f"{', '.join(METRICS)}.")
    return "metric", metric, m.group(6), _number(m.group(7), condition)


def _replications(root: Path) -> dict[str, dict[str, np.ndarray]]:
    path = root / "replications.parquet"
    if not path.is_file():
        raise UsageError(f"{root}: has no replications.parquet; finish it first with: python "
                         f"run_sim.py resume {root}")
    cols = columns(path, required=True)
    return by_scenario(cols, dict.fromkeys(cols["scenario"].astype(object).tolist()))


def _per_draw(a: dict, b: dict, metric: str, k: int) -> np.ndarray:
    return draw_means(*paired_series(a, b, metric), k)


def compare_cases(root: Path, manifest: dict, condition: str, scenario: str | None) -> Cases:
    """A compare's posterior draws as cases of ``condition`` (about ``scenario``, default the
    baseline)."""
    draws = manifest.get("draws")
    if not draws:
        raise UsageError(f"{root}: this comparison ran at fixed parameters (no posterior draws), "
                         "so there are no conditions to discover. Run compare over the posterior "
                         "with many draws, e.g. python run_sim.py compare --draws 100 -n 200 "
                         "--executor dask.")
    info = study_info(manifest)
    cf, base = info.counterfactual, info.baseline
    reps = _replications(root)
    k = len(draws["values"])
    kind, arg, op, value = parse(condition)
    who = scenario or base
    if kind in ("cost", "metric") and (who not in reps or cf not in reps):
        raise UsageError(f"--scenario: expected one of {sorted(n for n in reps if n != cf)} "
                         f"(compared with the counterfactual {cf}), found {who!r}.")
    if kind == "cost":
        ratio = cost_per_survivor_by_draw(reps[who], reps[cf], k)
        # a draw no replication ran counts as costly
        ratio = np.where(np.isnan(ratio), np.inf, ratio)
        y = ratio > value if op == ">" else ratio < value
        words = (f"{who}'s public cost per additional 5-year survivor against {cf} is "
                 f"{'above' if op == '>' else 'below'} {value / 1e6:,.0f} M KRW")
    elif kind == "beats":
        if base is None or arg not in reps or arg == base:
            raise UsageError(f"--condition beats:{arg}: expected a variant compared with the "
                             f"baseline {base}, one of "
                             f"{sorted(n for n in reps if n not in (cf, base))}.")
        y = _per_draw(reps[arg], reps[base], "survival_5y", k) > 0
        words = f"{arg} has a higher 5-year survival than {base}"
    else:
        d = _per_draw(reps[who], reps[cf], arg, k)
        y = d > value if op == ">" else d < value
        words = (f"{who} changes {arg} against {cf} by {'more' if op == '>' else 'less'} than "
                 f"{value:g}")
    values = np.asarray(draws["values"], float)
    used = Draws.from_json(draws).applied_in([who, cf] if kind != "beats" else [arg, base])
    if not used:
        raise UsageError(f"{root}: the posterior draws changed nothing in the scenarios this "
                         "condition is about, so there are no parameter conditions to discover "
                         "(its differences are simulation noise).")
    columns = {key: values[:, j] for j, key in enumerate(draws["keys"]) if key in used}
    cases = Cases(columns, np.asarray(y, bool), words, "posterior draw")
    return _defined(cases, d, arg) if kind == "metric" else cases


def sweep_cases(root: Path, condition: str) -> Cases:
    """A sweep's design points as cases of ``condition``."""
    from .sweep import SweepResults

    res = SweepResults(root)
    kind, arg, op, value = parse(condition)
    if kind != "metric":
        raise UsageError(f"--condition {condition!r}: a sweep has no counterfactual or baseline; "
                         "give METRIC>VALUE or METRIC<VALUE on one of its metrics.")
    per = res.per_point(arg)
    seen = np.isfinite(per).any(axis=1)
    y = np.array([np.nanmean(row) if ok else np.nan for row, ok in zip(per, seen, strict=True)])
    words = f"the design point's mean {arg} is {'above' if op == '>' else 'below'} {value:g}"
    columns = {p.key: res.design.values[:, j] for j, p in enumerate(res.params)}
    return _defined(
        Cases(columns, (y > value) if op == ">" else (y < value), words, "design point"), y, arg
    )


def _defined(cases: Cases, y: np.ndarray, metric: str) -> Cases:
    """Only the cases where the metric is defined (a 5-year survival needs five years of
    follow-up)."""
    ok = np.isfinite(y)
    if not ok.any():
        raise UsageError(f"--condition: {metric} is undefined in every {cases.unit} (see `n/a` in "
                         "the folder's report for why); choose a metric the experiment measures.")
    return Cases({k: v[ok] for k, v in cases.columns.items()}, cases.y[ok], cases.words, cases.unit)


def discover(root, condition: str, *, scenario: str | None = None, threshold: float = 0.8,
             min_coverage: float = 0.5, quiet: bool = False) -> DiscoverOutcome:
    """Find the parameter conditions under which ``condition`` holds in a finished results folder.

    The cases are a compare's posterior draws or a sweep's design points (see the module docstring
    for the conditions). PRIM peels a box of parameter values where the condition is most likely
    (its density ``threshold``; the densest box with at least ``min_coverage``). Writes
    discover.json, discover.md and discover.png into ``root``, records the run in its manifest, and
    rewrites a compare's report so that it shows the box; the folder is locked meanwhile.
    """
    root = Path(root)
    number(threshold, "--threshold", 0.0, 1.0, low_open=True)
    number(min_coverage, "--min-coverage", 0.0, 1.0)
    with StudyFolder.hold(root):
        result = discover_box(
            root, condition, scenario=scenario, threshold=threshold, min_coverage=min_coverage
        )
        if result["kind"] == "compare":  # the report shows the box too
            write_compare_report(root)
    return DiscoverOutcome(root=root, result=result, quiet=quiet)


def discover_box(
    root: Path, condition: str, *, scenario: str | None, threshold: float, min_coverage: float
) -> dict:
    """Find the box, write discover.json/.md/.png into ``root`` and record it; return what was
    written."""
    manifest = ResultsStore.open(root).read_manifest()
    if manifest.get("status") != "complete":
        raise UsageError(f"{root}: is not complete (status {manifest.get('status')!r}); finish it "
                         f"first with: python run_sim.py resume {root}")
    kind = manifest.get("kind")
    if kind == "compare":
        cases = compare_cases(root, manifest, condition, scenario)
    elif kind == "sweep":
        cases = sweep_cases(root, condition)
    else:
        raise UsageError(f"{root}: discover works on a compare over the posterior or on a sweep, "
                         f"not on a {kind!r} folder.")
    if len(cases.y) < discovery.MIN_CASES:
        raise UsageError(f"{root}: only {len(cases.y)} {cases.unit}s; PRIM needs at least "
                         f"{discovery.MIN_CASES} to find a "
                         "box. " + ("Run compare with more draws (e.g. --draws 100 -n "
                                              "200, on a cluster with --executor "
                                              "dask)." if kind == "compare" else
                                              "Run the sweep with more points (--samples)."))
    if not discovery.prim_available():
        raise UsageError("discover needs the EMA Workbench (its PRIM): pip install -e "
                         "'.[discover]' (or pip install ema-workbench), then run again.")
    box = discovery.find_box(cases.columns, cases.y, threshold=threshold, min_coverage=min_coverage)
    result = json_clean(
        {
            "folder": root.name,
            "kind": kind,
            "condition": condition,
            "words": cases.words,
            "unit": cases.unit,
            **box,
        }
    )
    atomic_write_json(root / "discover.json", result)
    paths = write_discovery_report(root, result)
    info = DiscoverInfo(
        condition=condition,
        scenario=scenario,
        threshold=threshold,
        min_coverage=min_coverage,
        files={k: p.name for k, p in {"json": root / "discover.json", **paths}.items()},
    )
    ResultsStore(root).update_manifest(discover=info.to_json())
    return {**result, "files": {k: str(v) for k, v in paths.items()}}
