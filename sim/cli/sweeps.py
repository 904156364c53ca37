"""Commands ``sweep`` (which assumptions matter) and ``optimize`` (how a budget should be spent),
and how their folders are resumed and reported."""

from __future__ import annotations

import math
from pathlib import Path

import click

from ..errors import UsageError
from ..studies.designs import DESIGNS
from .common import (
    default_out,
    echo,
    execute,
    finish_message,
    keep_startups_or_none,
    open_executor,
    precision,
    run_options,
)


# ----------------------------------------------------------------------------------------------
# sweep
# ----------------------------------------------------------------------------------------------
@click.command()
@click.argument("file", required=False, type=click.Path(path_type=Path))
@click.option("--param", "params", multiple=True, metavar="KEY=LOW:HIGH",
              help="A parameter and its range (repeatable): e.g. centre_defaults.selection_noise=0:2, "
                   "centres.*.seats=10:80 (every centre), regions.*.funding_access=x0.5:x1.5 (factors of "
                   "each region's own value), centre_defaults.grants.per_startup_krw=5e6:1e8:log.")
@click.option("--samples", "-s", type=click.IntRange(1, 1_000_000), default=None,
              help="lhs: points (default 32); sobol: base samples N, a power of two, N x (params + 2) points "
                   "(default 8); grid: levels per parameter (default 3).")
@click.option("--design", type=click.Choice(DESIGNS), default="lhs", show_default=True,
              help="Latin hypercube, Saltelli/Sobol' (for direct Sobol' indices), or full grid.")
@click.option("--metric", default="survivors_5y", show_default=True,
              help="The metric whose sensitivity is analysed (any column of replications.parquet).")
@click.option("--resume", "resume_dir", type=click.Path(path_type=Path), default=None,
              help="Continue an interrupted sweep in this folder (same as: python run_sim.py resume DIR).")
@run_options
def sweep(file, params, samples, design, metric, resume_dir, replications, seed, out, force, overrides, workers,
          executor, scheduler, keep_startups, precision_pp, max_replications, no_crn, quiet):
    """Sweep scenario parameters over a design and report which ones matter.

    Each design point is FILE with the parameters' values set (named point-0000, point-0001, ...);
    every point is validated before anything runs. Replication r of every point shares its random
    streams (common random numbers). Writes design.parquet/.csv, sensitivity.json, sweep.md and a
    self-contained sweep.html with tornado, scatter and Sobol'-index plots.
    """
    from ..studies.sweep import finish_sweep, plan_sweep

    if resume_dir is not None:
        from .folders import resume_folder

        return resume_folder(resume_dir, workers, executor, scheduler, quiet)
    if file is None:
        raise UsageError("sweep: give a scenario FILE and --param KEY=LOW:HIGH (repeatable), or --resume DIR.")
    if not params:
        raise UsageError("sweep: give at least one --param KEY=LOW:HIGH, e.g. --param centre_defaults.seats=20:80.")
    spec = plan_sweep(file, params, design=design, samples=samples, metric=metric, seed=seed,
                      replications=replications or 3, overrides=overrides,
                      keep_startups=keep_startups_or_none(keep_startups), crn=not no_crn, precision=precision(precision_pp),
                      max_replications=max_replications)
    info = spec.extra["sweep"]
    if not quiet:
        echo(f"sweep: {len(info['params'])} parameter(s), {design} design, {len(spec.scenarios)} points x "
              f"{spec.replications} replications = {len(spec.scenarios) * spec.replications} tasks "
              "(common random numbers across points)")
    name = f"sweep-{info['base']}"
    outcome = execute(spec, out or default_out(name), force=force, workers=workers, executor=executor,
                      scheduler=scheduler, quiet=quiet)
    finish_message(outcome)
    _sweep_done(finish_sweep(outcome.root, echo=None if quiet else echo), outcome.root)


