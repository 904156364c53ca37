"""The ``sweep`` study: a design over scenario parameters, run through the experiment layer, then
analysed.

``python run_sim.py sweep FILE --param ...`` and ``sim.sweep(FILE, [...])`` both call :func:`sweep`.

:func:`plan_sweep` turns a scenario file, ``--param`` ranges and a design into an
:class:`~sim.experiment.runner.ExperimentSpec` whose scenarios are the design points
(``point-0000``, ``point-0001``, ...), each validated before anything runs. The runner does the
rest as for any experiment: parallel, crash-safe, resumable, and with common random numbers
(replication r of every point draws the same start-ups with the same luck, so differences
between points are the parameters' doing, not the dice's).

:func:`finish_sweep` reads the finished results folder and writes:

- ``design.parquet`` and ``design.csv``: one row per point, its parameter values, and the mean
  and 95 % CI of the sweep's metrics over replications;
- ``sensitivity.json``: Sobol' indices, standardised regression coefficients, main effects and
  the ranking of the parameters for the chosen metric;
- ``sweep.md`` and ``sweep.html`` (see :mod:`sim.report.sweep`).

Everything it writes comes from the folder, so ``python run_sim.py report DIR`` rebuilds it.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from ..analysis import sensitivity as sa
from ..analysis.folder import columns
from ..analysis.metrics import METRICS
from ..analysis.stats import summarize
from ..errors import ScenarioError, UsageError
from ..experiment.runner import ExperimentSpec
from ..experiment.store import ResultsStore
from ..files import (
    DEFAULT_SEED,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_table,
    finite_or_none,
    json_clean,
)
from ..metadata import SweepInfo, study_info
from ..report.sweep import write_sweep_report
from ..scenario.loader import base_data, resolved_dict, validate
from ..scenario.ranges import Param, make_params
from .arguments import (
    choice,
    command_of,
    echo_for,
    override_texts,
    precision_of,
    scenario_file,
    seed_of,
    whole,
)
from .designs import DESIGNS, Design, make_design, point_data, point_name
from .outcomes import SweepOutcome
from .run import STARTUPS, run_spec

DESIGN_METRICS = (
    "survivors_5y",
    "survival_5y",
    "jobs_end",
    "supported",
    "crossed_valley",
    "acquired",
    "programme_cost_krw",
)
"""Metrics summarised in the design table besides the sweep's own metric."""

DEFAULT_SAMPLES = {"lhs": 32, "sobol": 8, "grid": 3}


def check_metric(metric: str) -> str:
    """``metric`` if it is a per-replication metric, else a UsageError."""
    if metric not in METRICS:
        raise UsageError("--metric: expected one of the per-replication metrics "
                         f"({', '.join(METRICS)}), found {metric!r}.")
    return metric


def plan_sweep(file: Path, param_texts, *, design: str, samples: int | None, metric: str, seed: int,
               replications: int, overrides=(), keep_startups: str = "none", crn: bool = True,
               precision: float | None = None, max_replications: int = 200) -> ExperimentSpec:
    """The sweep as an experiment: one scenario per design point, all validated up front."""
    check_metric(metric)
    data = base_data(file, overrides)
    base = validate(data, origin=str(file))
    params = make_params(param_texts, data, resolved_dict(base))
    n = samples or DEFAULT_SAMPLES.get(design, 16)
    d = make_design(design, params, n, seed)
    scenarios = {}
    for i, row in enumerate(d.values):
        name = point_name(i, len(d))
        try:
            scenarios[name] = validate(point_data(data, params, row, name), origin=str(file))
        except ScenarioError as exc:
            where = ", ".join(f"{p.key}={_show(v, p)}" for p, v in zip(params, row, strict=True))
            raise ScenarioError(f"sweep design point {name} ({where}) is not a valid scenario: "
                                f"{exc.message} Narrow the --param ranges so every point is valid; "
                                "nothing was run.") from None
    info = SweepInfo(
        file=str(file),
        base=base.name,
        overrides=tuple(overrides),
        design=design,
        samples=n,
        seed=seed,
        metric=metric,
        params=tuple(p.to_json() for p in params),
        units=tuple(d.units.tolist()),
        values=tuple(d.values.tolist()),
        blocks=tuple(d.blocks),
    )
    return ExperimentSpec(
        scenarios=scenarios,
        replications=replications,
        seed=seed,
        crn=crn,
        keep_startups=keep_startups,
        precision=precision,
        max_replications=max_replications,
        kind="sweep",
        sources={n_: str(file) for n_ in scenarios},
        info=info,
    )


def _show(v: float, p: Param) -> str:
    if p.kind == "bool":
        return "true" if v >= 0.5 else "false"
    if p.kind == "int":
        return str(int(v))
    return f"{v:g}"


# ----------------------------------------------------------------------------------------------
# after the run
# ----------------------------------------------------------------------------------------------
class SweepResults:
    """A finished sweep folder: its definition and per-point, per-replication metrics."""

    def __init__(self, root: Path):
        """Read the sweep folder ``root`` (a UsageError if it is not a finished sweep)."""
        self.root = Path(root)
        self.manifest = ResultsStore.open(self.root).read_manifest()
        info = study_info(self.manifest)
        if not isinstance(info, SweepInfo):
            raise UsageError(f"{self.root}: is not a sweep results folder (its manifest has kind "
                             f"{self.manifest.get('kind')!r}).")
        self.info = info
        self.params = [Param.from_json(p) for p in info.params]
        self.design = Design(info.design, info.samples, np.asarray(info.units, float),
                             np.asarray(info.values, float), list(info.blocks))
        self.metric = info.metric
        self.points = list(self.manifest["scenarios"])
        path = self.root / "replications.parquet"
        if not path.is_file():
            raise UsageError(f"{self.root}: has no replications.parquet yet; finish the sweep "
                             f"first with: python run_sim.py resume {self.root}")
        self.columns = columns(path, required=True)

    def per_point(self, metric: str) -> np.ndarray:
        """(points, replications) array of ``metric`` (NaN where missing), replications in order."""
        names = self.columns["scenario"].astype(object)
        reps = self.columns["replication"].astype(int)
        nrep = int(reps.max()) + 1 if reps.size else 0
        out = np.full((len(self.points), nrep), np.nan)
        index = {p: i for i, p in enumerate(self.points)}
        vals = (
            np.asarray(self.columns[metric], float)
            if metric in self.columns
            else np.full(len(reps), np.nan)
        )
        for name, r, v in zip(names, reps, vals, strict=True):
            i = index.get(name)
            if i is not None:
                out[i, r] = v
        return out


def design_table(res: SweepResults) -> dict[str, list]:
    """Columns of design.parquet: point, block, parameter values, metric means and 95 % CIs."""
    cols: dict[str, list] = {"point": list(res.points), "block": list(res.design.blocks)}
    for j, p in enumerate(res.params):
        cols[p.key] = [float(v) for v in res.design.values[:, j]]
    metrics = [res.metric] + [m for m in DESIGN_METRICS if m != res.metric]
    first = True
    for m in metrics:
        arr = res.per_point(m)
        stats = [summarize(row) for row in arr]
        if first:
            cols["replications"] = [int(s["n"]) for s in stats]
            first = False
        for stat in ("mean", "ci_low", "ci_high"):
            cols[f"{m}_{stat}"] = [float(s[stat]) for s in stats]
    return cols


def analyse(res: SweepResults, n_boot: int = 300) -> dict:
    """Sensitivity of the sweep's metric to each parameter: indices, SRC, main effects, ranking."""
    y = np.nanmean(res.per_point(res.metric), axis=1) if len(res.points) else np.zeros(0)
    k = len(res.params)
    seed = int(res.info.seed)
    # realised values -> unit coordinates (rounding of whole numbers moves them off the design's)
    units = np.array([[p.unit(v) for p, v in zip(res.params, row, strict=True)]
                      for row in res.design.values]).reshape(-1, k)
    marg = [sa.marginal_for(p.kind, p.low, p.high, p.unit) for p in res.params]
    out: dict = {
        "metric": res.metric,
        "design": res.design.kind,
        "points": len(res.points),
        "replications": int(np.max(np.sum(np.isfinite(res.per_point(res.metric)), axis=1)))
        if len(res.points)
        else 0,
        "params": [p.key for p in res.params],
        "mean": finite_or_none(np.nanmean(y)) if y.size else None,
        "sd_between_points": finite_or_none(np.nanstd(y, ddof=1)) if y.size > 1 else None,
    }
    sur = sa.surrogate_indices(units, y, marg, n_boot=n_boot, seed=seed)
    model = sur.pop("surrogate")
    out["surrogate"] = {**json_clean(sur), "terms": len(model.terms)}
    methods = {"surrogate": sur}
    primary = "surrogate"
    if res.design.kind == "sobol" and np.all(np.isfinite(y)):
        sal = sa.saltelli_indices(y, k, n_boot=max(n_boot, 500), seed=seed)
        out["saltelli"] = json_clean(sal)
        methods["saltelli"] = sal
        primary = "saltelli"
    out["primary"] = primary
    out["src"] = json_clean(sa.src(res.design.values, y))
    # main effects at each end of each range, and curves for the scatter plots
    effects = []
    grid = np.linspace(0, 1, 41)
    for i, p in enumerate(res.params):
        me = model.main_effect(i, np.array([0.0, 1.0, *grid]))
        effects.append({"param": p.key, "low_value": p.value(0.0), "high_value": p.value(1.0),
                        "at_low": finite_or_none(me[0]), "at_high": finite_or_none(me[1]),
                        "curve_values": [p.raw(u) for u in grid],
                        "curve": [finite_or_none(v) for v in me[2:]]})
    out["main_effects"] = effects
    prim = methods[primary]
    order = sa.ranking(prim["total"], prim["first"])
    out["ranking"] = [res.params[i].key for i in order]
    out["table"] = [
        {
            "param": res.params[i].key,
            "rank": r + 1,
            "first": finite_or_none(prim["first"][i]),
            "first_se": finite_or_none(prim["first_se"][i]),
            "first_ci": [finite_or_none(v) for v in prim["first_ci"][i]],
            "total": finite_or_none(prim["total"][i]),
            "total_se": finite_or_none(prim["total_se"][i]),
            "total_ci": [finite_or_none(v) for v in prim["total_ci"][i]],
            "src": finite_or_none(out["src"]["src"][i]),
            "at_low": effects[i]["at_low"],
            "at_high": effects[i]["at_high"],
            "swing": finite_or_none(
                abs((effects[i]["at_high"] or 0.0) - (effects[i]["at_low"] or 0.0))
            ),
        }
        for r, i in enumerate(order)
    ]
    return out