def _sweep_done(done: dict, root: Path) -> None:
    a = done["analysis"]
    method = "Saltelli design" if a["primary"] == "saltelli" else f"{a['surrogate']['degree']} surrogate"
    click.echo(f"which parameters matter most for {a['metric']} (total Sobol' index, {method}):")
    for r in a["table"][:3]:
        ci = r["total_ci"]
        ci = f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci and None not in ci else ""
        tot = "n/a" if r["total"] is None else f"{r['total']:.2f}"
        click.echo(f"  {r['rank']}. {r['param']}: {tot}{ci}")
    click.echo(f"results: {root}")
    click.echo(f"report:  {done['paths']['html']}")
    click.echo(f"         {done['paths']['markdown']}")


def resume_sweep(root, manifest: dict, workers, executor, scheduler, quiet):
    """``resume`` of a sweep folder: the missing points, then the analysis and the page."""
    from ..experiment.runner import resume_experiment
    from ..studies.sweep import finish_sweep

    outcome = resume_experiment(Path(root), open_executor(executor, workers, scheduler), progress=not quiet,
                                echo=echo)
    finish_message(outcome)
    _sweep_done(finish_sweep(outcome.root, echo=None if quiet else echo), outcome.root)
    return outcome


# ----------------------------------------------------------------------------------------------
# optimize
# ----------------------------------------------------------------------------------------------
def _budget(text: str) -> float | str:
    t = str(text).strip().lower()
    if t in ("baseline", "same"):
        return "baseline"
    try:
        v = float(t.replace("_", "").replace(",", ""))
    except ValueError:
        raise UsageError(f"--budget-krw: expected an amount in KRW (e.g. 1.2e12) or 'baseline', found {text!r}.") from None
    if not (v > 0 and math.isfinite(v)):
        raise UsageError(f"--budget-krw: expected a positive amount, found {text!r}.")
    return v


@click.command()
@click.argument("file", required=False, type=click.Path(path_type=Path))
@click.option("--budget-krw", "budget", default=None, metavar="KRW|baseline",
              help="Programme budget (planned cost, KRW), e.g. 1.2e12; 'baseline' = the baseline's planned cost.")
@click.option("--levers", "levers", multiple=True, metavar="LEVER[,LEVER...]",
              help="What may change (repeatable or comma-separated): seats, intake_size, grant_size, "
                   "grants_per_round, grant_budget, conglomerate_budget, residency, centres (which centres "
                   "open), opening (months of delay per centre), regional_seats; NAME=LOW:HIGH to change a "
                   "range; centres=A+B+C for only some centres; or any KEY=LOW:HIGH as in sweep.")
@click.option("--objective", type=click.Choice(["additional_survivors_5y", "additional_jobs"]),
              default="additional_survivors_5y", show_default=True)
@click.option("--counterfactual", default="scenarios/no-programme.yaml", show_default=True,
              type=click.Path(path_type=Path), help="The no-programme world the objective is measured against.")
@click.option("--baseline", default="scenarios/ccei-announced.yaml", show_default=True,
              help="Allocation to compare the best with (a scenario file, or 'none').")
@click.option("--evaluations", type=click.IntRange(5, 100_000), default=40, show_default=True,
              help="Most candidate allocations the search simulates.")
@click.option("--finalists", type=click.IntRange(1, 50), default=3, show_default=True,
              help="Best distinct candidates re-evaluated with more replications.")
@click.option("--final-replications", type=click.IntRange(2, 100_000), default=8, show_default=True,
              help="Fresh replications for the finalists, the baseline and the counterfactual.")
@click.option("--resume", "resume_dir", type=click.Path(path_type=Path), default=None,
              help="Continue an interrupted optimisation (same as: python run_sim.py resume DIR).")