def finish_sweep(root: Path, echo=None) -> dict:
    """Write design.parquet/.csv, sensitivity.json, sweep.md and sweep.html; return the analysis."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    res = SweepResults(root)
    table = pa.table(design_table(res))
    atomic_write_table(res.root / "design.parquet", table)
    buf = io.BytesIO()
    pcsv.write_csv(table, buf)
    atomic_write_bytes(res.root / "design.csv", buf.getvalue())
    analysis = analyse(res)
    atomic_write_json(res.root / "sensitivity.json", analysis)
    sweep = {
        "info": res.info,
        "params": res.params,
        "values": res.design.values,
        "command": res.manifest.get("command"),
        "seconds": res.manifest.get("seconds"),
        "folder": res.root.name,
    }
    paths = write_sweep_report(res.root, sweep, analysis, table.to_pydict())
    if echo:
        echo("sweep: wrote design.parquet, design.csv, sensitivity.json, "
             f"{paths['markdown'].name}, {paths['html'].name}")
    return {"analysis": analysis, "paths": paths}


def sweep(
    file,
    params,
    *,
    design: str = "lhs",
    samples: int | None = None,
    metric: str = "survivors_5y",
    replications: int = 3,
    seed: int = DEFAULT_SEED,
    overrides=None,
    out=None,
    force: bool = False,
    startups: str = "none",
    precision_pp: float | None = None,
    max_replications: int = 200,
    crn: bool = True,
    workers: int | None = None,
    executor: str = "processes",
    scheduler: str | None = None,
    start_method: str | None = "fork",
    progress: bool = False,
    echo=None,
    command=None,
) -> SweepOutcome:
    """Sweep scenario parameters over a design and find which ones matter.

    ``params`` are ranges as ``--param`` takes them (``"centres.*.seats=10:80"``,
    ``"KEY=x0.5:x1.5"``, ``"KEY=LOW:HIGH:log"``); each design point is ``file`` with the parameters'
    values set (named point-0000, ...), every one validated before anything runs, and replication r
    of every point shares its random streams. Writes design.parquet/.csv, sensitivity.json, sweep.md
    and sweep.html once every task succeeded (the outcome's ``failures`` say which did not). The
    other arguments are :func:`sim.studies.run.run`'s.
    """
    if isinstance(params, str):
        params = [params]
    if not params:
        raise UsageError("sweep: give at least one --param KEY=LOW:HIGH, e.g. --param "
                         "centre_defaults.seats=20:80.")
    choice(design, "--design", DESIGNS)
    choice(startups, "--startups", STARTUPS)
    spec = plan_sweep(
        scenario_file(file),
        list(params),
        design=design,
        samples=whole(samples, "samples", 1, 1_000_000, optional=True),
        metric=metric,
        seed=seed_of(seed),
        replications=whole(replications, "replications"),
        overrides=override_texts(overrides),
        keep_startups=startups,
        crn=crn,
        precision=precision_of(precision_pp),
        max_replications=whole(max_replications, "max_replications"),
    )
    echo = echo_for(progress, echo)
    info = spec.info
    if progress:
        echo(f"sweep: {len(info.params)} parameter(s), {design} design, {len(spec.scenarios)} "
             f"points x {spec.replications} replications = "
             f"{len(spec.scenarios) * spec.replications} tasks (common random numbers across "
             "points)")
    return run_spec(
        spec,
        out,
        default=f"sweep-{info.base}",
        force=force,
        workers=workers,
        executor=executor,
        scheduler=scheduler,
        start_method=start_method,
        progress=progress,
        echo=echo,
        command=command_of(command, ["sim.sweep", str(file)]),
        then=finished_sweep,
    )


def finished_sweep(folder, done) -> SweepOutcome:
    """A sweep's record once its tasks ran: with the analysis and the pages when none failed."""
    failures = tuple(done.summary.get("failures") or [])
    if failures:
        return SweepOutcome(root=done.root, failures=failures)
    echo = folder.echo if folder.progress else None
    finished = finish_sweep(done.root, echo=echo)
    return SweepOutcome(root=done.root, analysis=finished["analysis"], report=finished["paths"])