@run_options
def optimize(file, budget, levers, objective, counterfactual, baseline, evaluations, finalists,
             final_replications, resume_dir, replications, seed, out, force, overrides, workers, executor,
             scheduler, keep_startups, precision_pp, max_replications, no_crn, quiet):
    """Allocate a fixed programme budget across levers and regions to maximise the objective.

    Differential evolution over the levers with a fixed set of replications (-n, default 2) shared
    by every candidate and the counterfactual (common random numbers); candidates over budget are
    repaired to fit it before they run; evaluated candidates are cached in the results folder
    (a restarted run recomputes nothing). The best few are then re-run on fresh replications and
    compared with the baseline. Writes optimize.json, optimize.md and best.yaml (extends FILE).
    """
    from ..studies.optimize import run_optimize
    from ..studies.problem import OptimizeSpec

    if resume_dir is not None:
        from .folders import resume_folder

        return resume_folder(resume_dir, workers, executor, scheduler, quiet)
    if file is None:
        raise UsageError("optimize: give a scenario FILE, --budget-krw and --levers, or --resume DIR.")
    if budget is None:
        raise UsageError("optimize: give --budget-krw KRW (planned cost), e.g. --budget-krw 1.2e12, or "
                         "--budget-krw baseline for the baseline's planned cost.")
    if not levers:
        raise UsageError("optimize: give --levers, e.g. --levers grant_size,conglomerate_budget,centres.")
    if precision_pp is not None:
        raise UsageError("optimize: --precision is not used; set --final-replications instead.")
    spec = OptimizeSpec.build(file, budget=_budget(budget), levers=levers, objective=objective,
                              counterfactual=counterfactual,
                              baseline=None if str(baseline).strip().lower() in ("", "none") else baseline,
                              evaluations=evaluations, finalists=finalists, final_replications=final_replications,
                              replications=replications or 2, seed=seed, overrides=overrides, crn=not no_crn)
    root = out or default_out(f"optimize-{spec.base_name}")
    result = run_optimize(spec, root, open_executor(executor, workers, scheduler), force=force,
                          progress=not quiet, echo=echo)
    _optimize_done(result, root)


def _optimize_done(result: dict, root: Path) -> None:
    b = result["best"]
    o = b["objective"]
    v = result.get("verdict", "best")
    click.echo(f"verdict: {result.get('verdict_text', 'the best allocation found')}")
    name = "best allocation" if v in ("best", "beats-baseline") else "top finalist"
    click.echo(f"{name} ({result['objective']} = {o['mean']:,.1f} [{o['ci_low']:,.1f}, {o['ci_high']:,.1f}], "
               f"planned cost {b['planned_cost_krw'] / 1e9:,.1f} bn of {result['budget_krw'] / 1e9:,.1f} bn KRW; "
               f"simulated programme cost {(b['simulated_cost_krw'] or {}).get('mean', 0) / 1e9:,.1f} bn):")
    for k, v in b["allocation"].items():
        click.echo(f"  {k} = {v}")
    vs = b.get("vs_baseline")
    if vs and vs.get("diff") is not None:
        click.echo(f"vs {result['baseline']['name']}: {vs['diff']:+,.1f} [{vs['ci_low']:+,.1f}, {vs['ci_high']:+,.1f}]")
    click.echo(f"results:  {root}")
    click.echo(f"report:   {result['files']['markdown']}")
    click.echo(f"scenario: {result['files']['scenario']}")


def resume_optimize(root, manifest: dict, workers, executor, scheduler, quiet):
    """``resume`` of an optimisation folder: the search from its cache, then the finalists."""
    from ..studies.optimize import resume_optimize as resume

    result = resume(Path(root), open_executor(executor, workers, scheduler), progress=not quiet, echo=echo)
    _optimize_done(result, Path(root))
    return result


def report_sweep(root, quiet: bool, practical_pp: float | None = None) -> None:
    """``report`` of a sweep folder: the analysis and the page, from what is stored."""
    from ..studies.sweep import finish_sweep

    _sweep_done(finish_sweep(Path(root), echo=None if quiet else echo), Path(root))


def report_optimize(root, quiet: bool, practical_pp: float | None = None) -> None:
    """``report`` of an optimisation folder: its page, from optimize.json."""
    from ..studies.optimize import rewrite_report

    result = rewrite_report(Path(root))
    click.echo(f"report: {result['files']['markdown']}")
